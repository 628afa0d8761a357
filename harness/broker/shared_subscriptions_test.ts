/**
 * Shared subscriptions (`$share/{group}/{filter}`) on the embedded broker, each check run the same way against
 * Debian's mosquitto 2 (the reference), with real clients: MQTT.js 5 speaking MQTT 5 and 3.1.1, and paho 2.
 *
 * @module
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { EmbeddedBroker } from "./broker.ts";
import { parseShare } from "./_shared_subscriptions.ts";
import { delay, waitFor } from "../../lib/testing.ts";
import {
  hasCommand,
  hasPaho2,
  ignoreWithout,
  PAHO2_PYTHON,
  startMosquitto,
} from "../../tests/_peers.ts";

/** A client subscribed to one filter: what it got so far, and how it goes. */
interface Member {
  received: string[];
  unsubscribe(): Promise<void>;
  leave(): Promise<void>;
}

type Version = 4 | 5;

async function mqttJsMember(
  port: number,
  version: Version,
  filter: string,
  more: string[] = [],
): Promise<Member> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    reconnectPeriod: 0,
  });
  const received: string[] = [];
  client.on("message", (_topic, payload) => received.push(String(payload)));
  for (const f of [filter, ...more]) {
    const granted = await client.subscribeAsync(f, { qos: 1 });
    assert.equal(granted[0]?.qos, 1, `${f} granted`);
  }
  return {
    received,
    unsubscribe: async () => void await client.unsubscribeAsync(filter),
    leave: () => client.endAsync(),
  };
}

/** paho 2 in Python: prints each payload as a line, leaves when its stdin closes. */
const PAHO_MEMBER = `
import sys, threading, paho.mqtt.client as mqtt
port, version, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=proto)
subscribed = threading.Event()
c.on_message = lambda c, u, m: print("msg " + m.payload.decode(), flush=True)
c.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
c.connect("127.0.0.1", port)
c.loop_start()
c.subscribe(topic, qos=1)
if not subscribed.wait(5): sys.exit("no SUBACK")
print("ready", flush=True)
sys.stdin.read()
c.disconnect()
c.loop_stop()
`;

async function pahoMember(
  port: number,
  version: Version,
  filter: string,
): Promise<Member> {
  // paho's own start (Python, the import, CONNECT and SUBSCRIBE) is not what is tested: a start that ends before
  // "ready" is tried once more, and its error output is kept for the failure message.
  for (let attempt = 1;; attempt++) {
    const member = await startPaho(port, version, filter);
    if (member.ready) return member;
    if (attempt === 2) {
      throw new Error(`paho did not subscribe, twice: ${member.error}`);
    }
    console.warn(`(paho's start ended before its SUBACK: ${member.error})`);
  }
}

async function startPaho(
  port: number,
  version: Version,
  filter: string,
): Promise<Member & { ready: boolean; error: string }> {
  const child = new Deno.Command(PAHO2_PYTHON, {
    args: ["-c", PAHO_MEMBER, String(port), String(version), filter],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  const received: string[] = [];
  let ready = false;
  let ended = false;
  let error = "";
  const errors = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) error += chunk;
  })();
  const reading = (async () => {
    let text = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      const lines = (text + chunk).split("\n");
      text = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") ready = true;
        else if (line.startsWith("msg ")) received.push(line.slice(4));
      }
    }
    ended = true;
  })();
  await waitFor("paho's SUBACK", () => ready || ended, 20_000);
  if (!ready) {
    await child.status;
    await errors;
    return {
      ready,
      error: error.trim() || "no error output",
      received,
      unsubscribe: () => Promise.resolve(),
      leave: () => Promise.resolve(),
    };
  }
  return {
    ready,
    error,
    received,
    unsubscribe: () => Promise.reject(new Error("not needed here")),
    leave: async () => {
      await child.stdin.close();
      await child.status;
      await reading;
      await errors;
    },
  };
}

interface Target {
  name: string;
  available: boolean;
  start(): Promise<{ port: number } & AsyncDisposable>;
}

const targets: Target[] = [
  {
    name: "embedded",
    available: true,
    start: async () => {
      const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
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

/** Who shares: the first member's kind, the second's (always MQTT.js, it also unsubscribes), and the others'. */
interface Mix {
  name: string;
  available: boolean;
  first(port: number, filter: string): Promise<Member>;
  version: Version;
}

const mixes: Mix[] = [
  {
    name: "MQTT.js 5",
    available: true,
    first: (port, filter) => mqttJsMember(port, 5, filter),
    version: 5,
  },
  {
    name: "MQTT.js 3.1.1",
    available: true,
    first: (port, filter) => mqttJsMember(port, 4, filter),
    version: 4,
  },
  {
    name: "paho 2 (MQTT 5) beside MQTT.js 3.1.1",
    available: hasPaho2(),
    first: (port, filter) => pahoMember(port, 5, filter),
    version: 4,
  },
];

const requirePeers = Deno.env.get("FISHTANK_REQUIRE_PEERS") === "1";
let serial = 0;

/** Runs `check` for every broker and every mix of clients, each as a step; a missing peer skips its steps. */
function everywhere(
  name: string,
  check: (
    port: number,
    mix: Mix,
    topic: string,
    target: string,
  ) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: ignoreWithout(targets[1]!.available, "mosquitto"),
    async fn(t) {
      for (const target of targets) {
        for (const mix of mixes) {
          if (!mix.available && !requirePeers) {
            console.warn(`(skipping ${mix.name}: no paho-mqtt 2)`);
            continue;
          }
          await t.step(`${target.name} · ${mix.name}`, async () => {
            await using broker = await target.start();
            const topic = `share-test/${Date.now()}-${serial++}/t`;
            await check(broker.port, mix, topic, target.name);
          });
        }
      }
    },
  });
}

async function publisher(port: number) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
  });
  return {
    async publish(topic: string, payloads: string[], retain = false) {
      for (const payload of payloads) {
        await client.publishAsync(topic, payload, { qos: 1, retain });
      }
    },
    [Symbol.asyncDispose]: () => client.endAsync(),
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `m${from + i}`);

/** Waits until `check` holds, then a little longer so that a copy too many would show. */
async function settle(what: string, check: () => boolean): Promise<void> {
  await waitFor(what, check, 5_000);
  await delay(200);
}

everywhere(
  "$share/g/t: two members split the messages, an ordinary subscriber gets all, a member that leaves gets none after",
  async (port, mix, topic, target) => {
    await using pub = await publisher(port);
    // Retained before anyone subscribes: a shared subscription gets none (MQTT 5 §4.8.2), an ordinary one gets it.
    await pub.publish(topic, ["retained"], true);
    const filter = `$share/g/${topic}`;
    const a = await mix.first(port, filter);
    const b = await mqttJsMember(port, mix.version, filter);
    const ordinary = await mqttJsMember(port, mix.version, topic);
    try {
      await pub.publish(topic, range(0, 10));
      await settle(
        "10 messages to the members and to the ordinary subscriber",
        () =>
          a.received.length + b.received.length >= 10 &&
          ordinary.received.length >= 11,
      );
      const shared = [...a.received, ...b.received];
      if (target === "mosquitto") {
        // mosquitto 2.0 sends the retained message to each member anyway.
        for (const m of [a, b]) {
          m.received.splice(0, m.received.indexOf("retained") + 1);
        }
      }
      assert.deepEqual(
        [...a.received, ...b.received].sort(),
        range(0, 10).sort(),
        `split ${shared.join(",")}`,
      );
      assert.ok(a.received.length > 0 && b.received.length > 0);
      assert.deepEqual(ordinary.received, ["retained", ...range(0, 10)]);

      await a.leave();
      const before = a.received.length;
      await pub.publish(topic, range(10, 15));
      await settle(
        "5 messages to the member left",
        () => b.received.includes("m14") && ordinary.received.includes("m14"),
      );
      assert.equal(a.received.length, before);
      assert.deepEqual(
        b.received.filter((m) => range(10, 15).includes(m)),
        range(10, 15),
      );

      await b.unsubscribe();
      await pub.publish(topic, ["m15"]);
      await settle("m15", () => ordinary.received.includes("m15"));
      assert.ok(!b.received.includes("m15"), "unsubscribed and still got it");
      assert.deepEqual(ordinary.received.slice(-6), range(10, 16));
    } finally {
      await pub.publish(topic, [""], true);
      await b.leave();
      await ordinary.leave();
    }
  },
);

everywhere(
  "a member that also has an ordinary subscription to the topic gets every message",
  async (port, mix, topic) => {
    await using pub = await publisher(port);
    const filter = `$share/g/${topic}`;
    const other = await mix.first(port, filter);
    const both = await mqttJsMember(port, mix.version, filter, [
      topic.replace(/\/t$/, "/+"),
    ]);
    try {
      await pub.publish(topic, range(0, 10));
      await settle("10 messages", () => new Set(both.received).size >= 10);
      // mosquitto sends an MQTT 5 client one copy per matching subscription, so only the set is compared.
      assert.deepEqual([...new Set(both.received)].sort(), range(0, 10).sort());
      // The shared subscription still splits: the other member gets its turns.
      assert.ok(other.received.length > 0, "the other member got nothing");
      assert.ok(other.received.every((m) => range(0, 10).includes(m)));
      assert.equal(new Set(other.received).size, other.received.length);
    } finally {
      await other.leave();
      await both.leave();
    }
  },
);

Deno.test("the embedded broker refuses a shared subscription with an empty or wildcard share name", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  for (const version of [4, 5] as const) {
    const client = await mqtt.connectAsync(broker.url, {
      protocolVersion: version,
      reconnectPeriod: 0,
    });
    try {
      // MQTT.js rejects a SUBACK with a refusal, carrying the packet.
      const suback = await client.subscribeAsync(
        ["$share/+/t", "$share//t", "$share/g/t"],
        { qos: 1 },
      ).then(
        (granted) => granted.map((g) => g.qos),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
      );
      // MQTT 5 says why: 0x8F, topic filter invalid.
      const refused = version === 5 ? 0x8f : 128;
      assert.deepEqual(suback, [refused, refused, 1], `MQTT ${version}`);
    } finally {
      await client.endAsync();
    }
  }
});

Deno.test("access rules set after start judge a shared subscription by its filter", async () => {
  await using broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const judged: string[] = [];
  broker.aedes.authorizeSubscribe = (_client, subscription, callback) => {
    judged.push(subscription.topic);
    const refused = subscription.topic.startsWith("secret/");
    callback(null, refused ? null : subscription);
  };
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  try {
    const suback = await client.subscribeAsync(
      ["$share/g/secret/x", "$share/g/open/x"],
      { qos: 1 },
    ).catch((error: { packet?: { granted?: number[] } }) =>
      error.packet?.granted
    );
    assert.deepEqual(suback, [128, 1]);
    assert.deepEqual(judged.sort(), ["open/x", "secret/x"]);
  } finally {
    await client.endAsync();
  }
});

Deno.test("parseShare() splits $share/{group}/{filter} and refuses a bad share name", () => {
  assert.deepEqual(parseShare("$share/g/a/+/b"), {
    group: "g",
    filter: "a/+/b",
  });
  assert.equal(parseShare("a/b"), undefined);
  assert.equal(parseShare("$SYS/x"), undefined);
  for (const bad of ["$share/g", "$share//t", "$share/+/t", "$share/g#/t"]) {
    assert.equal(parseShare(bad), null, bad);
  }
});
