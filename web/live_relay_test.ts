import assert from "node:assert/strict";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../harness/broker/mod.ts";
import { LiveRelay } from "./live_relay.ts";
import type { LiveUpdate } from "./live_view.ts";

async function until<T>(check: () => T | undefined | false, what: string) {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function setup(options: { historySeconds?: number } = {}) {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const publisher = await mqtt.connectAsync(broker.url, {
    reconnectPeriod: 0,
  });
  const relay = LiveRelay.start({
    url: broker.url,
    root: "fishtank",
    flushMs: 20,
    ...options,
  });
  assert.ok(await relay.waitConnected(), "relay connects");
  return {
    broker,
    publisher,
    relay,
    async close() {
      await relay.close();
      await publisher.endAsync(true);
      await broker.close();
    },
  };
}

Deno.test("relay keeps each tank's readings, ranges, actuators and alarm from MQTT", async () => {
  const { publisher, relay, close } = await setup();
  try {
    await publisher.publishAsync(
      "fishtank/tank1/ranges/temperature",
      '{"min":24,"max":26}',
      { retain: true, qos: 1 },
    );
    await publisher.publishAsync(
      "fishtank/tank1/sensors/all",
      JSON.stringify({
        time: "2026-01-15T06:00:10Z",
        t: 10,
        temperature: 23.5,
        ph: 7.4,
      }),
      { qos: 1 },
    );
    await publisher.publishAsync(
      "fishtank/tank2/actuators",
      '{"heater":50,"light":true,"pump":false,"topup":false,"source":"tank2"}',
      { qos: 1 },
    );
    await publisher.publishAsync("fishtank/tank2/alarm", "too cold", {
      qos: 1,
    });
    const tank1 = await until(
      () => relay.tank("tank1")?.batch && relay.tank("tank1"),
      "tank1's batch",
    );
    assert.equal(tank1.readings.temperature?.value, 23.5);
    assert.deepEqual(tank1.ranges.temperature, { min: 24, max: 26 });
    assert.deepEqual(tank1.sim, { t: 10, time: "2026-01-15T06:00:10Z" });
    const tank2 = await until(
      () => relay.tank("tank2")?.alarm && relay.tank("tank2"),
      "tank2's alarm",
    );
    assert.equal(tank2.actuators?.heater, 50);
    assert.equal(tank2.alarm?.raised, true);
    assert.deepEqual(relay.tanks, ["tank1", "tank2"]);
    const snapshot = relay.snapshot();
    assert.equal(snapshot.connection.state, "connected");
    assert.deepEqual(snapshot.history.tank1?.map((p) => p.t), [10]);
  } finally {
    await close();
  }
});

Deno.test("relay ignores empty retained messages and unknown topics of tanks it has not heard from", async () => {
  const { publisher, relay, close } = await setup();
  try {
    await publisher.publishAsync("fishtank/ghost/ranges/ph", "", {
      retain: true,
      qos: 1,
    });
    await publisher.publishAsync("fishtank/other/whatever/x", "1", { qos: 1 });
    await publisher.publishAsync(
      "fishtank/tank1/status",
      '{"state":"online"}',
      {
        qos: 1,
      },
    );
    await until(() => relay.tank("tank1"), "tank1");
    assert.deepEqual(relay.tanks, ["tank1"]);
  } finally {
    await close();
  }
});

Deno.test("relay keeps only the last simulated hours of history and starts again when time goes back", async () => {
  const { publisher, relay, close } = await setup({ historySeconds: 30 });
  try {
    for (let t = 0; t <= 100; t += 10) {
      await publisher.publishAsync(
        "fishtank/tank1/sensors/all",
        JSON.stringify({ t, temperature: 24 + t / 100 }),
        { qos: 1 },
      );
    }
    await until(
      () => relay.tank("tank1")?.batch?.t === 100,
      "the last batch",
    );
    assert.deepEqual(
      relay.snapshot().history.tank1?.map((p) => p.t),
      [70, 80, 90, 100],
    );
    await publisher.publishAsync(
      "fishtank/tank1/sensors/all",
      JSON.stringify({ t: 0, temperature: 24 }),
      { qos: 1 },
    );
    await until(() => relay.tank("tank1")?.batch?.t === 0, "the restart");
    assert.deepEqual(relay.snapshot().history.tank1?.map((p) => p.t), [0]);
  } finally {
    await close();
  }
});

Deno.test("relay coalesces updates for subscribers and ends them on close", async () => {
  const { publisher, relay, close } = await setup();
  const updates: LiveUpdate[] = [];
  let closed = 0;
  relay.subscribe({ update: (u) => updates.push(u), closed: () => closed++ });
  try {
    for (let t = 0; t < 5; t++) {
      publisher.publish(
        "fishtank/tank1/sensors/all",
        JSON.stringify({ t, temperature: 24 }),
        { qos: 0 },
      );
    }
    const update = await until(
      () =>
        updates.find((u) =>
          u.type === "tank" && u.points.some((p) => p.t === 4)
        ),
      "an update with the last point",
    );
    assert.equal(update.type, "tank");
    const points = updates.flatMap((u) => u.type === "tank" ? u.points : []);
    assert.deepEqual(points.map((p) => p.t), [0, 1, 2, 3, 4]);
    assert.ok(
      updates.filter((u) => u.type === "tank").length < 5,
      "five batches arrive in fewer updates",
    );
  } finally {
    await close();
  }
  assert.equal(closed, 1);
  assert.equal(relay.snapshot().connection.state, "closed");
});
