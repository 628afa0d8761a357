import assert from "node:assert/strict";
import net from "node:net";
import mqtt from "mqtt";
import {
  hasCommand,
  ignoreWithout,
  startMosquitto,
} from "../../tests/_peers.ts";
import { EmbeddedBroker } from "./broker.ts";
import {
  AedesBus,
  type Bus,
  BusError,
  type BusMessage,
  FakeBus,
  MqttBus,
  topicMatches,
} from "./bus.ts";
import { delay, freePort, waitFor } from "../../lib/testing.ts";

const text = (
  message: BusMessage,
) => [message.topic, new TextDecoder().decode(message.payload), message.retain];

/** The behaviour every Bus shares. `prefix` keeps runs apart on a broker that outlives them. */
async function busContract(
  t: Deno.TestContext,
  bus: Bus,
  prefix: string,
): Promise<void> {
  await t.step(
    "a message reaches a subscriber of its topic as bytes, with retain false",
    async () => {
      const got: BusMessage[] = [];
      await bus.subscribe(`${prefix}/exact/a`, (m) => got.push(m));
      await bus.publish(`${prefix}/exact/a`, "hello");
      await bus.publish(`${prefix}/exact/a`, Uint8Array.of(0, 255), { qos: 1 });
      await bus.publish(`${prefix}/exact/b`, "elsewhere");
      await waitFor("two messages", () => got.length >= 2);
      assert.deepEqual(got[0], {
        topic: `${prefix}/exact/a`,
        payload: new TextEncoder().encode("hello"),
        retain: false,
      });
      assert.deepEqual(got[1], {
        topic: `${prefix}/exact/a`,
        payload: Uint8Array.of(0, 255),
        retain: false,
      });
    },
  );

  await t.step(
    "+ matches one level, # the rest including the parent",
    async () => {
      const plus: BusMessage[] = [];
      const hash: BusMessage[] = [];
      await bus.subscribe(`${prefix}/w/+/temp`, (m) => plus.push(m));
      await bus.subscribe(`${prefix}/w/#`, (m) => hash.push(m));
      for (
        const topic of ["w/1/temp", "w/1/x", "w", "w/1/2/temp", "w/end/temp"]
      ) await bus.publish(`${prefix}/${topic}`, "v");
      await waitFor(
        "the last message",
        () => plus.length >= 2 && hash.length >= 5,
      );
      await delay(20);
      assert.deepEqual(
        plus.map((m) => m.topic),
        [`${prefix}/w/1/temp`, `${prefix}/w/end/temp`],
      );
      assert.deepEqual(
        hash.map((m) => m.topic),
        ["w/1/temp", "w/1/x", "w", "w/1/2/temp", "w/end/temp"].map((t) =>
          `${prefix}/${t}`
        ),
      );
    },
  );

  await t.step(
    "retained messages are replayed on subscribe (retain true); an empty payload clears them",
    async () => {
      await bus.publish(`${prefix}/r/keep`, "on", { retain: true, qos: 1 });
      await bus.publish(`${prefix}/r/cleared`, "x", { retain: true, qos: 1 });
      await bus.publish(`${prefix}/r/cleared`, "", { retain: true, qos: 1 });
      await bus.publish(`${prefix}/r/plain`, "not kept");
      const got: BusMessage[] = [];
      await bus.subscribe(`${prefix}/r/+`, (m) => got.push(m));
      await waitFor("the retained message", () => got.length >= 1);
      await delay(50);
      assert.deepEqual(got.map(text), [[`${prefix}/r/keep`, "on", true]]);
      await bus.publish(`${prefix}/r/keep`, "off", { retain: true });
      await waitFor("the live update", () => got.length >= 2);
      assert.deepEqual(text(got[1]!), [`${prefix}/r/keep`, "off", false]);
    },
  );
}

Deno.test("topicMatches() follows the MQTT rules for + and #", () => {
  const cases: [string, string, boolean][] = [
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/+", "a", false],
    ["a/+", "a/", true],
    ["+/+", "/a", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "a/b", true],
    ["#", "$SYS/x", false],
    ["+/x", "$SYS/x", false],
    ["$SYS/#", "$SYS/x", true],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
  ];
  for (const [filter, topic, expected] of cases) {
    assert.equal(topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
  }
});

Deno.test("FakeBus keeps the Bus contract", async (t) => {
  const bus = new FakeBus();
  await busContract(t, bus, "fake");
  assert.equal(bus.published[0]?.topic, "fake/exact/a");
  await bus.close();
});

Deno.test("FakeBus rejects wildcards in topics and misplaced ones in filters", async () => {
  const bus = new FakeBus();
  await assert.rejects(bus.publish("a/+", "x"), TypeError);
  await assert.rejects(bus.subscribe("a/#/b", () => {}), TypeError);
  await assert.rejects(bus.subscribe("a/b+", () => {}), TypeError);
});

Deno.test("AedesBus keeps the Bus contract", async (t) => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const bus = new AedesBus(broker.aedes);
  await busContract(t, bus, "aedes");
  await bus.close();
});

Deno.test("AedesBus: retained publishes reach later TCP subscribers, and TCP publishes reach the bus", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  const bus = new AedesBus(broker.aedes);
  await bus.publish("tank/1/status", "online", { retain: true });
  const fromBus: BusMessage[] = [];
  await bus.subscribe("tank/1/set/#", (m) => fromBus.push(m));

  for (const protocolVersion of [4, 5] as const) {
    const client = await mqtt.connectAsync(broker.url, {
      protocolVersion,
      reconnectPeriod: 0,
    });
    const got: [string, string, boolean][] = [];
    client.on(
      "message",
      (topic, payload, packet) =>
        got.push([topic, String(payload), packet.retain]),
    );
    await client.subscribeAsync("tank/1/status", { qos: 1 });
    await waitFor("the retained status", () => got.length >= 1);
    assert.deepEqual(got, [["tank/1/status", "online", true]]);
    await client.publishAsync("tank/1/set/heater", `on-v${protocolVersion}`, {
      qos: 1,
    });
    await client.endAsync();
  }
  await waitFor("both commands", () => fromBus.length >= 2);
  assert.deepEqual(fromBus.map(text), [["tank/1/set/heater", "on-v4", false], [
    "tank/1/set/heater",
    "on-v5",
    false,
  ]]);
  await bus.close();
});

Deno.test("AedesBus: retained and QoS 1 publishes are not lost behind QoS 0 ones sent right after", async () => {
  // Regression: the tank publishes retained QoS 1 readings and a QoS 0 clock in one go. aedes used to emit the clock
  // first (the readings wait for the store), and the subscriber's dedupe then dropped every reading.
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const received: string[] = [];
  client.on(
    "message",
    (topic, payload) => received.push(`${topic}=${payload}`),
  );
  try {
    await client.subscribeAsync("a/#", { qos: 0 });
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      void bus.publish("a/reading", String(i), { retain: true, qos: 1 });
      void bus.publish("a/clock", String(i), { qos: 0 });
      sent.push(`a/reading=${i}`, `a/clock=${i}`);
    }
    await waitFor("every message", () => received.length >= sent.length, 5000);
    assert.deepEqual(received, sent, "every message, in the order published");
  } finally {
    await client.endAsync(true);
    await bus.close();
    await broker.close();
  }
});

Deno.test("MqttBus keeps the Bus contract against the embedded broker", async (t) => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
  const bus = await MqttBus.connect(broker.url);
  await busContract(t, bus, "mqtt");
  await bus.close();
  const wsBus = await MqttBus.connect(broker.wsUrl!);
  await busContract(t, wsBus, "mqtt-ws");
  await wsBus.close();
});

Deno.test({
  name: "MqttBus keeps the Bus contract against Debian's mosquitto",
  ignore: ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto"),
  async fn(t) {
    await using mosquitto = await startMosquitto();
    const bus = await MqttBus.connect(mosquitto.url);
    await busContract(t, bus, `contract-${crypto.randomUUID()}`);
    await bus.close();
  },
});

Deno.test("MqttBus reports a broker it cannot reach as a BusError naming the URL", async () => {
  const url = `mqtt://127.0.0.1:${freePort()}`;
  await assert.rejects(
    MqttBus.connect(url, { connectTimeout: 2_000 }),
    (error) => {
      assert.ok(error instanceof BusError);
      assert.ok(
        error.message.startsWith(`Cannot connect to ${url}: `),
        error.message,
      );
      return true;
    },
  );
});

Deno.test("MqttBus last will is published when its connection drops", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
  // A TCP relay in front of the broker, so that the test can cut the bus's connection without asking the bus.
  const relayed = new Set<net.Socket>();
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(broker.port, "127.0.0.1");
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]] as const) {
      relayed.add(a);
      a.on("data", (chunk) => b.write(chunk));
      a.on("error", () => {});
      a.on("close", () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const relayPort = (relay.address() as net.AddressInfo).port;

  const watcher = new AedesBus(broker.aedes);
  const statuses: string[] = [];
  await watcher.subscribe(
    "tank/7/status",
    (m) => statuses.push(new TextDecoder().decode(m.payload)),
  );
  const bus = await MqttBus.connect(`mqtt://127.0.0.1:${relayPort}`, {
    clientId: "tank-7",
    will: { topic: "tank/7/status", payload: "offline", retain: true },
  });
  await bus.publish("tank/7/status", "online", { retain: true, qos: 1 });
  await waitFor("online", () => statuses.includes("online"));
  relay.close();
  for (const socket of relayed) socket.destroy();
  await waitFor("the will", () => statuses.includes("offline"));
  await bus.close();
  await watcher.close();
});
