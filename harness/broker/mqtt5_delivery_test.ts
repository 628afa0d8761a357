/**
 * MQTT 5 delivery rules the bridge keeps beside aedes, end to end with MQTT.js 5 through the embedded broker:
 * subscription identifiers, reason codes on SUBACK/PUBACK/PUBREC, the client's Receive Maximum, will properties and
 * a session expiry set by DISCONNECT. (`tests/mqtt_conformance_test.ts` runs the same rules against mosquitto too.)
 *
 * @module
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { EmbeddedBroker } from "./broker.ts";
import { waitFor } from "../../lib/testing.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

/** An MQTT 5 MQTT.js client, connected; closed when the stack is disposed. */
async function client(
  stack: AsyncDisposableStack,
  url: string,
  extra: mqtt.IClientOptions = {},
): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...extra,
  });
  stack.defer(() => c.endAsync(true));
  return c;
}

/** The packets `c` receives, in order. */
function collect(c: mqtt.MqttClient): IPublishPacket[] {
  const packets: IPublishPacket[] = [];
  c.on("message", (_topic, _payload, packet) => packets.push(packet));
  return packets;
}

Deno.test({
  name:
    "subscription identifiers: a PUBLISH carries the ids of every matching subscription, none for one without",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    await using stack = new AsyncDisposableStack();
    const sub = await client(stack, broker.url);
    const pub = await client(stack, broker.url);
    const got = collect(sub);
    await sub.subscribeAsync("sid/#", {
      qos: 1,
      properties: { subscriptionIdentifier: 7 },
    });
    await sub.subscribeAsync("sid/+", {
      qos: 1,
      properties: { subscriptionIdentifier: 9 },
    });
    await sub.subscribeAsync("plain/+", { qos: 1 });
    await pub.publishAsync("sid/a", "both", { qos: 1 });
    await pub.publishAsync("plain/a", "none", { qos: 1 });
    await waitFor("two messages", () => got.length >= 2);
    const ids = (payload: string) => {
      const value = got.find((p) => String(p.payload) === payload)?.properties
        ?.subscriptionIdentifier;
      return value === undefined ? [] : [value].flat().sort();
    };
    assert.deepEqual(ids("both"), [7, 9]);
    assert.deepEqual(ids("none"), []);
  },
});

Deno.test({
  name:
    "reason codes: SUBACK 0x87 for a refused filter, PUBACK 0x87 for a refused publish, PUBACK 0x10 with no subscribers",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    // Refusals the way the access rules (`acl.ts`, the lockstep harness) make them: a publish goes on to
    // "$fishtank/refused", a subscription gets no grant.
    broker.aedes.authorizePublish = (client, packet, callback) => {
      if (client !== null && packet.topic.startsWith("secret/")) {
        packet.topic = "$fishtank/refused";
      }
      callback(null);
    };
    broker.aedes.authorizeSubscribe = (_client, subscription, callback) =>
      callback(
        null,
        subscription.topic.startsWith("secret/") ? null : subscription,
      );
    await using stack = new AsyncDisposableStack();
    const c = await client(stack, broker.url);
    // MQTT.js rejects a SUBACK with a failure in it, and keeps the packet on the error.
    const granted = await c.subscribeAsync(["open/x", "secret/x"], { qos: 1 })
      .catch((e: { packet?: { granted: number[] } }) =>
        (e.packet?.granted ?? []).map((qos) => ({ qos }))
      );
    assert.deepEqual(granted.map((g) => g.qos), [1, 0x87]);
    /** The reason code of the last PUBACK or PUBREC (MQTT.js resolves with the packet it sent). */
    let last = -1;
    c.on("packetreceive", (packet) => {
      if (packet.cmd === "puback" || packet.cmd === "pubrec") {
        last = packet.reasonCode ?? 0;
      }
    });
    const reason = async (topic: string, qos: 1 | 2) => {
      last = -1;
      await c.publishAsync(topic, "x", { qos }).catch(() => {});
      return last;
    };
    assert.equal(await reason("secret/x", 1), 0x87);
    assert.equal(await reason("secret/x", 2), 0x87);
    assert.equal(await reason("nobody/here", 1), 0x10);
    assert.equal(await reason("open/x", 1), 0);
    // mosquitto routes a QoS 2 message at PUBREL, after PUBREC: no 0x10 there.
    assert.equal(await reason("nobody/here", 2), 0);
  },
});

Deno.test({
  name:
    "Receive Maximum: no more than the client's limit of QoS 1/2 PUBLISHes unacknowledged; the rest follow in order",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    await using stack = new AsyncDisposableStack();
    const pub = await client(stack, broker.url);
    // By hand: MQTT.js reads no further packet while one waits for its acknowledgement.
    const sub = await RawClient.connect(broker.url, { receiveMaximum: 2 });
    stack.defer(() => sub.close());
    await sub.send({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: [{ topic: "rm/t", qos: 1 }],
    });
    await sub.next("suback");
    const sent = Array.from({ length: 6 }, (_, i) => `m${i}`);
    for (const m of sent) await pub.publishAsync("rm/t", m, { qos: 1 });
    const arrived = [await sub.next("publish"), await sub.next("publish")];
    // Every publish was acknowledged to the publisher, so the broker has sent the rest to the bridge: a ping answered
    // after them proves nothing more came through.
    await sub.send({ cmd: "pingreq" });
    await sub.next("pingresp");
    assert.deepEqual(sub.pending("publish"), 0);
    // Each PUBACK makes room for exactly one more.
    for (let acked = 0; arrived.length < sent.length; acked++) {
      await sub.send({ cmd: "puback", messageId: arrived[acked]!.messageId });
      arrived.push(await sub.next("publish"));
      await sub.send({ cmd: "pingreq" });
      await sub.next("pingresp");
      assert.deepEqual(sub.pending("publish"), 0);
    }
    assert.deepEqual(arrived.map((p) => String(p.payload)), sent);
  },
});

/** A packet a {@linkcode RawClient} took, with what the tests read of it. */
type _Got = Packet & { messageId?: number; payload?: unknown };

/** A bare MQTT 5 connection, for what no client library lets a test do. */
class RawClient {
  readonly #conn: Deno.TcpConn;
  readonly #packets: Packet[] = [];
  #wake: (() => void) | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on("packet", (p) => {
      this.#packets.push(p);
      this.#wake?.();
    });
    (async () => {
      for await (const chunk of conn.readable) parser.parse(Buffer.from(chunk));
    })().catch(() => {});
  }

  static async connect(
    url: string,
    properties: Record<string, number>,
  ): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    const raw = new RawClient(
      await Deno.connect({ hostname, port: Number(port) }),
    );
    await raw.send({
      cmd: "connect",
      protocolVersion: 5,
      clientId: `raw-${crypto.randomUUID().slice(0, 8)}`,
      properties,
    });
    await raw.next("connack");
    return raw;
  }

  async send(packet: Packet): Promise<void> {
    await this.#conn.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  }

  /** The next packet of kind `cmd` (others of that kind before it were taken already), waited for up to 5 s. */
  async next(cmd: Packet["cmd"]): Promise<_Got> {
    await waitFor(cmd.toUpperCase(), () => this.pending(cmd) > 0, 5_000);
    const i = this.#packets.findIndex((p) => p.cmd === cmd);
    return this.#packets.splice(i, 1)[0] as _Got;
  }

  /** How many packets of kind `cmd` arrived and were not taken. */
  pending(cmd: Packet["cmd"]): number {
    return this.#packets.filter((p) => p.cmd === cmd).length;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }
}

Deno.test({
  name:
    "will properties (user properties, content type, message expiry) reach an MQTT 5 subscriber, with and without will delay",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    await using stack = new AsyncDisposableStack();
    const sub = await client(stack, broker.url);
    const got = collect(sub);
    await sub.subscribeAsync("will/+", { qos: 1 });
    for (const delay of [0, 1]) {
      const dying = await mqtt.connectAsync(broker.url, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 10 },
        will: {
          topic: `will/${delay}`,
          payload: Buffer.from("gone"),
          qos: 1,
          retain: false,
          properties: {
            willDelayInterval: delay,
            userProperties: { tank: "7" },
            contentType: "text/plain",
            messageExpiryInterval: 300,
          },
        },
      });
      dying.stream.destroy();
      dying.end(true);
      await waitFor(
        `the will of delay ${delay}`,
        () => got.some((p) => p.topic === `will/${delay}`),
      );
      const will = got.find((p) => p.topic === `will/${delay}`)!;
      assert.deepEqual({ ...will.properties?.userProperties }, { tank: "7" });
      assert.equal(will.properties?.contentType, "text/plain");
      assert.ok(
        (will.properties?.messageExpiryInterval ?? 0) > 290,
        JSON.stringify(will.properties),
      );
    }
  },
});

Deno.test({
  name:
    "session expiry set by DISCONNECT: 0 ends a session CONNECT asked to keep; raised from a kept one it still holds",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    await using stack = new AsyncDisposableStack();
    const pub = await client(stack, broker.url);
    for (
      const [connectExpiry, disconnectExpiry, kept] of [[60, 0, false], [
        5,
        120,
        true,
      ]] as const
    ) {
      const clientId = `dx-${connectExpiry}-${disconnectExpiry}`;
      const away = await mqtt.connectAsync(broker.url, {
        protocolVersion: 5,
        clientId,
        reconnectPeriod: 0,
        clean: true,
        properties: { sessionExpiryInterval: connectExpiry },
      });
      await away.subscribeAsync("dx/t", { qos: 1 });
      await away.endAsync(false, {
        properties: { sessionExpiryInterval: disconnectExpiry },
      });
      await pub.publishAsync("dx/t", clientId, { qos: 1 });
      const back = mqtt.connect(broker.url, {
        protocolVersion: 5,
        clientId,
        reconnectPeriod: 0,
        clean: false,
        properties: { sessionExpiryInterval: 0 },
      });
      stack.defer(() => back.endAsync(true));
      const got = collect(back);
      const present = await new Promise<boolean>((resolve) =>
        back.once("connect", (connack) => resolve(connack.sessionPresent))
      );
      assert.equal(present, kept, clientId);
      if (kept) await waitFor("the queued message", () => got.length > 0);
    }
  },
});

Deno.test({
  name:
    "topic aliases: a client with a Topic Alias Maximum gets repeated topics as aliases and reads the right topic",
  ...options,
  async fn() {
    await using broker = await EmbeddedBroker.start({ port: 0 });
    await using stack = new AsyncDisposableStack();
    const sub = await client(stack, broker.url, {
      properties: { topicAliasMaximum: 5 },
    });
    const plain = await client(stack, broker.url);
    const pub = await client(stack, broker.url);
    const aliases: (number | undefined)[] = [];
    sub.on("packetreceive", (packet) => {
      if (packet.cmd === "publish") aliases.push(packet.properties?.topicAlias);
    });
    // The topic MQTT.js resolved (it leaves the packet's empty).
    const got: string[] = [];
    sub.on("message", (topic, payload) => got.push(`${topic}:${payload}`));
    const gotPlain = collect(plain);
    await sub.subscribeAsync("alias/+", { qos: 1 });
    await plain.subscribeAsync("alias/+", { qos: 1 });
    for (const payload of ["1", "2", "3"]) {
      await pub.publishAsync("alias/t", payload, { qos: 1 });
    }
    await waitFor(
      "three messages each",
      () => got.length >= 3 && gotPlain.length >= 3,
    );
    assert.deepEqual(got, [
      "alias/t:1",
      "alias/t:2",
      "alias/t:3",
    ]);
    assert.deepEqual(aliases, [1, 1, 1]);
    assert.ok(gotPlain.every((p) => p.properties?.topicAlias === undefined));
  },
});
