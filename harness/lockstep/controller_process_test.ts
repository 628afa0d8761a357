import assert from "node:assert/strict";
import { AedesBus, EmbeddedBroker } from "../broker/mod.ts";
import {
  controllerEnv,
  type ControllerEnvBase,
  ControllerError,
  ControllerProcess,
  PRELOAD_DIR,
} from "./controller_process.ts";
import { delay, waitFor } from "../../lib/testing.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const DENO_RUN = `"${Deno.execPath()}" run --allow-net --allow-env`;

function _succeeds(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const hasPython = _succeeds(PYTHON, ["-c", "import socket"]);
const hasPaho = hasPython && _succeeds(PYTHON, ["-c", "import paho.mqtt"]);
const hasNode = _succeeds("node", ["--version"]);

/**
 * Whether `pid` is still running. `kill -0` also succeeds for a zombie, and in a container whose init does not reap
 * orphans a killed grandchild stays one, so a zombie (state Z in /proc) counts as gone.
 */
function alive(pid: number): boolean {
  if (
    !_succeeds("/bin/sh", ["-c", 'kill -0 "$1" 2>/dev/null', "-", `${pid}`])
  ) {
    return false;
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // No /proc (macOS): kill -0 is all we have.
  }
}

/** Starts `command`, waits (bounded) for it to end, and returns the process. */
async function finished(
  command: string,
  options: Partial<Parameters<typeof ControllerProcess.start>[1]> = {},
): Promise<ControllerProcess> {
  const controller = ControllerProcess.start(command, { env: {}, ...options });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), 10_000)
  );
  const result = await Promise.race([controller.exited, timeout]);
  clearTimeout(timer);
  if (result === "timeout") {
    await controller.stop({ graceMs: 0 });
    throw new Error(`"${command}" did not end within 10 s`);
  }
  return controller;
}

Deno.test("start() passes options.env and the parent's environment, with PYTHONUNBUFFERED=1, in cwd", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "controller-cwd-" });
  try {
    const controller = await finished(
      'echo "$TANK_ID|$PYTHONUNBUFFERED|${PATH:+path}"; pwd',
      { env: { TANK_ID: "tank7" }, cwd },
    );
    assert.deepEqual(await controller.exited, { code: 0, signal: null });
    assert.equal(
      controller.output().stdout,
      `tank7|1|path\n${Deno.realPathSync(cwd)}\n`,
    );
    assert.equal(controller.running, false);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("output is captured line by line per stream, a last line without newline included", async () => {
  const lines: string[] = [];
  const controller = await finished(
    "printf 'one\\ntwo\\r\\n'; printf 'err\\n' >&2; printf 'tail'",
    { onLine: (stream, line) => lines.push(`${stream}:${line}`) },
  );
  assert.deepEqual(lines.filter((l) => l.startsWith("stdout")), [
    "stdout:one",
    "stdout:two",
    "stdout:tail",
  ]);
  assert.deepEqual(lines.filter((l) => l.startsWith("stderr")), [
    "stderr:err",
  ]);
  assert.deepEqual(controller.output(), {
    stdout: "one\ntwo\ntail\n",
    stderr: "err\n",
  });
});

Deno.test("output keeps the newest outputLimitBytes of each stream and says how much it dropped", async () => {
  const controller = await finished(
    'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done',
    { outputLimitBytes: 1000, onLine: () => {} },
  );
  const text = controller.output().stdout;
  const match = text.match(
    /^\[… (\d+) bytes \((\d+) lines\) of stdout dropped …\]\n/,
  );
  assert.ok(match, text.slice(0, 200));
  const kept = text.slice(match[0].length);
  assert.ok(kept.length <= 1000, `kept ${kept.length} bytes`);
  assert.ok(kept.endsWith("line 1998\nline 1999\n"));
  let total = 0;
  for (let i = 0; i < 2000; i++) total += `line ${i}\n`.length;
  assert.equal(Number(match[1]) + kept.length, total);
  assert.equal(Number(match[2]) + kept.split("\n").length - 1, 2000);
});

Deno.test("a line that never ends is cut into pieces no longer than the limit", async () => {
  const pieces: string[] = [];
  const controller = await finished(
    "head -c 200000 /dev/zero | tr '\\0' x",
    {
      outputLimitBytes: 4096,
      onLine: (_stream, line) => pieces.push(line),
    },
  );
  assert.equal(pieces.join(""), "x".repeat(200_000));
  assert.ok(pieces.every((piece) => piece.length <= 4096));
  assert.ok(controller.output().stdout.length < 4096 + 100);
});

Deno.test("exited reports the exit code, or the signal that killed the command", async () => {
  const three = await finished("echo 'something broke' >&2; exit 3");
  assert.deepEqual(await three.exited, { code: 3, signal: null });
  assert.equal(
    three.exitError()?.message,
    "Controller \"echo 'something broke' >&2; exit 3\" exited with code 3; its last output:\n  something broke",
  );
  const killed = await finished("kill -s KILL $$");
  assert.deepEqual(await killed.exited, { code: null, signal: "SIGKILL" });
  assert.equal(
    killed.exitError()?.message,
    'Controller "kill -s KILL $$" was killed by SIGKILL',
  );
});

Deno.test("a command that does not exist is reported as not found", async () => {
  const controller = await finished("pyhton3 x.py");
  assert.deepEqual(await controller.exited, { code: 127, signal: null });
  const error = controller.exitError();
  assert.ok(error instanceof ControllerError);
  assert.equal(error.name, "ControllerError");
  assert.equal(error.command, "pyhton3 x.py");
  assert.deepEqual(error.exit, { code: 127, signal: null });
  // Debian's dash says "sh: 1: pyhton3: not found"; other shells word it a little differently.
  if (Deno.realPathSync("/bin/sh").endsWith("dash")) {
    assert.equal(
      error.message,
      'Controller command not found: "pyhton3 x.py" (exit 127: sh: 1: pyhton3: not found)',
    );
  }
  assert.match(
    error.message,
    /^Controller command not found: "pyhton3 x\.py" \(exit 127: .*pyhton3.*not found\)$/,
  );
});

Deno.test("start() refuses an empty command and reports a working folder that does not exist", () => {
  assert.throws(
    () => ControllerProcess.start("  ", { env: {} }),
    TypeError,
  );
  assert.throws(
    () =>
      ControllerProcess.start("true", {
        env: {},
        cwd: "/nonexistent/controller/folder",
      }),
    (error: unknown) =>
      error instanceof ControllerError &&
      /^Cannot start controller "true" in "\/nonexistent\/controller\/folder": /
        .test(error.message),
  );
});

Deno.test("stop() ends a command with SIGTERM, and then it is not an error", async () => {
  const controller = ControllerProcess.start("sleep 100", { env: {} });
  await delay(50);
  assert.equal(controller.running, true);
  const exit = await controller.stop();
  assert.deepEqual(exit, { code: null, signal: "SIGTERM" });
  assert.equal(controller.running, false);
  assert.equal(controller.exitError(), null);
});

Deno.test("stop() kills a command that ignores SIGTERM, and its children, after graceMs", async () => {
  let child = 0;
  const controller = ControllerProcess.start(
    "trap '' TERM; sleep 100 & echo \"child $!\"; wait",
    {
      env: {},
      onLine: (_stream, line) => {
        child = Number(line.match(/^child (\d+)$/)?.[1] ?? child);
      },
    },
  );
  await waitFor("the child's pid", () => child > 0, 5_000);
  assert.ok(alive(child) && alive(controller.pid));
  const started = performance.now();
  const exit = await controller.stop({ graceMs: 300 });
  assert.ok(performance.now() - started >= 290);
  assert.deepEqual(exit, { code: null, signal: "SIGKILL" });
  await waitFor("the child to be gone", () => !alive(child), 3_000);
  assert.equal(alive(controller.pid), false);
});

Deno.test("stop() lets the program behind a shell list shut down: the shell dies on SIGTERM, its child finishes", async () => {
  // `; true` makes this a list, so sh forks the inner sh instead of exec-ing it, and stays its parent.
  const controller = ControllerProcess.start(
    `sh -c 'trap "sleep 0.2; echo bye; exit 0" TERM; echo ready; while :; do sleep 0.05; done'; true`,
    { env: {} },
  );
  await waitFor("ready", () => controller.output().stdout === "ready\n", 5_000);
  const started = performance.now();
  const exit = await controller.stop({ graceMs: 3_000 });
  assert.ok(performance.now() - started < 2_000);
  assert.deepEqual(exit, { code: null, signal: "SIGTERM" });
  assert.equal(controller.output().stdout, "ready\nbye\n");
});

Deno.test("stop() is idempotent, and resolves without throwing once the command has ended", async () => {
  const running = ControllerProcess.start("sleep 100", { env: {} });
  const first = running.stop();
  const second = running.stop({ graceMs: 10 });
  assert.equal(first, second);
  assert.deepEqual(await first, await second);
  assert.deepEqual(await running.stop(), { code: null, signal: "SIGTERM" });

  const ended = await finished("exit 0");
  assert.deepEqual(await ended.stop(), { code: 0, signal: null });
  assert.deepEqual(await ended.stop(), { code: 0, signal: null });
  // It ended on its own before stop(): that stays visible.
  assert.equal(
    ended.exitError()?.message,
    'Controller "exit 0" exited with code 0',
  );
});

Deno.test("when the command ends, what it left running in its group is killed", async () => {
  let child = 0;
  await finished('sleep 100 & echo "child $!"', {
    onLine: (_stream, line) => {
      child = Number(line.match(/^child (\d+)$/)?.[1] ?? child);
    },
  });
  assert.ok(child > 0);
  await waitFor("the child to be gone", () => !alive(child), 3_000);
});

Deno.test("a controller outlives no harness: when the harness process dies, its guard kills the group", async () => {
  const script = await Deno.makeTempFile({
    prefix: "dying-harness-",
    suffix: ".ts",
  });
  await Deno.writeTextFile(
    script,
    `import { ControllerProcess } from "${
      new URL("./controller_process.ts", import.meta.url).href
    }";
const controller = ControllerProcess.start('sleep 100 & echo "child $!"; wait', {
  env: {},
  onLine: (_stream, line) => console.log(line),
});
console.log("sh " + controller.pid);
`,
  );
  const harness = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let text = "";
  const pids = new Map<string, number>();
  try {
    const decoder = new TextDecoder();
    const reader = harness.stdout.getReader();
    const deadline = Date.now() + 20_000;
    while (pids.size < 2 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      for (const [, name, pid] of text.matchAll(/^(sh|child) (\d+)$/gm)) {
        pids.set(name!, Number(pid));
      }
    }
    reader.releaseLock();
    assert.equal(pids.size, 2, text);
    assert.ok(alive(pids.get("sh")!) && alive(pids.get("child")!));
  } finally {
    harness.kill("SIGKILL");
    await harness.status;
    await harness.stdout.cancel();
    await Deno.remove(script);
  }
  await waitFor(
    "the controller and its child to be gone",
    () => [...pids.values()].every((pid) => !alive(pid)),
    5_000,
  );
});

const base: ControllerEnvBase = {
  url: "mqtt://127.0.0.1:1883",
  host: "127.0.0.1",
  port: 1883,
  tank: "tank2",
  root: "OLP/device/tank",
};

Deno.test("controllerEnv() gives the broker, the tank and the preloads, keeping PYTHONPATH and NODE_OPTIONS after its own", () => {
  const saved = {
    PYTHONPATH: Deno.env.get("PYTHONPATH"),
    NODE_OPTIONS: Deno.env.get("NODE_OPTIONS"),
  };
  const restore = () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  try {
    Deno.env.delete("PYTHONPATH");
    Deno.env.delete("NODE_OPTIONS");
    const require =
      `--require "${PRELOAD_DIR}/nodelay.cjs" --require "${PRELOAD_DIR}/done.cjs"`;
    assert.deepEqual(controllerEnv(base), {
      MQTT_URL: "mqtt://127.0.0.1:1883",
      MQTT_HOST: "127.0.0.1",
      MQTT_PORT: "1883",
      TANK_ID: "tank2",
      TOPIC_ROOT: "OLP/device/tank",
      FISHTANK_HARNESS: "1",
      PYTHONUNBUFFERED: "1",
      NO_COLOR: "1",
      PYTHONPATH: PRELOAD_DIR,
      NODE_OPTIONS: require,
    });
    Deno.env.set("PYTHONPATH", "/opt/lib:/srv/lib");
    Deno.env.set("NODE_OPTIONS", "--max-old-space-size=200");
    const env = controllerEnv(base);
    assert.equal(env.PYTHONPATH, `${PRELOAD_DIR}:/opt/lib:/srv/lib`);
    assert.equal(env.NODE_OPTIONS, `${require} --max-old-space-size=200`);
    const plain = controllerEnv(base, { fastSockets: false });
    assert.equal(plain.PYTHONPATH, undefined);
    assert.equal(plain.NODE_OPTIONS, undefined);
    assert.equal(plain.TANK_ID, "tank2");
  } finally {
    restore();
  }
  for (
    const file of [
      "sitecustomize.py",
      "_fishtank_done.py",
      "nodelay.cjs",
      "done.cjs",
    ]
  ) {
    assert.ok(Deno.statSync(`${PRELOAD_DIR}/${file}`).isFile);
  }
});

/** A TCP listener on 127.0.0.1 that answers "k" to every two bytes it receives (or just accepts, for Python). */
function pairServer(): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    connections.add(conn);
    const buffer = new Uint8Array(64);
    let pending = 0;
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        pending += n;
        for (; pending >= 2; pending -= 2) await conn.write(Uint8Array.of(107));
      }
    } catch {
      // Closed under us.
    } finally {
      connections.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const serving: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) serving.push(serve(conn));
    } catch {
      // Listener closed.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: async () => {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
      await Promise.all(serving);
    },
  };
}

const PYTHON_PROBE = `
import socket, sys
port = int(sys.argv[1])
created = socket.create_connection(("127.0.0.1", port))
plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
plain.connect(("127.0.0.1", port))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.connect(("127.0.0.1", port))
def nodelay(s):
    return 1 if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) else 0
print(f"create_connection={nodelay(created)} connect={nodelay(plain)} udp=ok")
`;

Deno.test({
  name:
    "sitecustomize.py sets TCP_NODELAY on Python's TCP connections with controllerEnv()'s PYTHONPATH, not without",
  ignore: !hasPython,
  fn: async () => {
    const server = pairServer();
    const hidden = await Deno.makeTempDir({ prefix: "hidden-site-" });
    try {
      await Deno.writeTextFile(
        `${hidden}/sitecustomize.py`,
        'print("the hidden sitecustomize ran")\n',
      );
      const command = `${PYTHON} -c "$PROBE" ${server.port}`;
      const env = {
        ...controllerEnv({ ...base, port: server.port }),
        PROBE: PYTHON_PROBE,
      };
      const fast = await finished(command, {
        env: { ...env, PYTHONPATH: `${PRELOAD_DIR}:${hidden}` },
      });
      assert.equal(
        fast.output().stdout,
        // The hidden sitecustomize runs at start-up, before the program.
        "the hidden sitecustomize ran\ncreate_connection=1 connect=1 udp=ok\n",
        fast.output().stderr,
      );
      const plain = await finished(command, {
        env: {
          ...controllerEnv(base, { fastSockets: false }),
          PROBE: PYTHON_PROBE,
        },
      });
      assert.equal(
        plain.output().stdout,
        "create_connection=0 connect=0 udp=ok\n",
        plain.output().stderr,
      );
    } finally {
      await server.close();
      await Deno.remove(hidden, { recursive: true });
    }
  },
});

/** Twenty rounds of two one-byte writes, each round waiting for the answer; prints the milliseconds taken. */
const NODE_PROBE = `
const net = require("node:net");
const socket = net.connect(Number(process.env.PROBE_PORT), "127.0.0.1", async () => {
  const started = performance.now();
  for (let i = 0; i < 20; i++) {
    const answered = new Promise((resolve) => socket.once("data", resolve));
    socket.write("a");
    socket.write("b");
    await answered;
  }
  console.log("ms " + Math.round(performance.now() - started));
  socket.destroy();
});
`;

async function probeMs(
  runtime: "node" | "deno",
  server: { port: number },
  fastSockets: boolean,
): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "nodelay-probe-" });
  try {
    await Deno.writeTextFile(`${dir}/probe.cjs`, NODE_PROBE);
    const command = runtime === "node"
      ? "node probe.cjs"
      : `${DENO_RUN} probe.cjs`;
    const controller = await finished(command, {
      cwd: dir,
      env: {
        ...controllerEnv({ ...base, port: server.port }, { fastSockets }),
        PROBE_PORT: String(server.port),
      },
    });
    const match = controller.output().stdout.match(/^ms (\d+)$/m);
    assert.ok(match, JSON.stringify(controller.output()));
    return Number(match[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const runtime of ["node", "deno"] as const) {
  Deno.test({
    name:
      `nodelay.cjs (NODE_OPTIONS=--require) makes ${runtime}'s node:net send small writes at once`,
    ignore: runtime === "node" && !hasNode,
    fn: async () => {
      const server = pairServer();
      try {
        // Without it, every round waits for the server's delayed ACK (40 ms on Linux): 20 rounds take 800 ms.
        const slow = await probeMs(runtime, server, false);
        const fast = await probeMs(runtime, server, true);
        assert.ok(slow >= 400, `without the preload: ${slow} ms`);
        assert.ok(fast < 200, `with the preload: ${fast} ms`);
      } finally {
        await server.close();
      }
    },
  });
}

/** An embedded broker with the tank's side: every connect, subscription and message, and a way to publish readings. */
async function withTank(
  fn: (tank: {
    broker: EmbeddedBroker;
    connects: string[];
    subscriptions: { topic: string; qos: number }[];
    messages: { topic: string; text: string }[];
    reading: (t: number, temperature: number) => Promise<void>;
    env: (fastSockets?: boolean) => Record<string, string>;
  }) => Promise<void>,
): Promise<void> {
  const connects: string[] = [];
  const broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: null,
    onEvent: (event) => {
      if (event.type === "connect") connects.push(event.clientId);
    },
  });
  const bus = new AedesBus(broker.aedes);
  const subscriptions: { topic: string; qos: number }[] = [];
  broker.aedes.on("subscribe", (subs, client) => {
    if (client) {
      subscriptions.push(...subs.map(({ topic, qos }) => ({ topic, qos })));
    }
  });
  const messages: { topic: string; text: string }[] = [];
  const decoder = new TextDecoder();
  for (const filter of ["fishtank/tank1/#", "junk/#"]) {
    await bus.subscribe(filter, (message) => {
      if (message.topic.endsWith("/sensors/all")) return;
      messages.push({
        topic: message.topic,
        // Keep the flood's and the garbage's bulk out of memory.
        text: message.payload.length > 100
          ? `<${message.payload.length} bytes>`
          : decoder.decode(message.payload),
      });
    });
  }
  try {
    await fn({
      broker,
      connects,
      subscriptions,
      messages,
      reading: (t, temperature) =>
        bus.publish(
          "fishtank/tank1/sensors/all",
          JSON.stringify({
            time: new Date(Date.UTC(2026, 0, 15, 6, 0, t)).toISOString(),
            t,
            temperature,
            oxygen: 8,
          }),
          { qos: 1 },
        ),
      env: (fastSockets = true) =>
        controllerEnv({
          url: broker.url,
          host: broker.host,
          port: broker.port,
          tank: "tank1",
          root: "fishtank",
        }, { fastSockets }),
    });
  } finally {
    await bus.close();
    await broker.close();
  }
}

/** Starts a controller from the project folder; the test body runs, then it is stopped whatever happens. */
async function withController(
  command: string,
  env: Record<string, string>,
  fn: (controller: ControllerProcess, log: () => string) => Promise<void>,
): Promise<void> {
  const controller = ControllerProcess.start(command, { env, cwd: ROOT });
  const log = () => JSON.stringify(controller.output());
  try {
    await fn(controller, log);
  } finally {
    await controller.stop();
  }
}

const FIXTURES = "tests/fixtures/controllers";
const STARTUP_MS = 20_000;
const subscribedTo = (
  subscriptions: { topic: string; qos: number }[],
  qos: number,
) =>
() =>
  subscriptions.some((s) =>
    s.topic === "fishtank/tank1/sensors/all" && s.qos === qos
  );

Deno.test("the starter controller subscribes with QoS 1, switches at 25 °C, keeps pump and light on, acks, and exits 0 on SIGTERM", async () => {
  await withTank(async ({ subscriptions, messages, reading, env }) => {
    await withController(
      `${DENO_RUN} examples/starter.ts`,
      env(),
      async (controller, log) => {
        await waitFor(
          `a QoS 1 subscription; ${log()}`,
          subscribedTo(subscriptions, 1),
          STARTUP_MS,
        );
        await reading(10, 24.9);
        await waitFor(
          `ack 10; ${log()}`,
          () => messages.some((m) => m.text === "10"),
          5_000,
        );
        await reading(20, 25);
        await waitFor(
          `ack 20; ${log()}`,
          () => messages.some((m) => m.text === "20"),
          5_000,
        );
        assert.deepEqual(
          messages.map((m) => `${m.topic.slice(15)} ${m.text}`),
          [
            "control/heater on",
            "control/pump on",
            "control/light on",
            "ack 10",
            "control/heater off",
            "control/pump on",
            "control/light on",
            "ack 20",
          ],
        );
        assert.deepEqual(await controller.stop(), { code: 0, signal: null });
        assert.match(
          controller.output().stdout,
          /connected to mqtt:\/\/127\.0\.0\.1:\d+, controlling fishtank\/tank1/,
        );
      },
    );
  });
});

Deno.test("fixture crash.ts answers CRASH_AFTER readings, then exits with code 1 saying why", async () => {
  await withTank(async ({ subscriptions, messages, reading, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/crash.ts`,
      { ...env(), CRASH_AFTER: "2" },
      async (controller, log) => {
        await waitFor(
          `a subscription; ${log()}`,
          subscribedTo(subscriptions, 1),
          STARTUP_MS,
        );
        for (const t of [10, 20]) {
          await reading(t, 24);
          await waitFor(
            `ack ${t}`,
            () => messages.some((m) => m.text === `${t}`),
            5_000,
          );
        }
        await reading(30, 24);
        assert.deepEqual(await controller.exited, { code: 1, signal: null });
        assert.match(
          controller.exitError()?.message ?? "",
          /exited with code 1; its last output:[^]*crash/,
        );
        assert.equal(
          messages.filter((m) => m.topic.endsWith("/ack")).length,
          2,
        );
      },
    );
  });
});

Deno.test("fixture silent.ts never connects and runs until stopped", async () => {
  await withTank(async ({ connects, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/silent.ts`,
      env(),
      async (controller, log) => {
        await waitFor(
          `its line; ${log()}`,
          () => controller.output().stdout.includes("will not"),
          STARTUP_MS,
        );
        await delay(300);
        assert.equal(controller.running, true);
        assert.deepEqual(connects, []);
      },
    );
  });
});

Deno.test("fixture no_subscribe.ts connects and never subscribes", async () => {
  await withTank(async ({ connects, subscriptions, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/no_subscribe.ts`,
      env(),
      async (controller, log) => {
        await waitFor(
          `a connection; ${log()}`,
          () => connects.length === 1,
          STARTUP_MS,
        );
        await delay(300);
        assert.equal(controller.running, true);
        assert.deepEqual(subscriptions, []);
      },
    );
  });
});

Deno.test("fixture hang.ts subscribes with QoS 0 and never publishes", async () => {
  await withTank(async ({ subscriptions, messages, reading, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/hang.ts`,
      env(),
      async (controller, log) => {
        await waitFor(
          `a QoS 0 subscription; ${log()}`,
          subscribedTo(subscriptions, 0),
          STARTUP_MS,
        );
        await reading(10, 24);
        await delay(300);
        assert.equal(controller.running, true);
        assert.deepEqual(messages, []);
      },
    );
  });
});

Deno.test("fixture flood.ts acks its readings and floods its control topic and junk topics", async () => {
  await withTank(async ({ subscriptions, messages, reading, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/flood.ts`,
      env(),
      async (_controller, log) => {
        await waitFor(
          `a subscription; ${log()}`,
          subscribedTo(subscriptions, 1),
          STARTUP_MS,
        );
        await reading(10, 24);
        await waitFor(
          `ack 10; ${log()}`,
          () =>
            messages.some((m) => m.topic.endsWith("/ack") && m.text === "10"),
          5_000,
        );
        const before = messages.length;
        await delay(500);
        const flood = messages.slice(before);
        assert.ok(flood.length > 500, `${flood.length} messages in 0.5 s`);
        assert.ok(flood.some((m) => m.topic.startsWith("junk/")));
        assert.ok(
          flood.some((m) =>
            m.topic === "fishtank/tank1/control/heater" && m.text === "off"
          ),
        );
      },
    );
  });
});

Deno.test("fixture garbage.ts answers with invalid payloads, then acks", async () => {
  await withTank(async ({ subscriptions, messages, reading, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/garbage.ts`,
      env(),
      async (_controller, log) => {
        await waitFor(
          `a subscription; ${log()}`,
          subscribedTo(subscriptions, 1),
          STARTUP_MS,
        );
        await reading(10, 24);
        await waitFor(
          `ack 10; ${log()}`,
          () => messages.some((m) => m.topic.endsWith("/ack")),
          5_000,
        );
        assert.deepEqual(
          messages.map((m) => `${m.topic.slice(15)} ${m.text}`),
          [
            "control/heater maybe",
            "control/warp_drive on",
            'control/all {"heater": tru',
            "control/light <61440 bytes>",
            "alarm <61440 bytes>",
            "sensors/temperature 99",
            "ack 10",
          ],
        );
      },
    );
  });
});

Deno.test("fixture exit_at_once.ts exits with code 0 at once", async () => {
  await withTank(async ({ connects, env }) => {
    await withController(
      `${DENO_RUN} ${FIXTURES}/exit_at_once.ts`,
      env(),
      async (controller) => {
        assert.deepEqual(await controller.exited, { code: 0, signal: null });
        assert.match(
          controller.output().stdout,
          /^exit_at_once\.ts: not controlling fishtank\/tank1 on mqtt:\/\/127\.0\.0\.1:\d+; bye\n$/,
        );
        assert.deepEqual(connects, []);
      },
    );
  });
});

Deno.test({
  name:
    "fixture slow_nagle.py subscribes with QoS 0, sends three QoS 0 commands, no ack; TCP_NODELAY only with the preload",
  ignore: !hasPaho,
  fn: async () => {
    for (const fastSockets of [false, true]) {
      await withTank(async ({ subscriptions, messages, reading, env }) => {
        await withController(
          `${PYTHON} ${FIXTURES}/slow_nagle.py`,
          env(fastSockets),
          async (controller, log) => {
            await waitFor(
              `a QoS 0 subscription; ${log()}`,
              subscribedTo(subscriptions, 0),
              STARTUP_MS,
            );
            // Printed once connected: it may come through the pipe after the subscription reached the broker.
            await waitFor(
              `its TCP_NODELAY line; ${log()}`,
              () => /TCP_NODELAY=\d/.test(controller.output().stdout),
              STARTUP_MS,
            );
            assert.match(
              controller.output().stdout,
              new RegExp(`TCP_NODELAY=${fastSockets ? 1 : 0}`),
            );
            await reading(10, 24);
            await waitFor(
              `three commands; ${log()}`,
              () => messages.length === 3,
              5_000,
            );
            assert.deepEqual(
              messages.map((m) => `${m.topic.slice(15)} ${m.text}`),
              [
                "control/heater on",
                "control/pump on",
                "control/light on",
              ],
            );
          },
        );
      });
    }
  },
});
