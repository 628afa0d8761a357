/**
 * The MQTT conformance checks: each one rule of MQTT 3.1.1 or 5, a small async function of a broker and a client
 * kind that says whether the broker kept the rule and what it saw. Negative rules ("not delivered") are decided by
 * a sentinel message published after the one that must not arrive, never by a fixed sleep.
 *
 * @module
 */

import { waitFor } from "../lib/testing.ts";
import {
  type ClientKind,
  type Connack,
  type ConnectOptions,
  openPeer,
  type Peer,
  type Received,
  type Target,
} from "./_conformance.ts";

/** What one check found. */
export interface Outcome {
  ok: boolean;
  detail: string;
}

/** One rule and how to check it. */
export interface Check {
  /** Short id used in `NOT_YET` ("1", "10b", …). */
  id: string;
  /** The rule in a few words, with its number in the spec where there is one. */
  rule: string;
  /** The clients it runs with. */
  clients: readonly ClientKind[];
  run(target: Target, kind: ClientKind): Promise<Outcome>;
}

const BOTH = ["mqtt.js", "paho 2"] as const satisfies readonly ClientKind[];

/** Opens `n` clients of one kind, all closed when the returned stack is disposed. */
async function peers(
  stack: AsyncDisposableStack,
  target: Target,
  kind: ClientKind,
  n: number,
): Promise<Peer[]> {
  const opened: Peer[] = [];
  for (let i = 0; i < n; i++) {
    opened.push(stack.use(await openPeer(kind, target)));
  }
  return opened;
}

/** A fresh topic prefix and client id stem, so that checks never see each other's messages or sessions. */
function fresh(id: string): string {
  return `conf/${id}/${crypto.randomUUID().slice(0, 8)}`;
}

function idOf(prefix: string, who: string): string {
  return `${prefix.replaceAll("/", "-")}-${who}`;
}

async function connected(peer: Peer, ...args: Parameters<Peer["connect"]>) {
  const connack = await peer.connect(...args);
  if (connack.reasonCode !== 0) {
    throw new Error(`CONNECT refused with ${connack.reasonCode}`);
  }
  return connack;
}

/**
 * The offline-session round trip: `sub` subscribes at QoS 1 (connected with `away`) and leaves, `pub` publishes
 * `messages` at `qos`, and `sub` comes back (with `back`). Gives the CONNACK of its return and whether every message
 * arrived (waited for, bounded).
 */
async function queuedWhileAway(
  sub: Peer,
  pub: Peer,
  options: {
    topic: string;
    away: ConnectOptions;
    back: ConnectOptions;
    messages: readonly string[];
    qos: 1 | 2;
  },
): Promise<{ connack: Connack; arrived: boolean }> {
  await connected(sub, options.away);
  await sub.subscribe(options.topic, { qos: 1 });
  await sub.disconnect();
  await connected(pub, { version: options.away.version });
  for (const m of options.messages) {
    await pub.publish(options.topic, m, { qos: options.qos });
  }
  await pub.disconnect();
  const connack = await connected(sub, options.back);
  const arrived = await waitFor(
    "the queued messages",
    () => sub.received.length >= options.messages.length,
  ).then(() => true, () => false);
  await sub.disconnect();
  return { connack, arrived };
}

const summary = (messages: Received[]) =>
  JSON.stringify(
    messages.map((m) =>
      `${m.topic.split("/").at(-1)}:${m.payload}@${m.qos}${m.retain ? "r" : ""}`
    ),
  );

/** Waits for `payload` on `peer` (bounded); the sentinel that closes a "nothing else arrived" window. */
async function sentinel(peer: Peer, payload: string, timeoutMs = 5_000) {
  await waitFor(
    `message "${payload}"`,
    () => peer.received.some((m) => m.payload === payload),
    timeoutMs,
  );
}

function outcome(ok: boolean, detail: string): Outcome {
  return { ok, detail };
}

async function downgrade(
  target: Target,
  kind: ClientKind,
  filter: (prefix: string) => string,
): Promise<Outcome> {
  await using stack = new AsyncDisposableStack();
  const [sub, pub] = await peers(stack, target, kind, 2);
  const prefix = fresh("qos");
  await connected(sub!, { version: 4 });
  await connected(pub!, { version: 4 });
  await sub!.subscribe(filter(prefix), { qos: 1 });
  await pub!.publish(`${prefix}/a`, "q2", { qos: 2 });
  await sentinel(sub!, "q2");
  await sub!.disconnect();
  await pub!.disconnect();
  const qos = sub!.received[0]!.qos;
  return outcome(qos === 1, `delivered at QoS ${qos}`);
}

/** The checks, in the order of issue 14. */
export const CHECKS: readonly Check[] = [
  {
    id: "1",
    rule:
      "QoS 2 publish on a QoS 1 wildcard subscription arrives at QoS 1 [MQTT-3.8.4-6]",
    clients: [...BOTH, "mqtt.js ws", "mosquitto_sub/pub"],
    run: (target, kind) => downgrade(target, kind, (p) => `${p}/+`),
  },
  {
    id: "2",
    rule:
      "QoS 2 publish on a QoS 1 exact subscription arrives at QoS 1 [MQTT-3.8.4-6]",
    clients: [...BOTH, "mosquitto_sub/pub"],
    run: (target, kind) => downgrade(target, kind, (p) => `${p}/a`),
  },
  {
    id: "3",
    rule:
      "offline session (3.1.1): 3 QoS 2 publishes queued for a QoS 1 subscription arrive at QoS 1, in order",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("queue");
      const clientId = idOf(prefix, "sub");
      const persistent = { version: 4, clientId, clean: false } as const;
      const { connack } = await queuedWhileAway(sub!, pub!, {
        topic: `${prefix}/t`,
        away: persistent,
        back: persistent,
        messages: ["m1", "m2", "m3"],
        qos: 2,
      });
      // Leave no session behind.
      await connected(sub!, { version: 4, clientId, clean: true });
      await sub!.disconnect();
      const got = sub!.received.map((m) => `${m.payload}@${m.qos}`).join(" ");
      return outcome(
        connack.sessionPresent && got === "m1@1 m2@1 m3@1",
        `session present ${connack.sessionPresent}; got ${got}`,
      );
    },
  },
  {
    id: "4",
    rule:
      "empty client id: refused with clean session 0 (rc 2 / 0x85), accepted with clean session 1 [MQTT-3.1.3-8]",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [peer] = await peers(stack, target, kind, 1);
      const persistent = await peer!.connect({
        version: 4,
        clientId: "",
        clean: false,
      });
      if (persistent.reasonCode === 0) await peer!.disconnect();
      const clean = await peer!.connect({
        version: 4,
        clientId: "",
        clean: true,
      });
      if (clean.reasonCode === 0) await peer!.disconnect();
      // A CONNACK refusing the id, not any failure: a connection closed without one (-1) does not count.
      const refused = persistent.reasonCode === 2 ||
        persistent.reasonCode === 0x85;
      return outcome(
        refused && clean.reasonCode === 0,
        `clean 0 → ${persistent.reasonCode}${
          kind.startsWith("mqtt.js")
            ? " (a raw CONNECT: MQTT.js will not send it)"
            : ""
        }, clean 1 → ${clean.reasonCode}`,
      );
    },
  },
  {
    id: "5",
    rule:
      "MQTT 5: clean start 0 with session expiry 0 resumes the session (session present, queued message)",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("resume");
      const clientId = idOf(prefix, "sub");
      const { connack, arrived } = await queuedWhileAway(sub!, pub!, {
        topic: `${prefix}/t`,
        away: { version: 5, clientId, clean: true, sessionExpiry: 60 },
        back: { version: 5, clientId, clean: false, sessionExpiry: 0 },
        messages: ["queued"],
        qos: 1,
      });
      return outcome(
        connack.sessionPresent && arrived,
        `session present ${connack.sessionPresent}; queued message ${
          arrived ? "delivered" : "missing"
        }`,
      );
    },
  },
  {
    id: "6",
    rule:
      "MQTT 5: clean start 1 with session expiry > 0 keeps the session after DISCONNECT",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("keep");
      const clientId = idOf(prefix, "sub");
      const { connack, arrived } = await queuedWhileAway(sub!, pub!, {
        topic: `${prefix}/t`,
        away: { version: 5, clientId, clean: true, sessionExpiry: 60 },
        back: { version: 5, clientId, clean: false, sessionExpiry: 60 },
        messages: ["kept"],
        qos: 1,
      });
      await connected(sub!, {
        version: 5,
        clientId,
        clean: true,
        sessionExpiry: 0,
      });
      await sub!.disconnect();
      return outcome(
        connack.sessionPresent && arrived,
        `session present ${connack.sessionPresent}; queued message ${
          arrived ? "delivered" : "missing"
        }`,
      );
    },
  },
  {
    id: "7",
    rule:
      "MQTT 5: will delay interval: no will before the delay, the will after it, none if reconnected in time",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [watcher, late, back] = await peers(stack, target, kind, 3);
      const prefix = fresh("will");
      const delaySeconds = 2;
      await connected(watcher!, { version: 5 });
      await watcher!.subscribe(`${prefix}/#`, { qos: 1 });
      const will = (who: string) => ({
        topic: `${prefix}/${who}`,
        payload: `${who} gone`,
        qos: 1 as const,
        delay: delaySeconds,
      });
      const backId = idOf(prefix, "back");
      await connected(late!, {
        version: 5,
        sessionExpiry: 60,
        will: will("late"),
      });
      await connected(back!, {
        version: 5,
        clientId: backId,
        sessionExpiry: 60,
        will: will("back"),
      });
      const dropped = Date.now();
      await late!.drop();
      await back!.drop();
      await connected(back!, {
        version: 5,
        clientId: backId,
        clean: false,
        sessionExpiry: 60,
      });
      await watcher!.publish(`${prefix}/s1`, "before", { qos: 1 });
      await sentinel(watcher!, "before");
      const early = watcher!.received.filter((m) => m.payload.endsWith("gone"));
      await waitFor(
        "the delayed will",
        () => watcher!.received.some((m) => m.payload === "late gone"),
        (delaySeconds + 8) * 1_000,
      ).catch(() => {});
      const after = (Date.now() - dropped) / 1_000;
      const lateArrived = watcher!.received.some((m) =>
        m.payload === "late gone"
      );
      await watcher!.publish(`${prefix}/s2`, "after", { qos: 1 });
      await sentinel(watcher!, "after");
      const backWill = watcher!.received.some((m) => m.payload === "back gone");
      await back!.disconnect();
      await connected(back!, {
        version: 5,
        clientId: backId,
        clean: true,
        sessionExpiry: 0,
      });
      await back!.disconnect();
      await watcher!.disconnect();
      return outcome(
        early.length === 0 && lateArrived && after >= delaySeconds * 0.9 &&
          !backWill,
        `before the delay: ${summary(early)}; will ${
          lateArrived ? `after ${after.toFixed(1)} s` : "never"
        }; reconnected client's will ${backWill ? "sent" : "not sent"}`,
      );
    },
  },
  {
    id: "8",
    rule:
      "a retained message reaches a new subscriber; an empty retained publish clears it",
    clients: [...BOTH, "mosquitto_sub/pub"],
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [pub, first, second] = await peers(stack, target, kind, 3);
      const prefix = fresh("retain");
      await connected(pub!, { version: 4 });
      await pub!.publish(`${prefix}/a`, "kept", { qos: 1, retain: true });
      await connected(first!, { version: 4 });
      await first!.subscribe(`${prefix}/#`, { qos: 1 });
      const delivered = await waitFor(
        "the retained message",
        () => first!.received.some((m) => m.payload === "kept" && m.retain),
      ).then(() => true, () => false);
      await pub!.publish(`${prefix}/a`, "", { qos: 1, retain: true });
      await pub!.publish(`${prefix}/z`, "marker", { qos: 1, retain: true });
      await connected(second!, { version: 4 });
      await second!.subscribe(`${prefix}/#`, { qos: 1 });
      await sentinel(second!, "marker");
      const stale = second!.received.filter((m) => m.topic === `${prefix}/a`);
      await pub!.publish(`${prefix}/z`, "", { qos: 1, retain: true });
      for (const p of [pub, first, second]) await p!.disconnect();
      return outcome(
        delivered && stale.length === 0,
        `retained ${delivered ? "delivered" : "missing"}; after clearing ${
          summary(stale)
        }`,
      );
    },
  },
  {
    id: "9",
    rule:
      "MQTT 5: user properties, content type, response topic and correlation data carried end to end",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("props");
      await connected(sub!, { version: 5 });
      await connected(pub!, { version: 5 });
      await sub!.subscribe(`${prefix}/t`, { qos: 1 });
      const sent = {
        userProperties: { lesson: "14" },
        contentType: "text/plain",
        responseTopic: `${prefix}/reply`,
        correlationData: "abc",
      };
      await pub!.publish(`${prefix}/t`, "p", { qos: 1, properties: sent });
      await sentinel(sub!, "p");
      await sub!.disconnect();
      await pub!.disconnect();
      const got = sub!.received[0]!.properties;
      const ok = got.userProperties?.lesson === "14" &&
        got.contentType === sent.contentType &&
        got.responseTopic === sent.responseTopic &&
        got.correlationData === sent.correlationData;
      return outcome(ok, `received ${JSON.stringify(got)}`);
    },
  },
  {
    id: "10a",
    rule: "MQTT 5: no local: a client's own publish is not sent back to it",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [self, other] = await peers(stack, target, kind, 2);
      const prefix = fresh("nolocal");
      await connected(self!, { version: 5 });
      await connected(other!, { version: 5 });
      await self!.subscribe(`${prefix}/t`, { qos: 1, noLocal: true });
      await self!.publish(`${prefix}/t`, "own", { qos: 1 });
      await other!.publish(`${prefix}/t`, "other", { qos: 1 });
      await sentinel(self!, "other");
      await self!.disconnect();
      await other!.disconnect();
      const own = self!.received.filter((m) => m.payload === "own");
      return outcome(own.length === 0, `received ${summary(self!.received)}`);
    },
  },
  {
    id: "10b",
    rule: "MQTT 5: retain as published keeps the RETAIN flag on live messages",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("rap");
      await connected(sub!, { version: 5 });
      await connected(pub!, { version: 5 });
      await sub!.subscribe(`${prefix}/t`, { qos: 1, retainAsPublished: true });
      await pub!.publish(`${prefix}/t`, "live", { qos: 1, retain: true });
      await sentinel(sub!, "live");
      await pub!.publish(`${prefix}/t`, "", { qos: 1, retain: true });
      await sub!.disconnect();
      await pub!.disconnect();
      const retain = sub!.received[0]!.retain;
      return outcome(retain, `live retained message has retain=${retain}`);
    },
  },
  {
    id: "10c",
    rule: "MQTT 5: retain handling 2 sends no retained messages on subscribe",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("rh2");
      await connected(pub!, { version: 5 });
      await pub!.publish(`${prefix}/t`, "old", { qos: 1, retain: true });
      await connected(sub!, { version: 5 });
      await sub!.subscribe(`${prefix}/t`, { qos: 1, retainHandling: 2 });
      await pub!.publish(`${prefix}/t`, "new", { qos: 1 });
      await sentinel(sub!, "new");
      await pub!.publish(`${prefix}/t`, "", { qos: 1, retain: true });
      await sub!.disconnect();
      await pub!.disconnect();
      const old = sub!.received.filter((m) => m.payload === "old");
      return outcome(old.length === 0, `received ${summary(sub!.received)}`);
    },
  },
  {
    id: "11",
    rule:
      "MQTT 5: a shared subscription $share/g/t sends each message to one of its subscribers",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [a, b, pub] = await peers(stack, target, kind, 3);
      const prefix = fresh("share");
      const group = prefix.split("/").at(-1);
      for (const p of [a, b, pub]) await connected(p!, { version: 5 });
      await a!.subscribe(`$share/${group}/${prefix}/t`, { qos: 1 });
      await b!.subscribe(`$share/${group}/${prefix}/t`, { qos: 1 });
      const n = 10;
      for (let i = 0; i < n; i++) {
        await pub!.publish(`${prefix}/t`, `m${i}`, { qos: 1 });
      }
      await waitFor(
        `${n} messages`,
        () => a!.received.length + b!.received.length >= n,
      ).catch(() => {});
      // A sentinel to each: one more message per subscriber would show duplicates.
      await pub!.publish(`${prefix}/t`, "end", { qos: 1 });
      await waitFor(
        "the last message",
        () => [...a!.received, ...b!.received].some((m) => m.payload === "end"),
      ).catch(() => {});
      for (const p of [a, b, pub]) await p!.disconnect();
      const total = a!.received.length + b!.received.length;
      return outcome(
        a!.received.length > 0 && b!.received.length > 0 && total === n + 1,
        `split ${a!.received.length} + ${b!.received.length} of ${n + 1}`,
      );
    },
  },
  {
    id: "12",
    rule:
      "MQTT 5: a message past its expiry interval is not delivered to an offline session",
    clients: BOTH,
    async run(target, kind) {
      await using stack = new AsyncDisposableStack();
      const [sub, pub] = await peers(stack, target, kind, 2);
      const prefix = fresh("expiry");
      const clientId = idOf(prefix, "sub");
      await connected(sub!, {
        version: 5,
        clientId,
        clean: true,
        sessionExpiry: 60,
      });
      await sub!.subscribe(`${prefix}/t`, { qos: 1 });
      await sub!.disconnect();
      await connected(pub!, { version: 5 });
      await pub!.publish(`${prefix}/t`, "short", {
        qos: 1,
        properties: { messageExpiryInterval: 1 },
      });
      const published = Date.now();
      await pub!.publish(`${prefix}/t`, "long", {
        qos: 1,
        properties: { messageExpiryInterval: 60 },
      });
      await pub!.disconnect();
      // The rule is about time passing: the offline session must outlive the 1 s expiry.
      await new Promise((resolve) =>
        setTimeout(resolve, 2_100 - (Date.now() - published))
      );
      await connected(sub!, {
        version: 5,
        clientId,
        clean: false,
        sessionExpiry: 0,
      });
      await sentinel(sub!, "long");
      await sub!.disconnect();
      const short = sub!.received.filter((m) => m.payload === "short");
      return outcome(short.length === 0, `received ${summary(sub!.received)}`);
    },
  },
];
