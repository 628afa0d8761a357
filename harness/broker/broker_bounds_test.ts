import assert from "node:assert/strict";
import mqtt from "mqtt";
import { type BrokerEvent, EmbeddedBroker } from "./broker.ts";
import { waitFor } from "../../lib/testing.ts";

/** A client of a persistent session: whether the broker still had it, and the numbers of the messages it gets. */
async function session(
  url: string,
  clientId: string,
  options: mqtt.IClientOptions = {},
) {
  const client = mqtt.connect(url, {
    clientId,
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    keepalive: 10,
    ...options,
  });
  const received: number[] = [];
  client.on("message", (_topic, payload) => {
    received.push(Number(String(payload).split(" ")[0]));
  });
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once("connect", (connack) => resolve(connack.sessionPresent));
    client.once("error", reject);
    client.once("close", () => reject(new Error(`${clientId}: closed`)));
  });
  return Object.assign(client, { received, sessionPresent });
}

/** Leaves `count` persistent sessions subscribed to `fishtank/#` at QoS 1, `batch` connections at a time. */
async function leaveSessions(
  url: string,
  prefix: string,
  count: number,
  batch = 50,
): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, i) => {
        const client = await session(url, `${prefix}${start + i}`);
        await client.subscribeAsync("fishtank/#", { qos: 1 });
        await client.endAsync();
      }),
    );
  }
}

/** The resident set size of process `pid`, in bytes. */
async function rss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

/** The broker of `testdata/flood_broker.ts` in a process of its own, driven line by line. */
async function floodBroker(options: Record<string, unknown> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./testdata/flood_broker.ts", import.meta.url).pathname,
      JSON.stringify(options),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let pending = "";
  async function answer(): Promise<Record<string, number>> {
    for (;;) {
      const newline = pending.indexOf("\n");
      if (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        return JSON.parse(line);
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("the broker process ended");
      pending += value;
    }
  }
  const writer = child.stdin.getWriter();
  const { port } = await answer();
  return {
    pid: child.pid,
    url: `mqtt://127.0.0.1:${port}`,
    async ask(command: string) {
      await writer.write(new TextEncoder().encode(command + "\n"));
      return await answer();
    },
    async [Symbol.asyncDispose]() {
      await writer.close();
      await lines.cancel();
      await child.status;
    },
  };
}

Deno.test("300 persistent sessions left behind, then 20,000 QoS 1 messages: the messages grow the broker by under 100 MB and a returning session gets at most 1,000 messages, the newest", async () => {
  await using broker = await floodBroker();
  const before = await rss(broker.pid);
  await leaveSessions(broker.url, "flood-", 300);
  let stats = await broker.ask("stats");
  for (let i = 0; stats.offline! < 300 && i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    stats = await broker.ask("stats");
  }
  assert.equal(stats.offline, 300);
  const left = await rss(broker.pid);
  stats = await broker.ask("publish 20000 200 fishtank/tank1/sensors/flood");
  const after = await rss(broker.pid);
  // What the messages cost: 300 connections coming and going cost about 50 MB of their own (aedes, sockets).
  const growth = after - left;
  console.log(
    `broker RSS ${(before / 2 ** 20).toFixed(0)} → ${
      (left / 2 ** 20).toFixed(0)
    } → ${(after / 2 ** 20).toFixed(0)} MiB (heap ${
      (stats.heapUsed! / 2 ** 20).toFixed(0)
    } of ${
      (stats.heapTotal! / 2 ** 20).toFixed(0)
    } MiB), ${stats.queued} messages queued for ${stats.offline} offline sessions`,
  );
  assert.ok(
    growth < 100e6,
    `20,000 messages grew the broker by ${(growth / 1e6).toFixed(0)} MB`,
  );
  assert.equal(stats.queued, 300 * 1_000);

  const back = await session(broker.url, "flood-7");
  assert.equal(back.sessionPresent, true);
  // The queue is delivered in order, so the last message published is the last to arrive.
  await waitFor(
    "the newest message",
    () => back.received.includes(19_999),
    30_000,
  );
  assert.equal(back.received.length, 1_000);
  assert.deepEqual(
    back.received.toSorted((a, b) => a - b),
    Array.from({ length: 1_000 }, (_, i) => 19_000 + i),
  );
  await back.endAsync();
});

Deno.test("offline sessions past maxOfflineSessions are removed oldest first; a queue past maxQueuedPerSession drops its oldest", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    maxOfflineSessions: 3,
    maxQueuedPerSession: 5,
    onEvent: (event) => events.push(event),
  });
  await leaveSessions(broker.url, "s", 5, 1);
  await waitFor(
    "3 offline sessions",
    () => broker.sessionStats().offline === 3,
  );
  const publisher = await session(broker.url, "publisher", { clean: true });
  for (let i = 0; i < 10; i++) {
    await publisher.publishAsync("fishtank/tank1/sensors/x", `${i}`, {
      qos: 1,
    });
  }
  await publisher.endAsync();
  assert.deepEqual(broker.sessionStats(), { offline: 3, queued: 15 });
  assert.ok(
    events.some((e) =>
      e.type === "error" && e.clientId === "s0" &&
      /more than 3 offline sessions/.test(e.message)
    ),
  );
  const first = await session(broker.url, "s0");
  assert.equal(first.sessionPresent, false);
  await first.endAsync();
  const last = await session(broker.url, "s4");
  assert.equal(last.sessionPresent, true);
  await waitFor("the newest message", () => last.received.includes(9));
  assert.deepEqual(last.received, [5, 6, 7, 8, 9]);
  await last.endAsync();
});

Deno.test("300 idle sockets from one address that never send CONNECT: the oldest are closed to make room, and a client still connects, subscribes and publishes", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    // Long enough that only the connection limit, not the CONNECT deadline, can make room during the test.
    connectTimeout: 120_000,
    onEvent: (event) => events.push(event),
  });
  const shed = () =>
    events.filter((e) => e.type === "error" && /make room/.test(e.message))
      .length;
  const idle: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      idle.push(
        await Deno.connect({ hostname: "127.0.0.1", port: broker.port }),
      );
    }
    // 256 are let in, then each new one closes the oldest idle one.
    await waitFor("44 idle sockets closed", () => shed() === 44, 10_000);
    const client = await mqtt.connectAsync(broker.url, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    const received: string[] = [];
    client.on("message", (_topic, payload) => received.push(String(payload)));
    await client.subscribeAsync("fishtank/tank1/status", { qos: 1 });
    await client.publishAsync("fishtank/tank1/status", "here", { qos: 1 });
    await waitFor("the message", () => received.length === 1);
    assert.deepEqual(received, ["here"]);
    assert.equal(shed(), 45);
    assert.ok(
      !events.some((e) => e.type === "error" && /^refused/.test(e.message)),
    );
    await client.endAsync();
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch {
        // already closed by the broker
      }
    }
  }
});

Deno.test("an offline session past its expiry is gone: MQTT 5's session expiry interval, the default for 3.1.1, and the sweep", async () => {
  let now = 1_000_000;
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    sessionExpiry: 60_000,
    now: () => now,
  });
  const v4 = await session(broker.url, "v4");
  await v4.subscribeAsync("fishtank/#", { qos: 1 });
  await v4.endAsync();
  const v5 = await session(broker.url, "v5", {
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 10 },
  });
  await v5.subscribeAsync("fishtank/#", { qos: 1 });
  await v5.endAsync();
  await waitFor(
    "2 offline sessions",
    () => broker.sessionStats().offline === 2,
  );

  now += 11_000; // past the MQTT 5 client's 10 s, within the broker's 60 s
  const v5Back = await session(broker.url, "v5", {
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 10 },
  });
  assert.equal(v5Back.sessionPresent, false);
  await v5Back.endAsync();
  const v4Back = await session(broker.url, "v4");
  assert.equal(v4Back.sessionPresent, true);
  await v4Back.endAsync();

  now += 61_000;
  const v4Late = await session(broker.url, "v4");
  assert.equal(v4Late.sessionPresent, false);
  await v4Late.endAsync();
});

Deno.test("expired offline sessions and their queues are swept without the client coming back", async () => {
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    sessionExpiry: 300,
  });
  await leaveSessions(broker.url, "gone-", 3);
  const publisher = await session(broker.url, "publisher", { clean: true });
  await publisher.publishAsync("fishtank/tank1/sensors/x", "0", { qos: 1 });
  await publisher.endAsync();
  // Bounded waits: the sweep runs by itself every 300 ms.
  await waitFor(
    "the sessions swept",
    () =>
      broker.sessionStats().offline === 0 &&
      broker.sessionStats().queued === 0,
    10_000,
  );
});
