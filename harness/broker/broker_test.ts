import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import { hasCommand, hasPaho, ignoreWithout } from "../../tests/_peers.ts";
import { BrokerError, type BrokerEvent, EmbeddedBroker } from "./broker.ts";
import { delay, run, waitFor } from "../../lib/testing.ts";

type Received = [topic: string, payload: string, qos: number, retain: boolean];

/** An mqtt.js client that records what it receives; no reconnects, so a test never outlives its broker. */
async function client(
  url: string,
  protocolVersion: 3 | 4 | 5,
  options: mqtt.IClientOptions = {},
) {
  const c = await mqtt.connectAsync(url, {
    protocolVersion,
    protocolId: protocolVersion === 3 ? "MQIsdp" : "MQTT",
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    // A stalled connection then fails the test within seconds (mqtt.js's own default is 60 s × 1.5).
    keepalive: 4,
    ...options,
  });
  const received: Received[] = [];
  c.on(
    "message",
    (topic, payload, packet) =>
      received.push([topic, String(payload), packet.qos, packet.retain]),
  );
  return Object.assign(c, { received });
}

/** Writes `bytes` on a raw TCP connection and returns everything read until the broker closes it. */
async function rawExchange(
  port: number,
  bytes: Uint8Array,
  timeoutMs = 3_000,
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: Uint8Array[] = [];
  let closed = false;
  try {
    await conn.write(bytes);
    const buffer = new Uint8Array(1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    closed = true;
  } catch (error) {
    // A reset is a close too; a read cut short by our own timer is not.
    closed = error instanceof Deno.errors.ConnectionReset;
    if (!closed) {
      throw new Error(
        `the broker did not close the connection within ${timeoutMs} ms`,
        { cause: error },
      );
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  assert.ok(closed);
  return new Uint8Array(Buffer.concat(chunks));
}

Deno.test("mqtt.js 3.1.1 and 5 clients exchange QoS 0 and 1 messages over TCP", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const v4 = await client(broker.url, 4);
  const v5 = await client(broker.url, 5);
  await v4.subscribeAsync("to/v4", { qos: 1 });
  await v5.subscribeAsync("to/v5/#", { qos: 1 });
  await v5.publishAsync("to/v4", "hi from 5, qos 0");
  await v5.publishAsync("to/v4", "hi from 5, qos 1", { qos: 1 });
  await v4.publishAsync("to/v5/a", "hi from 4, qos 0");
  await v4.publishAsync("to/v5/b", "hi from 4, qos 1", { qos: 1 });
  await waitFor(
    "four messages",
    () => v4.received.length + v5.received.length >= 4,
  );
  assert.deepEqual(v4.received, [["to/v4", "hi from 5, qos 0", 0, false], [
    "to/v4",
    "hi from 5, qos 1",
    1,
    false,
  ]]);
  assert.deepEqual(v5.received, [["to/v5/a", "hi from 4, qos 0", 0, false], [
    "to/v5/b",
    "hi from 4, qos 1",
    1,
    false,
  ]]);
  await v4.endAsync();
  await v5.endAsync();
});

Deno.test("an MQTT 3.1 (MQIsdp) client talks to an MQTT 5 client", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const v3 = await client(broker.url, 3);
  const v5 = await client(broker.url, 5);
  await v3.subscribeAsync("old", { qos: 1 });
  await v5.publishAsync("old", "hello 3.1", { qos: 1 });
  await waitFor("the message", () => v3.received.length >= 1);
  assert.deepEqual(v3.received, [["old", "hello 3.1", 1, false]]);
  await v3.endAsync();
  await v5.endAsync();
});

Deno.test("a retained message reaches later subscribers across 3.1.1 and 5", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const v4 = await client(broker.url, 4);
  await v4.publishAsync("tank/setpoint", "25", { qos: 1, retain: true });
  const v5 = await client(broker.url, 5);
  await v5.publishAsync("tank/mode", "auto", { qos: 1, retain: true });
  await v5.subscribeAsync("tank/setpoint", { qos: 1 });
  await v4.subscribeAsync("tank/mode", { qos: 0 });
  await waitFor(
    "both retained messages",
    () => v4.received.length + v5.received.length >= 2,
  );
  assert.deepEqual(v5.received, [["tank/setpoint", "25", 1, true]]);
  assert.deepEqual(v4.received, [["tank/mode", "auto", 0, true]]);
  await v4.endAsync();
  await v5.endAsync();
});

Deno.test("an MQTT 5 client's will: published when its socket dies or on DISCONNECT 0x04, not on a normal one", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const watcher = await client(broker.url, 4);
  await watcher.subscribeAsync("will/#", { qos: 1 });
  const will = (name: string) => ({
    will: {
      topic: `will/${name}`,
      payload: Buffer.from(`${name} gone`),
      qos: 1 as const,
      retain: false,
    },
  });

  const destroyed = await client(broker.url, 5, will("destroyed"));
  const withWill = await client(broker.url, 5, will("reason-4"));
  const polite = await client(broker.url, 5, will("polite"));
  destroyed.stream.destroy();
  withWill.end(false, { reasonCode: 0x04 });
  await polite.endAsync();
  await waitFor("two wills", () => watcher.received.length >= 2);
  await watcher.publishAsync("will/sentinel", "end", { qos: 1 });
  await waitFor(
    "the sentinel",
    () => watcher.received.some(([topic]) => topic === "will/sentinel"),
  );
  assert.deepEqual(watcher.received.map(([topic]) => topic).sort(), [
    "will/destroyed",
    "will/reason-4",
    "will/sentinel",
  ]);
  await watcher.endAsync();
  destroyed.end(true);
  await waitFor("clients to close", () => broker.aedes.connectedClients === 0);
});

Deno.test("MQTT 5 topic aliases chosen by mqtt.js are resolved", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const sub = await client(broker.url, 4);
  await sub.subscribeAsync("alias/#");
  const pub = await client(broker.url, 5, { autoAssignTopicAlias: true });
  for (let i = 0; i < 3; i++) {
    await pub.publishAsync("alias/long/topic/name", `m${i}`);
  }
  await waitFor("three messages", () => sub.received.length >= 3);
  assert.deepEqual(
    sub.received.map(([t, p]) => [t, p]),
    [0, 1, 2].map((i) => ["alias/long/topic/name", `m${i}`]),
  );
  await sub.endAsync();
  await pub.endAsync();
});

Deno.test("MQTT 5 enhanced authentication is refused with CONNACK 0x8C", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  await assert.rejects(
    client(broker.url, 5, {
      properties: { authenticationMethod: "SCRAM-SHA-256" },
    }),
    (error: Error & { code?: number }) => error.code === 0x8c,
  );
});

Deno.test("MQTT over WebSocket: 3.1.1 and 5 clients each get 500 quick messages from TCP peers", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  for (const protocolVersion of [4, 5] as const) {
    const ws = await client(broker.wsUrl!, protocolVersion);
    const tcp = await client(broker.url, protocolVersion === 4 ? 5 : 4);
    await ws.subscribeAsync("burst", { qos: 1 });
    await tcp.subscribeAsync("back", { qos: 1 });
    for (let i = 0; i < 500; i++) {
      tcp.publish("burst", `m${i}`, { qos: (i % 2) as 0 | 1 });
    }
    await waitFor(
      `500 messages over WebSocket (v${protocolVersion})`,
      () => ws.received.length >= 500,
      5_000,
    );
    // MQTT orders messages per QoS level only; aedes may interleave the two levels differently.
    for (const qos of [0, 1]) {
      const expected = Array.from({ length: 500 }, (_, i) => `m${i}`).filter((
        _,
        i,
      ) => i % 2 === qos);
      assert.deepEqual(
        ws.received.filter(([, , q]) => q === qos).map(([, p]) => p),
        expected,
      );
    }
    await ws.publishAsync("back", "over ws", { qos: 1 });
    await waitFor("the reply", () => tcp.received.length >= 1);
    assert.deepEqual(tcp.received, [["back", "over ws", 1, false]]);
    await ws.endAsync();
    await tcp.endAsync();
  }
});

Deno.test("a browser-style WebSocket gets the subprotocol mqtt echoed and a CONNACK", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  const socket = new WebSocket(broker.wsUrl!, ["mqtt"]);
  socket.binaryType = "arraybuffer";
  const connack = new Promise<Uint8Array>((resolve, reject) => {
    socket.onmessage = (event) => resolve(new Uint8Array(event.data));
    socket.onerror = () => reject(new Error("WebSocket failed"));
  });
  await new Promise((resolve) => socket.onopen = resolve);
  assert.equal(socket.protocol, "mqtt");
  socket.send(
    mqttPacket.generate({
      cmd: "connect",
      clientId: "browser",
      protocolVersion: 4,
    }),
  );
  assert.deepEqual(await connack, Uint8Array.of(0x20, 0x02, 0x00, 0x00));
  const closed = new Promise((resolve) => socket.onclose = resolve);
  socket.close();
  await closed;
});

Deno.test("MQTT over WebSocket accepts any path and answers plain HTTP with 426", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  const rooted = await client(`ws://127.0.0.1:${broker.wsPort}`, 4);
  await rooted.endAsync();
  const response = await fetch(`http://127.0.0.1:${broker.wsPort}/mqtt`);
  assert.equal(response.status, 426);
  await response.body?.cancel();
  const request = new Request("http://x/mqtt", {
    headers: { upgrade: "websocket", "sec-websocket-protocol": "graphql-ws" },
  });
  const refused = broker.handleWebSocket(request);
  assert.equal(refused.status, 400);
  await refused.body?.cancel();
  const noKey = broker.handleWebSocket(
    new Request("http://x/mqtt", { headers: { upgrade: "websocket" } }),
  );
  assert.equal(noKey.status, 400);
  await noKey.body?.cancel();
});

Deno.test({
  name:
    "mosquitto_pub publishes with -V mqttv5 and -V mqttv311; mosquitto_sub -V mqttv5 -C 1 receives",
  ignore: ignoreWithout(
    hasCommand("mosquitto_pub") && hasCommand("mosquitto_sub"),
    "mosquitto-clients",
  ),
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
    const watcher = await client(broker.url, 4);
    await watcher.subscribeAsync("cli/#", { qos: 1 });
    for (const version of ["mqttv5", "mqttv311"]) {
      const args = [
        "-h",
        "127.0.0.1",
        "-p",
        `${broker.port}`,
        "-V",
        version,
        "-q",
        "1",
        "-t",
        `cli/${version}`,
      ];
      const result = await run("mosquitto_pub", [
        ...args,
        "-m",
        `from ${version}`,
      ]);
      assert.ok(result.success, result.stderr);
    }
    await waitFor("both messages", () => watcher.received.length >= 2);
    assert.deepEqual(watcher.received.map(([t, p]) => [t, p]).sort(), [
      ["cli/mqttv311", "from mqttv311"],
      ["cli/mqttv5", "from mqttv5"],
    ]);

    const subscribing = run("mosquitto_sub", [
      ...[
        "-h",
        "127.0.0.1",
        "-p",
        `${broker.port}`,
        "-V",
        "mqttv5",
        "-t",
        "cli/sub",
        "-C",
        "1",
        "-W",
        "5",
      ],
    ]);
    let done = false;
    subscribing.finally(() => done = true);
    // mosquitto_sub says nothing once subscribed, so publish until it has received one message and exited.
    while (!done) {
      await watcher.publishAsync("cli/sub", "for mosquitto_sub");
      await delay(50);
    }
    const result = await subscribing;
    assert.ok(result.success, result.stderr);
    assert.equal(result.stdout.trim(), "for mosquitto_sub");
    await watcher.endAsync();
  },
});

const pahoScript = `
import sys
import paho.mqtt.client as mqtt

def on_connect(client, userdata, flags, reason, properties):
    if reason != 0:
        sys.exit("refused: %s" % reason)
    client.subscribe("paho/in", qos=1)

def on_subscribe(client, userdata, mid, reasons, properties):
    client.publish("paho/out", "hello from paho", qos=1)

def on_message(client, userdata, message):
    print("%s %s" % (message.topic, message.payload.decode()), flush=True)
    client.disconnect()

client = mqtt.Client(client_id="paho-5", protocol=mqtt.MQTTv5)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect("127.0.0.1", int(sys.argv[1]))
client.loop_forever()
`;

Deno.test({
  name: "Python paho 1.6 with MQTTv5 connects, subscribes and publishes",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
    const peer = await client(broker.url, 4);
    peer.on(
      "message",
      (topic) =>
        topic === "paho/out" &&
        peer.publish("paho/in", "hello from mqtt.js", { qos: 1 }),
    );
    await peer.subscribeAsync("paho/out", { qos: 1 });
    const result = await run("/usr/bin/python3", [
      "-c",
      pahoScript,
      `${broker.port}`,
    ], 10_000);
    assert.ok(result.success, result.stderr);
    assert.equal(result.stdout.trim(), "paho/in hello from mqtt.js");
    assert.deepEqual(peer.received.map(([t, p]) => [t, p]), [[
      "paho/out",
      "hello from paho",
    ]]);
    await peer.endAsync();
  },
});

Deno.test("garbage, an oversized CONNECT, a bad protocol level and a silent client are dropped; the broker goes on", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    maxConnectPacket: 1024,
    connectTimeout: 200,
    onEvent: (event) => events.push(event),
  });
  assert.deepEqual(
    await rawExchange(
      broker.port,
      new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
    ),
    new Uint8Array(),
  );
  // The header claims 268 MB; the broker must not wait for them.
  assert.deepEqual(
    await rawExchange(broker.port, Uint8Array.of(0x10, 0xff, 0xff, 0xff, 0x7f)),
    new Uint8Array(),
  );
  const big = mqttPacket.generate({
    cmd: "connect",
    clientId: "x".repeat(2000),
    protocolVersion: 4,
  });
  assert.deepEqual(
    await rawExchange(broker.port, big.subarray(0, 100)),
    new Uint8Array(),
  );
  const level6 = mqttPacket.generate({
    cmd: "connect",
    clientId: "c",
    protocolVersion: 4,
  });
  level6[8] = 6; // the protocol level byte, after 0x10, length, 0x00 0x04 "MQTT"
  assert.deepEqual(
    await rawExchange(broker.port, level6),
    Uint8Array.of(0x20, 0x02, 0x00, 0x01),
  );
  assert.deepEqual(
    await rawExchange(broker.port, new Uint8Array()),
    new Uint8Array(),
  );

  const ok = await client(broker.url, 5);
  await ok.subscribeAsync("still/here");
  await ok.publishAsync("still/here", "yes");
  await waitFor("the message", () => ok.received.length === 1);
  await ok.endAsync();
  const refusals = events.flatMap((e) =>
    e.type === "error" && e.clientId === null ? [e.message] : []
  );
  assert.equal(refusals.length, 5, refusals.join("; "));
  assert.match(
    refusals.join("\n"),
    /expected a CONNECT packet.*\n.*larger than 1024[^]*protocol version[^]*no CONNECT within 200 ms/,
  );
});

Deno.test("events report connects (protocol, transport), disconnects, and survive a throwing handler", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: 0,
    onEvent: (event) => {
      events.push(event);
      throw new Error("a logging bug must not take the broker down");
    },
  });
  const originalError = console.error;
  console.error = () => {};
  try {
    const viaWs = await client(broker.wsUrl!, 5, { clientId: "ws-5" });
    const viaTcp = await client(broker.url, 4, { clientId: "tcp-4" });
    await viaWs.endAsync();
    await viaTcp.endAsync();
    await waitFor(
      "two disconnects",
      () => events.filter((e) => e.type === "disconnect").length === 2,
    );
  } finally {
    console.error = originalError;
  }
  const connects = events.flatMap((e) =>
    e.type === "connect" ? [[e.clientId, e.protocol, e.transport]] : []
  );
  assert.deepEqual(connects, [["ws-5", "5", "ws"], ["tcp-4", "3.1.1", "tcp"]]);
  const connect = events.find((e) => e.type === "connect");
  assert.match(
    connect?.type === "connect" ? connect.remoteAddress : "",
    /^127\.0\.0\.1:\d+$/,
  );
});

Deno.test("close() ends every client connection and both listeners promptly", async () => {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  const clients = [
    await client(broker.url, 4),
    await client(broker.url, 5),
    await client(broker.wsUrl!, 5),
  ];
  let closed = 0;
  for (const c of clients) c.on("close", () => closed++);
  const started = Date.now();
  await broker.close();
  await waitFor(
    "clients to see the close",
    () => closed === clients.length,
    2_000,
  );
  assert.ok(Date.now() - started < 2_000);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: broker.port }),
  );
  await broker.close(); // again: no-op
  for (const c of clients) c.end(true);
});

Deno.test("port 0 picks distinct free ports; a taken port is a clear BrokerError", async () => {
  await using a = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  await using b = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  const ports = new Set([a.port, a.wsPort, b.port, b.wsPort]);
  assert.equal(ports.size, 4);
  assert.equal(a.url, `mqtt://127.0.0.1:${a.port}`);
  assert.equal(a.wsUrl, `ws://127.0.0.1:${a.wsPort}/mqtt`);
  await assert.rejects(
    EmbeddedBroker.start({ port: a.port, wsPort: false }),
    (error) => {
      assert.ok(error instanceof BrokerError);
      assert.equal(
        error.message,
        `Port ${a.port} is already in use: pass --port 0 for a free one or stop the other broker`,
      );
      return true;
    },
  );
  await assert.rejects(
    EmbeddedBroker.start({ port: 0, wsPort: a.wsPort }),
    new RegExp(
      `^BrokerError: Port ${a.wsPort} is already in use: pass --ws-port 0`,
    ),
  );
});

Deno.test("a packet header claiming 232 MB after CONNECT is cut off at once on 14 connections; memory stays flat", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    onEvent: (event) => events.push(event),
  });
  const connect = mqttPacket.generate({
    cmd: "connect",
    clientId: "",
    protocolVersion: 4,
    clean: true,
  });
  // PUBLISH, remaining length 232,000,000 (four length bytes).
  const claim = Uint8Array.of(0x30, 0x80, 0xc6, 0xd0, 0x6e);
  const before = Deno.memoryUsage().rss;
  const chunk = new Uint8Array(1024 * 1024);
  const sent = await Promise.all(
    Array.from({ length: 14 }, async (_, n) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: broker.port,
      });
      let bytes = 0;
      try {
        await conn.write(new Uint8Array(connect));
        const connack = new Uint8Array(4);
        assert.equal(await conn.read(connack), 4, `connection ${n}: CONNACK`);
        await conn.write(claim);
        // Up to 100 MB, as the attack did; the broker should close long before.
        for (let i = 0; i < 100; i++) {
          await conn.write(chunk);
          bytes += chunk.length;
        }
      } catch {
        // Reset or broken pipe: what we expect.
      } finally {
        conn.close();
      }
      return bytes;
    }),
  );
  const grown = (Deno.memoryUsage().rss - before) / 1e6;
  assert.ok(
    sent.every((bytes) => bytes < 100 * chunk.length),
    `every connection was cut off before its 100 MB (sent ${
      sent.map((b) => b / 1e6).join(", ")
    } MB)`,
  );
  assert.ok(grown < 64, `the broker's memory grew by ${grown.toFixed(0)} MB`);
  await waitFor(
    "14 reports",
    () =>
      events.filter((e) =>
        e.type === "error" && /larger than 65536 bytes/.test(e.message)
      ).length === 14,
  );
  const ok = await client(broker.url, 4);
  await ok.subscribeAsync("still/here");
  await ok.publishAsync("still/here", "yes");
  await waitFor("the message", () => ok.received.length === 1);
  await ok.endAsync();
});

Deno.test("connections over the per-address cap are closed at once; closing one makes room again", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    maxConnectionsPerAddress: 3,
    onEvent: (event) => events.push(event),
  });
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await client(broker.url, 4));
  // The fourth is closed before its CONNECT gets an answer.
  const connect = mqttPacket.generate({
    cmd: "connect",
    clientId: "fourth",
    protocolVersion: 4,
  });
  assert.deepEqual(
    await rawExchange(broker.port, new Uint8Array(connect)),
    new Uint8Array(),
  );
  assert.ok(
    events.some((e) =>
      e.type === "error" &&
      e.message === "refused: already 3 connections from 127.0.0.1"
    ),
  );
  await clients.pop()!.endAsync();
  await waitFor(
    "a free slot",
    () => events.filter((e) => e.type === "disconnect").length === 1,
  );
  await delay(50);
  const again = await client(broker.url, 4);
  await again.endAsync();
  for (const c of clients) await c.endAsync();
});
