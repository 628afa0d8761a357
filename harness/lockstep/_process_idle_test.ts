import assert from "node:assert/strict";
import { AedesBus, EmbeddedBroker } from "../broker/mod.ts";
import { ControllerProcess } from "./controller_process.ts";
import {
  canWatchProcesses,
  parseSoftnetBacklog,
  parseStat,
  parseTcpTable,
  ProcessIdle,
} from "./_process_idle.ts";
import { waitFor } from "../../lib/testing.ts";
import { hasCommand } from "../../tests/_peers.ts";

Deno.test("parseTcpTable reads ports, state, receive queue and inode of /proc/net/tcp rows", () => {
  const text = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0",
    "   1: 0100007F:C350 0100007F:075B 01 00000004:0000002A 00:00000000 00000000 65534        0 4242 1 0000000000000000 20 4 30 10 -1",
    "",
  ].join("\n");
  assert.deepEqual(parseTcpTable(text), [
    { localPort: 1883, remotePort: 0, state: 10, rxQueue: 0, inode: 31337 },
    { localPort: 50000, remotePort: 1883, state: 1, rxQueue: 42, inode: 4242 },
  ]);
});

Deno.test("parseStat finds state, parent and process group after a command name holding spaces and parentheses", () => {
  assert.deepEqual(parseStat("12 (a (b) c) S 1 12 12 0 -1"), {
    state: "S",
    ppid: 1,
    pgrp: 12,
  });
  assert.equal(parseStat("").state, "?", "a thread that is gone");
});

Deno.test("parseSoftnetBacklog adds the per-CPU queue lengths, and reads older kernels' shorter rows as empty", () => {
  const row = (queued: number, cpu: number) =>
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, queued, cpu, queued, 0]
      .map((n) => n.toString(16).padStart(8, "0")).join(" ");
  assert.equal(parseSoftnetBacklog(`${row(0, 0)}\n${row(3, 1)}\n`), 3);
  assert.equal(parseSoftnetBacklog("00000001 00000000 00000000\n"), 0);
});

const linux = canWatchProcesses();
const mosquitto = linux && hasCommand("mosquitto_sub", ["--help"]);

/** A broker, and a program started in a process group of its own as a controller is. */
async function withProgram(
  command: (port: number) => string,
  fn: (
    idle: ProcessIdle,
    bus: AedesBus,
  ) => Promise<void>,
): Promise<void> {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const program = ControllerProcess.start(command(broker.port), { env: {} });
  try {
    await fn(
      new ProcessIdle(program.pid, broker, () => broker.tcpWork()),
      bus,
    );
  } finally {
    await program.stop({ graceMs: 0 });
    await bus.close();
    await broker.close();
  }
}

Deno.test({
  name:
    "ProcessIdle: a mosquitto_sub waiting on its subscription is idle with one connection, again after each message",
  ignore: !mosquitto,
  async fn() {
    await withProgram(
      (port) => `mosquitto_sub -h 127.0.0.1 -p ${port} -t 'tank/#'`,
      async (idle, bus) => {
        let busy = "";
        await waitFor(
          "mosquitto_sub connected and idle",
          () => (busy = idle.busyNow()) === "" && idle.connections === 1,
        ).catch((error) => {
          throw new Error(
            `${error.message} (last: "${busy}", ${idle.connections} connections)`,
          );
        });
        for (let i = 0; i < 20; i++) {
          await bus.publish("tank/t", `${i}`);
          await waitFor(
            `idle after message ${i}`,
            () => idle.busyNow() === "",
          );
        }
      },
    );
  },
});

Deno.test({
  name:
    "ProcessIdle: bytes the program has not read keep it busy; a spinning program is running; a sleep is waiting only between the wakes of a loop",
  ignore: !linux || !hasCommand("/usr/bin/python3", ["-c", "pass"]),
  async fn() {
    // Connects and subscribes with hand-made packets, reads CONNACK and SUBACK, then blocks in select() on nothing:
    // it never reads its socket again.
    const python = `
import select, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes([0x10, 14, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 2]) + b"ab")
s.sendall(bytes([0x82, 8, 0, 1, 0, 3]) + b"t/x" + bytes([0]))
got = b""
while len(got) < 9:
    got += s.recv(9 - len(got))
select.select([], [], [])
`;
    await withProgram(
      (port) => `/usr/bin/python3 -c '${python}' ${port}`,
      async (idle, bus) => {
        await waitFor(
          "connected and idle",
          () => idle.busyNow() === "" && idle.connections === 1,
        );
        await bus.publish("t/x", "reading");
        await waitFor(
          "unread bytes reported",
          () => /bytes unread by the controller/.test(idle.busyNow()),
        );
      },
    );
    await withProgram(() => "sh -c 'while :; do :; done'", async (idle) => {
      await waitFor(
        "a running thread",
        () => /^sh is running$/.test(idle.busyNow()),
      );
    });
    // A sleep not seen beginning is not waiting; a loop seen waking and going back to sleep is, between its wakes.
    await withProgram(() => "sleep 60", async (idle) => {
      await waitFor(
        "asleep",
        () => idle.busyNow() === "sleep is asleep on a timer",
      );
    });
    await withProgram(
      () =>
        "/usr/bin/python3 -c 'import time; [time.sleep(0.2) for _ in iter(int, 1)]'",
      async (idle) => {
        await waitFor("idle between wakes", () => idle.busyNow() === "");
      },
    );
  },
});
