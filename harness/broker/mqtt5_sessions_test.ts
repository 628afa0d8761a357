/**
 * MQTT 5 sessions and will delay through the embedded broker's MQTT 5 bridge, each check run the same way against
 * Debian's mosquitto 2 (the reference) with two real MQTT 5 clients: paho-mqtt 2 (Python) and MQTT.js 5.
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

/** One connection: how it connects, what it does, how it ends. */
interface Connection {
  id: string;
  clean: boolean;
  /** Session expiry interval in seconds; null sends no property (which MQTT 5 reads as 0). */
  expiry: number | null;
  subscribe?: string[];
  will?: { topic: string; payload: string; delay: number };
  /** Seconds to collect messages before ending. */
  wait?: number;
  /** `"drop"`: the socket closes without DISCONNECT. */
  end: "disconnect" | "drop";
}

interface Outcome {
  sessionPresent: boolean;
  received: [string, number][];
}

interface Client {
  name: string;
  available: boolean;
  run(port: number, connection: Connection): Promise<Outcome>;
}

const paho: Client = {
  name: "paho 2",
  available: hasPaho2(),
  async run(port, connection) {
    const script = new URL("./testdata/paho5_session.py", import.meta.url)
      .pathname;
    const output = await new Deno.Command(PAHO2_PYTHON, {
      args: [script, JSON.stringify({ port, ...connection })],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(15_000),
    }).output();
    const text = new TextDecoder().decode(output.stdout).trim();
    const result = JSON.parse(text || "{}");
    if (result.error || result.session_present === undefined) {
      throw new Error(
        `paho: ${text} ${new TextDecoder().decode(output.stderr)}`,
      );
    }
    return {
      sessionPresent: result.session_present,
      received: result.received,
    };
  },
};

const mqttJs: Client = {
  name: "MQTT.js 5",
  available: true,
  async run(port, connection) {
    const { id, clean, expiry, will } = connection;
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: id,
      clean,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      keepalive: 30,
      ...(expiry !== null
        ? { properties: { sessionExpiryInterval: expiry } }
        : {}),
      ...(will
        ? {
          will: {
            topic: will.topic,
            payload: Buffer.from(will.payload),
            qos: 1 as const,
            retain: false,
            properties: { willDelayInterval: will.delay },
          },
        }
        : {}),
    });
    const received: [string, number][] = [];
    client.on("message", (_topic, payload, packet) => {
      received.push([String(payload), packet.qos]);
    });
    try {
      const sessionPresent = await new Promise<boolean>((resolve, reject) => {
        client.once("connect", (connack) => resolve(connack.sessionPresent));
        client.once("error", reject);
        client.once("close", () => reject(new Error(`${id}: closed`)));
      });
      for (const topic of connection.subscribe ?? []) {
        await client.subscribeAsync(topic, { qos: 1 });
      }
      await delay((connection.wait ?? 0) * 1000);
      return { sessionPresent, received: [...received] };
    } finally {
      if (connection.end === "drop") {
        client.stream.destroy();
        await client.endAsync(true);
      } else {
        await client.endAsync();
      }
    }
  },
};

interface Target extends AsyncDisposable {
  port: number;
}

const targets: {
  name: string;
  available: boolean;
  start(): Promise<Target>;
}[] = [
  {
    name: "embedded",
    available: true,
    async start() {
      const broker = await EmbeddedBroker.start({ port: 0, wsPort: false });
      return {
        port: broker.port,
        [Symbol.asyncDispose]: () => broker.close(),
      };
    },
  },
  {
    name: "mosquitto",
    available: hasCommand("mosquitto", ["-h"]),
    start: () => startMosquitto(),
  },
];

/** Publishes `payload` on `topic` at QoS 1 from an MQTT 3.1.1 client. */
async function publish(
  port: number,
  topic: string,
  payload: string,
): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
  });
  await client.publishAsync(topic, payload, { qos: 1 });
  await client.endAsync();
}

/** Collects what arrives on `topic`, with when it arrived (ms since the epoch). */
async function watch(port: number, topic: string) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
  });
  const arrived: { payload: string; at: number }[] = [];
  client.on("message", (_topic, payload) => {
    arrived.push({ payload: String(payload), at: Date.now() });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    arrived,
    [Symbol.asyncDispose]: () => client.endAsync(),
  };
}

const requirePeers = Deno.env.get("FISHTANK_REQUIRE_PEERS") === "1";

/** Runs `check` for every broker and every MQTT 5 client, each as a step; a missing peer skips its steps. */
function everywhere(
  name: string,
  check: (port: number, client: Client, id: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: ignoreWithout(targets[1]!.available, "mosquitto"),
    async fn(t) {
      for (const target of targets) {
        for (const client of [paho, mqttJs]) {
          if (!client.available && !requirePeers) {
            console.warn(
              `(skipping ${client.name} on ${target.name}: ${PAHO2_PYTHON} has no paho-mqtt 2)`,
            );
            continue;
          }
          await t.step(`${target.name} · ${client.name}`, async () => {
            await using broker = await target.start();
            const id = `${client.name.replace(/\W/g, "")}-${
              crypto.randomUUID().slice(0, 8)
            }`;
            await check(broker.port, client, id);
          });
        }
      }
    },
  });
}

everywhere(
  "MQTT 5 clean start 0 with session expiry 0 resumes the stored session (session present, queued QoS 1 delivered) and ends it at disconnect",
  async (port, client, id) => {
    const topic = `sessions/${id}`;
    await client.run(port, {
      id,
      clean: false,
      expiry: 60,
      subscribe: [topic],
      end: "disconnect",
    });
    await publish(port, topic, "while-offline");
    const resumed = await client.run(port, {
      id,
      clean: false,
      expiry: null,
      wait: 0.5,
      end: "disconnect",
    });
    assert.deepEqual(resumed, {
      sessionPresent: true,
      received: [["while-offline", 1]],
    });
    // Expiry 0: the session ended with that connection.
    await publish(port, topic, "after-the-end");
    const after = await client.run(port, {
      id,
      clean: false,
      expiry: 60,
      wait: 0.3,
      end: "disconnect",
    });
    assert.deepEqual(after, { sessionPresent: false, received: [] });
  },
);

everywhere(
  "MQTT 5 clean start 1 with session expiry > 0 discards the old session but keeps the new one after disconnect",
  async (port, client, id) => {
    await client.run(port, {
      id,
      clean: false,
      expiry: 60,
      subscribe: [`old/${id}`],
      end: "disconnect",
    });
    const fresh = await client.run(port, {
      id,
      clean: true,
      expiry: 60,
      subscribe: [`new/${id}`],
      end: "disconnect",
    });
    assert.equal(fresh.sessionPresent, false);
    await publish(port, `old/${id}`, "old");
    await publish(port, `new/${id}`, "new");
    const resumed = await client.run(port, {
      id,
      clean: false,
      expiry: 60,
      wait: 0.5,
      end: "disconnect",
    });
    assert.deepEqual(resumed, {
      sessionPresent: true,
      received: [["new", 1]],
    });
  },
);

everywhere(
  "MQTT 5 will delay: the will of a dropped connection goes out after the delay, not before",
  async (port, client, id) => {
    const topic = `wills/${id}`;
    await using observer = await watch(port, topic);
    await client.run(port, {
      id,
      clean: true,
      expiry: 60,
      will: { topic, payload: "gone", delay: 2 },
      end: "drop",
    });
    const dropped = Date.now();
    await delay(1_000);
    assert.equal(observer.arrived.length, 0, "will published before its delay");
    await waitFor("the will", () => observer.arrived.length > 0, 4_000);
    assert.equal(observer.arrived[0]!.payload, "gone");
    assert.ok(
      observer.arrived[0]!.at - dropped >= 1_500,
      `will after ${observer.arrived[0]!.at - dropped} ms, expected ~2000`,
    );
  },
);

everywhere(
  "MQTT 5 will delay: no will when the client reconnects before the delay ends",
  async (port, client, id) => {
    const topic = `wills/${id}`;
    await using observer = await watch(port, topic);
    await client.run(port, {
      id,
      clean: true,
      expiry: 60,
      will: { topic, payload: "gone", delay: 2 },
      end: "drop",
    });
    const dropped = Date.now();
    await client.run(port, {
      id,
      clean: false,
      expiry: 60,
      end: "disconnect",
    });
    assert.ok(Date.now() - dropped < 1_500, "reconnecting took too long");
    await delay(3_500 - (Date.now() - dropped));
    assert.deepEqual(observer.arrived, []);
  },
);

everywhere(
  "MQTT 5 will delay: no will when the client comes back over MQTT 3.1.1 before the delay ends",
  async (port, client, id) => {
    const topic = `wills/${id}`;
    await using observer = await watch(port, topic);
    await client.run(port, {
      id,
      clean: true,
      expiry: 60,
      will: { topic, payload: "gone", delay: 2 },
      end: "drop",
    });
    const dropped = Date.now();
    const v4 = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
    });
    await v4.endAsync();
    assert.ok(Date.now() - dropped < 1_500, "reconnecting took too long");
    await delay(3_500 - (Date.now() - dropped));
    assert.deepEqual(observer.arrived, []);
  },
);

everywhere(
  "MQTT 5 will delay: DISCONNECT with reason 0 discards the will",
  async (port, client, id) => {
    const topic = `wills/${id}`;
    await using observer = await watch(port, topic);
    await client.run(port, {
      id,
      clean: true,
      expiry: 60,
      will: { topic, payload: "gone", delay: 1 },
      end: "disconnect",
    });
    await delay(2_000);
    assert.deepEqual(observer.arrived, []);
  },
);

Deno.test({
  name:
    "a delayed will passes the broker's authorizePublish with the client it belongs to, as aedes's own wills do",
  async fn(t) {
    for (const client of [paho, mqttJs]) {
      if (!client.available && !requirePeers) continue;
      await t.step(client.name, async () => {
        await using broker = await EmbeddedBroker.start({
          port: 0,
          wsPort: false,
        });
        const asked: { clientId: string | undefined; topic: string }[] = [];
        broker.aedes.authorizePublish = (who, packet, callback) => {
          asked.push({ clientId: who?.id, topic: packet.topic });
          callback(
            packet.topic.startsWith("forbidden/") ? new Error("refused") : null,
          );
        };
        await using observer = await watch(broker.port, "+/wills");
        const id = `${client.name.replace(/\W/g, "")}-${
          crypto.randomUUID().slice(0, 8)
        }`;
        for (const where of ["forbidden", "allowed"]) {
          await client.run(broker.port, {
            id: `${id}-${where}`,
            clean: true,
            expiry: 60,
            will: { topic: `${where}/wills`, payload: where, delay: 1 },
            end: "drop",
          });
        }
        const dropped = Date.now();
        await waitFor("the allowed will", () => observer.arrived.length > 0);
        // Published by the bridge after the delay, not by aedes at the drop.
        assert.ok(observer.arrived[0]!.at - dropped >= 500);
        await delay(300);
        assert.deepEqual(observer.arrived.map((m) => m.payload), ["allowed"]);
        for (const where of ["forbidden", "allowed"]) {
          assert.ok(
            asked.some((a) =>
              a.clientId === `${id}-${where}` && a.topic === `${where}/wills`
            ),
            `authorizePublish not asked about ${where}/wills: ${
              JSON.stringify(asked)
            }`,
          );
        }
      });
    }
  },
});
