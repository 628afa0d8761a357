import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { type BrokerEvent, EmbeddedBroker } from "./broker.ts";
import { waitFor } from "../../lib/testing.ts";
import {
  hasCommand,
  ignoreWithout,
  startMosquitto,
} from "../../tests/_peers.ts";

/**
 * An MQTT 3.1.1 client on a raw socket that subscribes to `t/#` at QoS 1 and `end` at QoS 0, reads everything and
 * acknowledges nothing unless told to.
 */
async function silentClient(port: number, clientId: string, clean: boolean) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  parser.on("packet", (packet) => packets.push(packet));
  const reading = (async () => {
    const buffer = new Uint8Array(65_536);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return;
      parser.parse(Buffer.from(buffer.subarray(0, n)));
    }
  })();
  const send = (packet: Packet) =>
    conn.write(mqttPacket.generate(packet, { protocolVersion: 4 }));
  await send({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clientId,
    clean,
    keepalive: 0,
  });
  await send({
    cmd: "subscribe",
    messageId: 1,
    subscriptions: [{ topic: "t/#", qos: 1 }, { topic: "end", qos: 0 }],
  });
  await waitFor(
    "SUBACK",
    () => packets.some((p) => p.cmd === "suback"),
    10_000,
  );
  const publishes = () =>
    packets.filter((p): p is IPublishPacket =>
      p.cmd === "publish" && p.topic !== "end"
    );
  return {
    publishes,
    /** Waits for the QoS 0 sentinel number `n`: everything sent before it has arrived. */
    sentinel: (n: number) =>
      waitFor(
        `sentinel ${n}`,
        () =>
          packets.some((p) =>
            p.cmd === "publish" && p.topic === "end" && String(p.payload) ===
              String(n)
          ),
        10_000,
      ),
    ack: (messageId: number) => send({ cmd: "puback", messageId }),
    async close() {
      conn.close();
      await reading;
    },
  };
}

/** Publishes in-process, each one routed (queued, sent or dropped) before the next. */
function publish(
  broker: EmbeddedBroker,
  topic: string,
  payload: string,
  qos: 0 | 1,
): Promise<void> {
  return new Promise((resolve, reject) =>
    broker.aedes.publish(
      {
        cmd: "publish",
        topic,
        payload: Buffer.from(payload),
        qos,
        retain: false,
        dup: false,
      },
      (error) => error ? reject(error) : resolve(),
    )
  );
}

Deno.test("a persistent MQTT 3.1.1 client that never acknowledges QoS 1 holds at most 1,000 messages in the broker: the newest are dropped until it acknowledges, and those in flight come back on resume", async () => {
  const events: BrokerEvent[] = [];
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    onEvent: (event) => events.push(event),
  });
  const slow = await silentClient(broker.port, "slow", false);
  await waitFor(
    "the session",
    () => broker.sessionStats().queued === 0,
    10_000,
  );
  for (let i = 0; i < 3_000; i++) await publish(broker, "t/x", String(i), 1);
  await publish(broker, "end", "1", 0);
  await slow.sentinel(1);
  const queued = broker.sessionStats().queued;
  const sent = slow.publishes().map((p) => Number(String(p.payload)));
  console.log(
    `3,000 QoS 1 messages to a client that acknowledges none: ${sent.length} sent, ${queued} kept`,
  );
  assert.equal(queued, 1_000);
  assert.deepEqual(sent, Array.from({ length: 1_000 }, (_, i) => i));
  assert.ok(
    events.some((e) =>
      e.type === "error" && e.clientId === "slow" &&
      e.message.includes("1000 messages unacknowledged")
    ),
  );

  // One acknowledgement makes room for one more.
  await slow.ack(slow.publishes()[0]!.messageId!);
  await waitFor(
    "the PUBACK",
    () => broker.sessionStats().queued === 999,
    10_000,
  );
  await publish(broker, "t/x", "3000", 1);
  await publish(broker, "t/x", "3001", 1);
  await publish(broker, "end", "2", 0);
  await slow.sentinel(2);
  assert.deepEqual(
    slow.publishes().slice(1_000).map((p) => String(p.payload)),
    ["3000"],
  );
  assert.equal(broker.sessionStats().queued, 1_000);
  await slow.close();

  // What was sent and never acknowledged goes out again when the session resumes, oldest first.
  await waitFor("offline", () => broker.sessionStats().offline === 1, 10_000);
  const back = await silentClient(broker.port, "slow", false);
  await waitFor(
    "the resent messages",
    () => back.publishes().length >= 1_000,
    10_000,
  );
  const resent = back.publishes().map((p) => Number(String(p.payload)));
  assert.equal(resent.length, 1_000);
  assert.deepEqual(resent.slice(0, 3), [1, 2, 3]);
  assert.equal(resent.at(-1), 3_000);
  await back.close();
});

Deno.test("a clean-session MQTT 3.1.1 client that never acknowledges QoS 1 costs the broker no queue: aedes sends and keeps nothing", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const slow = await silentClient(broker.port, "careless", true);
  for (let i = 0; i < 3_000; i++) await publish(broker, "t/x", String(i), 1);
  await publish(broker, "end", "1", 0);
  await slow.sentinel(1);
  assert.equal(slow.publishes().length, 3_000);
  assert.equal(broker.sessionStats().queued, 0);
  await slow.close();
});

Deno.test({
  name:
    "mosquitto, the reference: a persistent MQTT 3.1.1 client that never acknowledges gets 20 in flight, max_queued_messages more wait, and newer ones are dropped",
  ignore: ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto"),
  async fn() {
    await using mosquitto = await startMosquitto({
      config: "allow_anonymous true\nmax_queued_messages 5\n",
    });
    const port = Number(new URL(mosquitto.url).port);
    const publisher = await mqtt.connectAsync(mosquitto.url, {
      reconnectPeriod: 0,
    });
    try {
      const slow = await silentClient(port, "slow", false);
      for (let i = 0; i < 50; i++) {
        await publisher.publishAsync("t/x", String(i), { qos: 1 });
      }
      await publisher.publishAsync("end", "1", { qos: 0 });
      await slow.sentinel(1);
      const payloads = (c: typeof slow) =>
        c.publishes().map((p) => Number(String(p.payload)));
      assert.deepEqual(payloads(slow), Array.from({ length: 20 }, (_, i) => i));
      await slow.close();

      const back = await silentClient(port, "slow", false);
      await waitFor(
        "the 20 in flight again",
        () => back.publishes().length >= 20,
        10_000,
      );
      for (const p of back.publishes().slice(0, 20)) {
        assert.equal(p.dup, true);
        await back.ack(p.messageId!);
      }
      await waitFor(
        "the 5 that waited",
        () => back.publishes().length >= 25,
        10_000,
      );
      await publisher.publishAsync("end", "2", { qos: 0 });
      await back.sentinel(2);
      assert.deepEqual(payloads(back), Array.from({ length: 25 }, (_, i) => i));
      await back.close();
    } finally {
      await publisher.endAsync();
    }
  },
});
