/**
 * MQTT 5 PUBLISH properties end to end through the embedded broker's MQTT 5 bridge (user properties, content type,
 * payload format, response topic, correlation data, message expiry), each check run the same way against Debian's
 * mosquitto 2 (the reference) with two real MQTT 5 clients, paho-mqtt 2 (Python) and MQTT.js 5: one publishes, the
 * other subscribes, then the other way round.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import { EmbeddedBroker } from "./broker.ts";
import { delay, waitFor } from "../../lib/testing.ts";
import {
  hasCommand,
  hasPaho2,
  ignoreWithout,
  PAHO2_PYTHON,
  startMosquitto,
} from "../../tests/_peers.ts";

/** PUBLISH properties as MQTT.js names them; correlation data as text. */
interface Props {
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
  payloadFormatIndicator?: boolean;
  responseTopic?: string;
  correlationData?: string;
  messageExpiryInterval?: number;
}

interface Message {
  topic: string;
  payload: string;
  retain: boolean;
  properties: Props;
}

interface Send {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain?: boolean;
  properties?: Props;
}

interface Subscription {
  topic: string;
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
}

interface SubscribeOptions {
  id: string;
  clean: boolean;
  /** Session expiry interval, seconds. */
  expiry: number;
  /** Subscribed at QoS 1, in order, each with its MQTT 5 options; none for a resumed session. */
  subscriptions: Subscription[];
  /** Published by the subscriber itself once subscribed, each acknowledged before it counts as ready. */
  publish?: Send[];
  /** Messages to wait for; 0 ends as soon as it is ready. */
  count: number;
  /** Seconds to wait for them at most. */
  wait: number;
}

interface Subscriber {
  /** Connected, subscribed, and its own messages published. */
  ready: Promise<void>;
  /** What arrived, once `count` messages did or `wait` passed; the client has disconnected. */
  received: Promise<Message[]>;
}

interface Peer {
  name: string;
  available: boolean;
  publish(port: number, messages: Send[]): Promise<void>;
  subscribe(port: number, options: SubscribeOptions): Subscriber;
}

const _SCRIPT = new URL("./testdata/paho5_properties.py", import.meta.url)
  .pathname;

const paho: Peer = {
  name: "paho 2",
  available: hasPaho2(),
  async publish(port, messages) {
    const lines = _paho({ port, role: "publish", messages });
    const first = await lines.next();
    if (first.value?.done !== true) {
      throw new Error(`paho publish: ${JSON.stringify(first.value)}`);
    }
    await lines.return(undefined);
  },
  subscribe(port, options) {
    const lines = _paho({ port, role: "subscribe", ...options });
    const ready = lines.next().then((first) => {
      if (first.value?.ready !== true) {
        throw new Error(`paho subscribe: ${JSON.stringify(first.value)}`);
      }
    });
    const received = ready.then(async () => {
      const last = await lines.next();
      await lines.return(undefined);
      if (!Array.isArray(last.value?.received)) {
        throw new Error(`paho subscribe: ${JSON.stringify(last.value)}`);
      }
      return last.value.received as Message[];
    });
    return { ready, received };
  },
};

/** Runs the paho script; yields its JSON lines. */
async function* _paho(
  args: Record<string, unknown>,
): AsyncGenerator<Record<string, unknown>> {
  const child = new Deno.Command(PAHO2_PYTHON, {
    args: [_SCRIPT, JSON.stringify(args)],
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(15_000),
  }).spawn();
  try {
    let text = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      text += chunk;
      let end: number;
      while ((end = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, end).trim();
        text = text.slice(end + 1);
        if (line) yield JSON.parse(line);
      }
    }
  } finally {
    try {
      child.kill();
    } catch { /* already ended */ }
    await child.status;
  }
}

const mqttJs: Peer = {
  name: "MQTT.js 5",
  available: true,
  async publish(port, messages) {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    for (const send of messages) await _send(client, send);
    await client.endAsync();
  },
  subscribe(port, options) {
    const received: Message[] = [];
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: options.id,
      clean: options.clean,
      properties: { sessionExpiryInterval: options.expiry },
    });
    // Listening from the start: a resumed session's queue may arrive with the CONNACK.
    client.on("message", (topic, payload, packet) => {
      const { correlationData, userProperties, ...rest } = packet.properties ??
        {};
      const properties: Props = { ...rest };
      // MQTT.js gives an object without a prototype.
      if (userProperties) properties.userProperties = { ...userProperties };
      if (correlationData) {
        properties.correlationData = String(correlationData);
      }
      received.push({
        topic,
        payload: String(payload),
        retain: packet.retain,
        properties,
      });
    });
    const ready = new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    }).then(async () => {
      for (const { topic, nl, rap, rh } of options.subscriptions) {
        await client.subscribeAsync(topic, {
          qos: 1,
          nl: nl ?? false,
          rap: rap ?? false,
          rh: rh ?? 0,
        });
      }
      for (const send of options.publish ?? []) await _send(client, send);
    });
    const done = ready.then(async () => {
      await waitFor(
        `${options.count} messages`,
        () => received.length >= options.count,
        options.wait * 1000,
      ).catch(() => {});
      await client.endAsync();
      return received;
    });
    return { ready, received: done };
  },
};

async function _send(
  client: mqtt.MqttClient,
  { topic, payload, qos, retain, properties }: Send,
): Promise<void> {
  const { correlationData, ...rest } = properties ?? {};
  await client.publishAsync(topic, payload, {
    qos,
    retain: retain ?? false,
    properties: {
      ...rest,
      ...(correlationData !== undefined
        ? { correlationData: Buffer.from(correlationData) }
        : {}),
    },
  });
}

interface Target extends AsyncDisposable {
  port: number;
}

const targets: { name: string; start(): Promise<Target> }[] = [
  {
    name: "embedded",
    async start() {
      const broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
      return {
        port: broker.port,
        [Symbol.asyncDispose]: () => broker.close(),
      };
    },
  },
  { name: "mosquitto", start: () => startMosquitto() },
];

const requirePeers = Deno.env.get("FISHTANK_REQUIRE_PEERS") === "1";

/** Runs `check` on every broker with each client publishing to the other, each as a step. */
function everywhere(
  name: string,
  check: (
    port: number,
    peers: { publisher: Peer; subscriber: Peer },
    id: string,
  ) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto"),
    async fn(t) {
      for (const target of targets) {
        for (
          const [publisher, subscriber] of [[paho, mqttJs], [mqttJs, paho]]
        ) {
          if (!paho.available && !requirePeers) {
            console.warn(`(skipping: ${PAHO2_PYTHON} has no paho-mqtt 2)`);
            continue;
          }
          await t.step(
            `${target.name} · ${publisher!.name} → ${subscriber!.name}`,
            async () => {
              await using broker = await target.start();
              const id = `props-${crypto.randomUUID().slice(0, 8)}`;
              await check(
                broker.port,
                { publisher: publisher!, subscriber: subscriber! },
                id,
              );
            },
          );
        }
      }
    },
  });
}

const PROPERTIES = {
  userProperties: { lesson: "14", tank: "a" },
  contentType: "application/json",
  payloadFormatIndicator: true,
  responseTopic: "fish/reply",
  correlationData: "req-42",
} satisfies Props;

/** Asserts that `message` carries {@linkcode PROPERTIES} and an expiry in `[low, high]`. */
function assertCarried(message: Message, low: number, high: number): void {
  const { messageExpiryInterval, ...rest } = message.properties;
  assert.deepEqual(rest, PROPERTIES, `properties of ${message.payload}`);
  assert.ok(
    messageExpiryInterval !== undefined && messageExpiryInterval >= low &&
      messageExpiryInterval <= high,
    `message expiry interval of ${message.payload}: expected ${low}..${high}, got ${messageExpiryInterval}`,
  );
}

everywhere(
  "MQTT 5 PUBLISH properties reach an MQTT 5 subscriber at QoS 0 and 1; an MQTT 3.1.1 subscriber gets the message without them",
  async (port, { publisher, subscriber }, id) => {
    const topic = `${id}/t`;
    const v4 = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
    });
    const plain: string[] = [];
    v4.on("message", (_topic, payload) => plain.push(String(payload)));
    await v4.subscribeAsync(topic, { qos: 1 });
    const sub = subscriber.subscribe(port, {
      id: `${id}-sub`,
      clean: true,
      expiry: 0,
      subscriptions: [{ topic }],
      count: 2,
      wait: 5,
    });
    await sub.ready;
    const properties = { ...PROPERTIES, messageExpiryInterval: 60 };
    await publisher.publish(port, [
      { topic, payload: "q0", qos: 0, properties },
      { topic, payload: "q1", qos: 1, properties },
    ]);
    const received = await sub.received;
    assert.deepEqual(received.map((m) => m.payload).sort(), ["q0", "q1"]);
    for (const message of received) assertCarried(message, 59, 60);
    await waitFor(
      "the 3.1.1 subscriber's two messages",
      () => plain.length === 2,
    );
    assert.deepEqual(plain.sort(), ["q0", "q1"]);
    await v4.endAsync();
  },
);

everywhere(
  "a retained MQTT 5 message keeps its properties for a later subscriber",
  async (port, { publisher, subscriber }, id) => {
    const topic = `${id}/retained`;
    await publisher.publish(port, [{
      topic,
      payload: "kept",
      qos: 1,
      retain: true,
      properties: { ...PROPERTIES, messageExpiryInterval: 60 },
    }]);
    const sub = subscriber.subscribe(port, {
      id: `${id}-sub`,
      clean: true,
      expiry: 0,
      subscriptions: [{ topic }],
      count: 1,
      wait: 5,
    });
    const [message, ...more] = await sub.received;
    assert.equal(message?.payload, "kept");
    assert.equal(message.retain, true);
    assert.deepEqual(more, []);
    assertCarried(message, 59, 60);
  },
);

everywhere(
  "an offline session does not get a message past its expiry interval; it gets the others with the interval lowered by the time they waited",
  async (port, { publisher, subscriber }, id) => {
    const topic = `${id}/expiry`;
    const session = { id: `${id}-sub`, expiry: 60, wait: 5 };
    await subscriber.subscribe(port, {
      ...session,
      clean: true,
      subscriptions: [{ topic }],
      count: 0,
    }).received;
    await publisher.publish(port, [
      {
        topic,
        payload: "short",
        qos: 1,
        properties: { ...PROPERTIES, messageExpiryInterval: 1 },
      },
      {
        topic,
        payload: "long",
        qos: 1,
        properties: { ...PROPERTIES, messageExpiryInterval: 60 },
      },
    ]);
    await delay(2_100);
    // The queue arrives in order: had "short" been kept, it would come first.
    const received = await subscriber.subscribe(port, {
      ...session,
      clean: false,
      subscriptions: [],
      count: 1,
    }).received;
    assert.deepEqual(received.map((m) => m.payload), ["long"]);
    assertCarried(received[0]!, 50, 58);
  },
);

everywhere(
  "no local: a client's own message is not sent back to it on that subscription",
  async (port, { publisher, subscriber }, id) => {
    const topic = `${id}/nl`;
    const sub = subscriber.subscribe(port, {
      id: `${id}-sub`,
      clean: true,
      expiry: 0,
      subscriptions: [{ topic, nl: true }],
      publish: [{ topic, payload: "own", qos: 1 }],
      count: 1,
      wait: 5,
    });
    await sub.ready;
    // "own" was acknowledged before this is sent: had it come back, it would come first.
    await publisher.publish(port, [{ topic, payload: "other", qos: 1 }]);
    const received = await sub.received;
    assert.deepEqual(received.map((m) => m.payload), ["other"]);
  },
);

everywhere(
  "retain as published keeps RETAIN on a live message; without it RETAIN is cleared",
  async (port, { publisher, subscriber }, id) => {
    const sub = subscriber.subscribe(port, {
      id: `${id}-sub`,
      clean: true,
      expiry: 0,
      subscriptions: [{ topic: `${id}/rap`, rap: true }, {
        topic: `${id}/plain`,
      }],
      count: 2,
      wait: 5,
    });
    await sub.ready;
    await publisher.publish(port, [
      { topic: `${id}/rap`, payload: "rap", qos: 1, retain: true },
      { topic: `${id}/plain`, payload: "plain", qos: 1, retain: true },
    ]);
    const received = await sub.received;
    assert.deepEqual(
      received.map((m) => [m.payload, m.retain]).sort(),
      [["plain", false], ["rap", true]],
    );
  },
);

everywhere(
  "retain handling: 2 sends no retained message on subscribe, 1 only for a new subscription",
  async (port, { publisher, subscriber }, id) => {
    const topic = `${id}/rh`;
    await publisher.publish(port, [{
      topic,
      payload: "old",
      qos: 1,
      retain: true,
    }]);
    for (
      const [subscriptions, expected] of [
        [[{ topic, rh: 2 }], ["new"]],
        [[{ topic, rh: 1 }, { topic, rh: 1 }], ["old", "new"]],
        [[{ topic, rh: 0 }, { topic, rh: 0 }], ["old", "old", "new"]],
      ] as const
    ) {
      const sub = subscriber.subscribe(port, {
        id: `${id}-sub`,
        clean: true,
        expiry: 0,
        subscriptions: [...subscriptions],
        count: expected.length,
        wait: 5,
      });
      await sub.ready;
      await publisher.publish(port, [{ topic, payload: "new", qos: 1 }]);
      const received = await sub.received;
      assert.deepEqual(
        received.map((m) => m.payload),
        [...expected],
        `retain handling ${subscriptions[0].rh}`,
      );
    }
  },
);
