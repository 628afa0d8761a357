/**
 * The MQTT rules the embedded broker keeps beyond aedes (`_mqtt_rules.ts`, `_session_bounds.ts`), each checked with
 * real clients against the embedded broker and against Debian's mosquitto, which passes the same checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import {
  hasCommand,
  hasPaho,
  ignoreWithout,
  startMosquitto,
} from "../../tests/_peers.ts";
import { EmbeddedBroker } from "./broker.ts";
import { freePort, run, waitFor } from "../../lib/testing.ts";

/** A broker under test: the embedded one or mosquitto, with MQTT over TCP and over WebSocket. */
interface Target extends AsyncDisposable {
  name: "embedded" | "mosquitto";
  url: string;
  wsUrl: string;
  port: number;
  /** Resolves once an offline persistent session exists for `clientId`, when the broker can tell. */
  offline(clientId: string): Promise<void>;
}

async function embedded(): Promise<Target> {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  return {
    name: "embedded",
    url: broker.url,
    wsUrl: broker.wsUrl!,
    port: broker.port,
    offline: () =>
      waitFor(
        "the session to go offline",
        () => broker.sessionStats().offline > 0,
      ),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}

async function mosquitto(): Promise<Target> {
  const wsPort = freePort();
  const broker = await startMosquitto({
    config:
      `allow_anonymous true\nlistener ${wsPort} 127.0.0.1\nprotocol websockets\n`,
  });
  return {
    name: "mosquitto",
    url: broker.url,
    wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`,
    port: broker.port,
    // mosquitto cannot be asked; its client's DISCONNECT is handled before the next publish from the test arrives.
    offline: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => broker.stop(),
  };
}

const TARGETS = [embedded, mosquitto];
const hasMosquittoClients = hasCommand("mosquitto_sub") &&
  hasCommand("mosquitto_pub");
const hasMosquitto = hasCommand("mosquitto", ["-h"]);

type Received = { topic: string; payload: string; qos: number };

/** An MQTT.js client that records what it receives from its first packet on (listeners set before CONNECT). */
async function client(
  url: string,
  protocolVersion: 4 | 5,
  options: mqtt.IClientOptions = {},
) {
  const c = mqtt.connect(url, {
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    keepalive: 4,
    ...options,
  });
  const received: Received[] = [];
  c.on("message", (topic, payload, packet) => {
    received.push({ topic, payload: String(payload), qos: packet.qos });
  });
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
    c.once("close", () => reject(new Error(`cannot connect to ${url}`)));
  });
  return Object.assign(c, { received });
}

/** Publishes `topic` at QoS 2 every 50 ms until `done` settles (a subscriber that gives no sign of being ready). */
async function publishUntil(
  url: string,
  topic: string,
  done: Promise<unknown>,
  timeoutMs = 5_000,
): Promise<void> {
  const publisher = await client(url, 4);
  let settled = false;
  done.finally(() => settled = true);
  const deadline = Date.now() + timeoutMs;
  try {
    while (!settled && Date.now() < deadline) {
      await publisher.publishAsync(topic, "x", { qos: 2 });
      await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
    }
  } finally {
    await publisher.endAsync(true);
  }
}

for (const target of TARGETS) {
  const name = target.name;
  const ignore = ignoreWithout(hasMosquitto, "mosquitto");

  Deno.test({
    name:
      `${name}: a QoS 2 publish reaches a QoS 1 wildcard subscription at QoS 1 (mosquitto_sub 3.1.1 and 5) [MQTT-3.8.4-6]`,
    ignore: ignore || ignoreWithout(hasMosquittoClients, "mosquitto-clients"),
    async fn() {
      await using broker = await target();
      for (const version of ["mqttv311", "mqttv5"]) {
        const topic = `wq${version}/a`;
        const subscriber = run("mosquitto_sub", [
          ...["-h", "127.0.0.1", "-p", String(broker.port), "-V", version],
          ...["-t", `wq${version}/+`, "-q", "1", "-C", "1", "-W", "5"],
          ...["-F", "%q %t"],
        ], 6_000);
        await publishUntil(broker.url, topic, subscriber);
        const result = await subscriber;
        assert.equal(result.stdout.trim(), `1 ${topic}`, result.stderr);
      }
    },
  });

  Deno.test({
    name:
      `${name}: a QoS 2 publish reaches a QoS 1 wildcard subscription at QoS 1 (MQTT.js 3.1.1 and 5 over TCP, 3.1.1 over WebSocket)`,
    ignore,
    async fn() {
      await using broker = await target();
      const subscribers = [
        await client(broker.url, 4),
        await client(broker.url, 5),
        await client(broker.wsUrl, 4),
      ];
      for (const s of subscribers) {
        await s.subscribeAsync("wq/+", { qos: 1 });
        await s.subscribeAsync("wq/exact", { qos: 1 });
      }
      const publisher = await client(broker.url, 5);
      await publisher.publishAsync("wq/a", "two", { qos: 2 });
      await publisher.publishAsync("wq/exact", "exact", { qos: 2 });
      await publisher.publishAsync("wq/b", "one", { qos: 1 });
      await publisher.publishAsync("wq/c", "zero", { qos: 0 });
      for (const s of subscribers) {
        // Delivered in publish order: once the last is in, so is every other.
        await waitFor(
          "the last message",
          () => s.received.some((m) => m.payload === "zero"),
        );
        // wq/exact matches both filters: one copy to 3.1.1 clients, mosquitto sends MQTT 5 clients one per filter.
        assert.deepEqual(
          s.received.filter((m) => m.topic !== "wq/exact").map((m) =>
            `${m.payload} ${m.qos}`
          ),
          ["two 1", "one 1", "zero 0"],
        );
        assert.ok(s.received.every((m) => m.qos <= 1));
        await s.endAsync(true);
      }
      await publisher.endAsync(true);
    },
  });

  Deno.test({
    name:
      `${name}: overlapping subscriptions never raise a message above the highest QoS they grant (MQTT.js 3.1.1 and 5, clean and persistent)`,
    ignore,
    async fn() {
      await using broker = await target();
      for (
        const [version, clean] of [[4, true], [5, true], [4, false]] as const
      ) {
        // A persistent session too: its copy is queued until acknowledged.
        const s = await client(broker.url, version, {
          clean,
          clientId: `overlap-${version}-${clean}`,
        });
        // Both wildcards: a subscription to the exact topic would win with its own QoS (aedes's rule).
        await s.subscribeAsync("ov/#", { qos: 0 });
        await s.subscribeAsync("ov/+", { qos: 1 });
        await s.subscribeAsync("ov-end", { qos: 1 });
        const publisher = await client(broker.url, 4);
        await publisher.publishAsync("ov/a", "x", { qos: 2 });
        // Delivered in order behind the first: once it is in, every copy of the first is.
        await publisher.publishAsync("ov-end", "end", { qos: 1 });
        await waitFor("the end marker", () => s.received.length >= 2);
        const copies = s.received.filter((m) => m.topic === "ov/a");
        assert.ok(copies.length >= 1, `MQTT ${version}, clean ${clean}`);
        assert.ok(copies.every((m) => m.qos <= 1), JSON.stringify(copies));
        if (name === "embedded") {
          // One copy, at the highest QoS granted.
          assert.deepEqual(copies.map((m) => m.qos), [1]);
        }
        await s.endAsync(true);
        await publisher.endAsync(true);
      }
    },
  });

  Deno.test({
    name:
      `${name}: messages queued for an offline QoS 1 session come back in publish order at QoS 1 (MQTT.js 3.1.1 and 5)`,
    ignore,
    async fn() {
      await using broker = await target();
      for (const version of [4, 5] as const) {
        const clientId = `offline-mqttjs-${version}`;
        const session = {
          clean: false,
          clientId,
          ...(version === 5
            ? { properties: { sessionExpiryInterval: 60 } }
            : {}),
        };
        const first = await client(broker.url, version, session);
        await first.subscribeAsync("oq/+", { qos: 1 });
        await first.endAsync();
        await broker.offline(clientId);
        const publisher = await client(broker.url, 4);
        const sent: string[] = [];
        for (let i = 0; i < 8; i++) {
          sent.push(`m${i}`);
          await publisher.publishAsync("oq/a", `m${i}`, {
            qos: i % 2 === 0 ? 2 : 1,
          });
        }
        await publisher.endAsync(true);
        const back = await client(broker.url, version, session);
        await waitFor("eight messages", () => back.received.length >= 8);
        assert.deepEqual(back.received.map((m) => m.payload), sent);
        assert.deepEqual(back.received.map((m) => m.qos), sent.map(() => 1));
        await back.endAsync(true);
      }
    },
  });

  Deno.test({
    name:
      `${name}: messages queued for an offline QoS 1 session come back in publish order at QoS 1 (mosquitto_sub -c, 3.1.1 and 5)`,
    ignore: ignore || ignoreWithout(hasMosquittoClients, "mosquitto-clients"),
    async fn() {
      await using broker = await target();
      for (const version of ["mqttv311", "mqttv5"]) {
        const clientId = `offline-${version}`;
        const args = [
          ...["-h", "127.0.0.1", "-p", String(broker.port), "-V", version],
          ...["-c", "-i", clientId, "-t", `oq${version}/+`, "-q", "1"],
          ...(version === "mqttv5" ? ["-x", "60"] : []),
        ];
        // -E: subscribe and leave, the session stays.
        const subscribed = await run("mosquitto_sub", [...args, "-E"]);
        assert.ok(subscribed.success, subscribed.stderr);
        await broker.offline(clientId);
        const publisher = await client(broker.url, 4);
        const sent: string[] = [];
        for (let i = 0; i < 6; i++) {
          sent.push(`m${i}`);
          await publisher.publishAsync(`oq${version}/a`, `m${i}`, {
            qos: i % 2 === 0 ? 2 : 1,
          });
        }
        await publisher.endAsync(true);
        const back = await run("mosquitto_sub", [
          ...args,
          ...["-C", "6", "-W", "5", "-F", "%q %p"],
        ], 6_000);
        assert.deepEqual(
          back.stdout.trim().split("\n"),
          sent.map((p) => `1 ${p}`),
          back.stderr,
        );
      }
    },
  });

  Deno.test({
    name:
      `${name}: messages queued for an offline QoS 1 session come back in publish order at QoS 1 (paho 1.6)`,
    ignore: ignore || ignoreWithout(hasPaho(), "python3-paho-mqtt"),
    async fn() {
      await using broker = await target();
      const script = (phase: "subscribe" | "collect") => `
import sys, time, paho.mqtt.client as mqtt
c = mqtt.Client(client_id="offline-paho", clean_session=False)
got = []
def on_connect(c, u, flags, rc):
    if rc != 0: sys.exit("CONNACK %d" % rc)
    if "${phase}" == "subscribe": c.subscribe("oqpaho/+", qos=1)
def on_subscribe(c, u, mid, granted): c.disconnect()
def on_message(c, u, m):
    got.append("%d %s" % (m.qos, m.payload.decode()))
    if len(got) == 6: c.disconnect()
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("127.0.0.1", ${broker.port})
deadline = time.time() + 5
while time.time() < deadline and c.loop(0.05) == 0: pass
print("\\n".join(got))
`;
      const subscribed = await run("/usr/bin/python3", [
        "-c",
        script("subscribe"),
      ]);
      assert.ok(subscribed.success, subscribed.stderr);
      await broker.offline("offline-paho");
      const publisher = await client(broker.url, 5);
      const sent: string[] = [];
      for (let i = 0; i < 6; i++) {
        sent.push(`m${i}`);
        await publisher.publishAsync("oqpaho/a", `m${i}`, {
          qos: i % 2 === 0 ? 2 : 1,
        });
      }
      await publisher.endAsync(true);
      const back = await run(
        "/usr/bin/python3",
        ["-c", script("collect")],
        6_000,
      );
      assert.deepEqual(
        back.stdout.trim().split("\n"),
        sent.map((p) => `1 ${p}`),
        back.stderr,
      );
    },
  });

  Deno.test({
    name:
      `${name}: an MQTT 3.1.1 CONNECT with an empty client id and clean session 0 gets CONNACK 2, over TCP and WebSocket [MQTT-3.1.3-8]`,
    ignore,
    async fn() {
      await using broker = await target();
      const connect = (clean: boolean) => _connect311(clean);
      // MQTT.js, paho and mosquitto_sub all refuse to send this CONNECT, so it goes out as bytes.
      assert.deepEqual(
        await tcpConnack(broker.port, connect(false)),
        { returnCode: 2, sessionPresent: false },
      );
      assert.deepEqual(
        await wsConnack(broker.wsUrl, connect(false)),
        { returnCode: 2, sessionPresent: false },
      );
      // Clean session 1 is fine: the broker assigns an id.
      assert.deepEqual(
        await tcpConnack(broker.port, connect(true)),
        { returnCode: 0, sessionPresent: false },
      );
      assert.deepEqual(
        await wsConnack(broker.wsUrl, connect(true)),
        { returnCode: 0, sessionPresent: false },
      );
    },
  });

  Deno.test({
    name:
      `${name}: an empty client id with a clean session is accepted (MQTT.js 3.1.1 and 5, mosquitto_pub 3.1.1)`,
    ignore: ignore || ignoreWithout(hasMosquittoClients, "mosquitto-clients"),
    async fn() {
      await using broker = await target();
      for (const version of [4, 5] as const) {
        const c = await client(broker.url, version, {
          clientId: "",
          clean: true,
        });
        await c.publishAsync("empty/id", "x", { qos: 1 });
        await c.endAsync(true);
      }
      // Without -i, mosquitto_pub sends an empty client id and asks for a clean session.
      const published = await run("mosquitto_pub", [
        ...["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv311"],
        ...["-t", "empty/id", "-m", "x", "-q", "1"],
      ]);
      assert.ok(published.success, published.stderr);
    },
  });
}

Deno.test({
  name:
    "MQTT 5 clients with an empty client id and clean start 0 are given an id (MQTT 5 allows it, unlike 3.1.1)",
  ignore: ignoreWithout(hasMosquitto, "mosquitto"),
  async fn() {
    for (const target of TARGETS) {
      await using broker = await target();
      const connect = _connect5WithoutId();
      const connack = await tcpConnack(broker.port, connect, 5);
      assert.equal(connack.reasonCode ?? 0, 0, broker.name);
      assert.ok(
        connack.properties?.assignedClientIdentifier,
        `${broker.name}: ${JSON.stringify(connack)}`,
      );
    }
  },
});

/**
 * An MQTT 3.1.1 CONNECT with an empty client id, written out by hand: mqtt-packet (like MQTT.js, paho and
 * mosquitto_sub) refuses to make one with clean session 0.
 */
function _connect311(clean: boolean): Uint8Array {
  const flags = clean ? 0x02 : 0x00;
  // protocol name, level 4, flags, keep alive 10 s; payload: a client id of length 0
  return Uint8Array.of(
    ...[0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 10, 0, 0],
  );
}

/** An MQTT 5 CONNECT with an empty client id, clean start 0 and a session expiry interval of 60 s. */
function _connect5WithoutId(): Uint8Array {
  return Uint8Array.of(
    ...[0x10, 18, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x00, 0, 10],
    ...[5, 0x11, 0, 0, 0, 60, 0, 0],
  );
}

type Connack = {
  returnCode?: number;
  reasonCode?: number;
  sessionPresent: boolean;
  properties?: { assignedClientIdentifier?: string };
};

/** Sends a CONNECT over TCP and returns the CONNACK (bounded by `timeoutMs`). */
async function tcpConnack(
  port: number,
  connect: Uint8Array,
  protocolVersion: 4 | 5 = 4,
  timeoutMs = 3_000,
): Promise<Connack> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(connect);
    const parser = mqttPacket.parser({ protocolVersion });
    let connack: Connack | null = null;
    parser.on("packet", (p) => {
      if (p.cmd === "connack") connack ??= p as unknown as Connack;
    });
    const buffer = new Uint8Array(1024);
    while (connack === null) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("closed without a CONNACK");
      parser.parse(Buffer.from(buffer.subarray(0, n)));
    }
    return _connack(connack);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Sends a CONNECT over WebSocket (subprotocol `mqtt`) and returns the CONNACK. */
async function wsConnack(
  url: string,
  connect: Uint8Array,
  timeoutMs = 3_000,
): Promise<Connack> {
  const socket = new WebSocket(url, "mqtt");
  socket.binaryType = "arraybuffer";
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  try {
    return await new Promise<Connack>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("no CONNACK over WebSocket")),
        timeoutMs,
      );
      parser.on("packet", (p) => {
        if (p.cmd !== "connack") return;
        clearTimeout(timer);
        resolve(_connack(p as unknown as Connack));
      });
      socket.onopen = () => socket.send(connect);
      socket.onmessage = (event) =>
        parser.parse(Buffer.from(event.data as ArrayBuffer));
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket error on ${url}`));
      };
    });
  } finally {
    socket.close();
    await new Promise((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) resolve(null);
      else socket.addEventListener("close", resolve, { once: true });
    });
  }
}

function _connack(p: Connack): Connack {
  return {
    ...(p.returnCode !== undefined ? { returnCode: p.returnCode } : {}),
    ...(p.reasonCode !== undefined ? { reasonCode: p.reasonCode } : {}),
    sessionPresent: p.sessionPresent,
    ...(p.properties ? { properties: p.properties } : {}),
  };
}

Deno.test("hooks set on aedes after start run inside the rules, which they cannot replace", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const forwarded: number[] = [];
  const authenticated: string[] = [];
  // As the lockstep harness and the live ACL do.
  broker.aedes.authorizeForward = (_client, packet) => {
    forwarded.push(packet.qos);
    return packet;
  };
  broker.aedes.authenticate = (client, _username, _password, callback) => {
    authenticated.push(client.id);
    callback(null, true);
  };
  const s = await client(broker.url, 4, { clientId: "hooked" });
  await s.subscribeAsync("hk/+", { qos: 1 });
  const publisher = await client(broker.url, 4, { clientId: "publisher" });
  await publisher.publishAsync("hk/a", "x", { qos: 2 });
  await waitFor("the message", () => s.received.length === 1);
  assert.deepEqual(s.received.map((m) => m.qos), [1]);
  assert.deepEqual(forwarded, [1]);
  assert.deepEqual(
    await tcpConnack(broker.port, _connect311(false)),
    { returnCode: 2, sessionPresent: false },
  );
  assert.deepEqual(authenticated, ["hooked", "publisher"]);
  await s.endAsync(true);
  await publisher.endAsync(true);
});
