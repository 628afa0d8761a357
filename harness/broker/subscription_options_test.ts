import assert from "node:assert/strict";
import mqtt from "mqtt";
import { EmbeddedBroker } from "./broker.ts";
import {
  SessionSubscriptions,
  SubscriptionTable,
} from "./_subscription_options.ts";
import { waitFor } from "../../lib/testing.ts";

interface Got {
  topic: string;
  qos: number;
  retain: boolean;
  ids: number[];
}

/** An MQTT 5 MQTT.js client, its CONNACK's session present flag and what it receives. */
async function v5(url: string, options: mqtt.IClientOptions = {}) {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  });
  const got: Got[] = [];
  client.on("message", (topic, _payload, packet) => {
    got.push({
      topic,
      qos: packet.qos,
      retain: packet.retain,
      ids: [packet.properties?.subscriptionIdentifier ?? []].flat(),
    });
  });
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once("connect", (connack) => resolve(connack.sessionPresent));
    client.once("error", reject);
  });
  return Object.assign(client, { got, sessionPresent });
}

Deno.test("SessionSubscriptions: a resumed session gets back the options of the subscriptions the broker restored, a taken-over connection leaves the session alone, an ended session is dropped", () => {
  const broker = {};
  const sessions = SessionSubscriptions.of(broker);
  const [firstConnection, secondConnection, thirdConnection] = [{}, {}, {}];
  assert.equal(SessionSubscriptions.of(broker), sessions);
  const first = new SubscriptionTable();
  sessions.connected("c", firstConnection, first, {
    present: false,
    restored: () => true,
  });
  first.subscribe([{ topic: "t/#", nl: true }, { topic: "u/+" }], 5);

  const second = new SubscriptionTable();
  sessions.connected("c", secondConnection, second, {
    present: true,
    restored: (filter) => filter === "t/#", // u/+ was unsubscribed meanwhile
  });
  assert.deepEqual(second.matching("t/a"), [
    {
      noLocal: true,
      retainAsPublished: false,
      sendRetained: true,
      identifier: 5,
      matches: "t/#",
    },
  ]);
  assert.equal(second.matching("u/a").length, 0);
  // The first connection, taken over, ends with session expiry 0: the session is the second one's now.
  sessions.disconnected("c", firstConnection, true);
  assert.equal(sessions.size, 1);
  sessions.disconnected("c", secondConnection, false);
  assert.equal(sessions.size, 1);
  sessions.ended("c");
  assert.equal(sessions.size, 0);

  // A session that was not resumed starts with nothing.
  const fresh = new SubscriptionTable();
  sessions.connected("c", thirdConnection, fresh, {
    present: false,
    restored: () => true,
  });
  assert.equal(fresh.size, 0);
  sessions.disconnected("c", thirdConnection, true);
  assert.equal(sessions.size, 0);
});

Deno.test("an MQTT 5 session resumed with clean start 0 keeps no local, retain as published, the granted QoS and its subscription identifier; they end with the session", async () => {
  let now = 1_000_000;
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    sessionExpiry: 60_000,
    now: () => now,
  });
  const kept = SessionSubscriptions.of(broker.aedes);
  const session = { clientId: "s", properties: { sessionExpiryInterval: 60 } };
  const away = await v5(broker.url, session);
  await away.subscribeAsync("t/#", {
    qos: 1,
    nl: true,
    rap: true,
    properties: { subscriptionIdentifier: 5 },
  });
  await away.endAsync();
  await waitFor(
    "the session offline",
    () => broker.sessionStats().offline === 1,
    10_000,
  );
  assert.ok(kept.has("s"));

  const back = await v5(broker.url, { ...session, clean: false });
  assert.equal(back.sessionPresent, true);
  const other = await v5(broker.url);
  await back.publishAsync("t/own", "x", { qos: 1 });
  await other.publishAsync("t/kept", "x", { qos: 2, retain: true });
  await other.publishAsync("t/end", "x", { qos: 1 });
  await waitFor(
    "t/end",
    () => back.got.some((m) => m.topic === "t/end"),
    10_000,
  );
  assert.deepEqual(back.got, [
    { topic: "t/kept", qos: 1, retain: true, ids: [5] },
    { topic: "t/end", qos: 1, retain: false, ids: [5] },
  ]);
  // A session expiry of 0 at DISCONNECT ends the session, and its options with it.
  await back.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  await waitFor("the options dropped", () => !kept.has("s"), 10_000);

  // Clean start ends the stored session: its identifier is not put back on a new subscription to the same filter.
  const again = await v5(broker.url, session);
  await again.subscribeAsync("t/#", {
    qos: 1,
    properties: { subscriptionIdentifier: 7 },
  });
  await again.endAsync();
  const clean = await v5(broker.url, { ...session, clean: true });
  assert.equal(clean.sessionPresent, false);
  await clean.subscribeAsync("t/#", { qos: 1 });
  await other.publishAsync("t/x", "x", { qos: 1 });
  await waitFor("t/x", () => clean.got.some((m) => m.topic === "t/x"), 10_000);
  assert.deepEqual(clean.got.at(-1)!.ids, []);
  await clean.endAsync();

  // An offline session past its expiry is gone, options included, when the client comes back.
  await waitFor(
    "the session offline",
    () => broker.sessionStats().offline === 1,
    10_000,
  );
  assert.ok(kept.has("s"));
  now += 61_000;
  const late = await v5(broker.url, { ...session, clean: false });
  assert.equal(late.sessionPresent, false);
  await late.subscribeAsync("t/#", { qos: 1 });
  await other.publishAsync("t/y", "x", { qos: 1 });
  await waitFor("t/y", () => late.got.some((m) => m.topic === "t/y"), 10_000);
  assert.deepEqual(late.got.at(-1)!.ids, []);
  await late.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  await other.endAsync();
  await waitFor("nothing kept", () => kept.size === 0, 10_000);
});

Deno.test("expired offline MQTT 5 sessions are swept with their subscription options: no more kept than sessions", async () => {
  await using broker = await EmbeddedBroker.start({
    port: 0,
    wsPort: false,
    sessionExpiry: 300,
  });
  const kept = SessionSubscriptions.of(broker.aedes);
  for (let i = 0; i < 5; i++) {
    const c = await v5(broker.url, {
      clientId: `gone-${i}`,
      properties: { sessionExpiryInterval: 3600 },
    });
    await c.subscribeAsync("t/#", {
      qos: 1,
      properties: { subscriptionIdentifier: i + 1 },
    });
    await c.endAsync();
  }
  // Some may be swept already (the broker keeps them 300 ms): never more than the sessions.
  assert.ok(kept.size <= 5);
  // Bounded wait: the sweep runs by itself every 300 ms and the broker keeps sessions 300 ms at most.
  await waitFor(
    "the sessions swept",
    () => broker.sessionStats().offline === 0 && kept.size === 0,
    10_000,
  );
});
