import assert from "node:assert/strict";
import { loadScenario, type Scenario } from "../../scenarios/mod.ts";
import { FakeBus } from "../broker/mod.ts";
import { TankNode } from "./tank_node.ts";

const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

async function tankOn(
  scenario: Scenario,
  options: { kitAliases?: boolean } = {},
) {
  const bus = new FakeBus();
  const tank = await TankNode.start({ bus, scenario, ...options });
  const on = (topic: string) =>
    bus.published.filter((m) => m.topic === topic).map((m) => text(m.payload));
  return { bus, tank, on };
}

Deno.test("TankNode publishes every reading once per publish period, retained, with the simulated time", async () => {
  const scenario = await loadScenario("steady-day");
  const { tank, on } = await tankOn(scenario);
  tank.advance(3600);
  await tank.flush();
  const all = on("fishtank/tank1/sensors/all").map((p) => JSON.parse(p));
  // t = 0 at start, then every 10 s up to and including 3600.
  assert.equal(all.length, 3600 / scenario.publishPeriod + 1);
  assert.deepEqual(all.slice(0, 3).map((a) => a.t), [0, 10, 20]);
  assert.equal(
    all.at(-1).time,
    new Date(scenario.start + 3600_000).toISOString(),
  );
  const temperatures = on("fishtank/tank1/sensors/temperature");
  assert.equal(temperatures.length, all.length);
  assert.match(temperatures[0]!, /^\d+(\.\d+)?$/, "plain number text");
  assert.equal(Number(temperatures.at(-1)), all.at(-1).temperature);
});

Deno.test("TankNode applies commands from single topics and control/all, and reports them on …/actuators", async () => {
  const { bus, tank, on } = await tankOn(await loadScenario("steady-day"));
  await bus.publish("fishtank/tank1/control/heater", "True");
  await bus.publish("fishtank/tank1/control/all", '{"light": "on", "pump": 1}');
  assert.deepEqual(tank.sim.inputs, {
    heater: 1,
    light: true,
    pump: true,
    topup: false,
  });
  await bus.publish("fishtank/tank1/control/heater", "40");
  assert.equal(tank.sim.inputs.heater, 0.4);
  await tank.flush();
  assert.deepEqual(JSON.parse(on("fishtank/tank1/actuators").at(-1)!), {
    heater: 40,
    light: true,
    pump: true,
    topup: false,
    source: "tank1",
  });
  assert.equal(tank.counters.commands, 4);
  // The heater really heats: an hour at 40 % warms the water.
  const before = tank.sim.state.temperature;
  tank.advance(3600);
  assert.ok(tank.sim.state.temperature > before);
});

Deno.test("TankNode refuses bad input on …/errors and keeps what was in force", async () => {
  const { bus, tank, on } = await tankOn(await loadScenario("steady-day"));
  await bus.publish("fishtank/tank1/control/heater", "on");
  await bus.publish("fishtank/tank1/control/heater", "maybe");
  await bus.publish("fishtank/tank1/control/fan", "on");
  await bus.publish("fishtank/tank1/ranges/temperature", '{"min":27,"max":23}');
  await tank.flush();
  const errors = on("fishtank/tank1/errors").map((p) => JSON.parse(p));
  assert.equal(errors.length, 3);
  assert.deepEqual(errors.map((e) => e.topic), [
    "fishtank/tank1/control/heater",
    "fishtank/tank1/control/fan",
    "fishtank/tank1/ranges/temperature",
  ]);
  assert.equal(tank.sim.inputs.heater, 1, "a refused command changes nothing");
  assert.deepEqual(tank.ranges.get("temperature"), { min: 24, max: 26 });
  assert.deepEqual(
    JSON.parse(on("fishtank/tank1/ranges/temperature").at(-1)!),
    { min: 24, max: 26 },
  );
  assert.equal(tank.counters.rejected, 3);
});

Deno.test("TankNode adopts an edited range and follows time-of-day ranges it was not told to change", async () => {
  const scenario = await loadScenario("steady-day");
  const { bus, tank, on } = await tankOn(scenario);
  await bus.publish(
    "fishtank/tank1/ranges/temperature",
    '{"min":23,"max":25}',
    { retain: true },
  );
  assert.deepEqual(tank.ranges.get("temperature"), { min: 23, max: 25 });
  const startHour = new Date(scenario.start).getUTCHours();
  tank.advance(((20 - startHour + 24) % 24 + 0.5) * 3600); // to 20:30, past the light's evening switch
  await tank.flush();
  const light = on("fishtank/tank1/ranges/light").map((p) => JSON.parse(p));
  assert.ok(
    light.length >= 2,
    `the light range should change during the day: ${JSON.stringify(light)}`,
  );
  assert.deepEqual(
    tank.ranges.get("light"),
    light.at(-1) &&
      {
        ...(light.at(-1).min === null ? {} : { min: light.at(-1).min }),
        ...(light.at(-1).max === null ? {} : { max: light.at(-1).max }),
      },
  );
  assert.deepEqual(
    tank.ranges.get("temperature"),
    { min: 23, max: 25 },
    "the edit stays in force",
  );
});

Deno.test("TankNode records alarms raised and cleared by the controller", async () => {
  const { bus, tank } = await tankOn(await loadScenario("heater-failure"));
  tank.advance(600);
  await bus.publish("fishtank/tank1/alarm", '{"message":"heater not heating"}');
  assert.deepEqual(tank.alarm, {
    raised: true,
    message: "heater not heating",
    since: 600,
  });
  await bus.publish("fishtank/tank1/alarm", "still broken");
  assert.equal(
    tank.counters.alarms,
    1,
    "raising again while raised is one alarm",
  );
  await bus.publish("fishtank/tank1/alarm", "clear");
  assert.equal(tank.alarm.raised, false);
});

Deno.test("TankNode with the kit's aliases adds lux, ambient_temperature and humidity to sensors/all", async () => {
  const { tank, on } = await tankOn(await loadScenario("steady-day"), {
    kitAliases: true,
  });
  await tank.flush();
  const all = JSON.parse(on("fishtank/tank1/sensors/all")[0]!);
  assert.equal(all.lux, all.light);
  assert.equal(all.ambient_temperature, all.room_temperature);
  assert.equal(all.humidity, all.oxygen);
});

Deno.test("TankNode: same scenario and seed give byte-identical traffic; another seed gives other noise", async () => {
  const scenario = await loadScenario("sensor-glitch");
  const traffic = async (s: Scenario) => {
    const { bus, tank } = await tankOn(s);
    for (let i = 0; i < 36; i++) {
      tank.advance(600);
      await bus.publish(
        "fishtank/tank1/control/heater",
        i % 3 === 0 ? "on" : "off",
      );
    }
    await tank.flush();
    return bus.published.map((m) => `${m.topic} ${m.retain} ${text(m.payload)}`)
      .join("\n");
  };
  const first = await traffic(scenario);
  const second = await traffic(scenario);
  assert.equal(first.length > 100_000, true);
  assert.equal(first, second);
  const other = await traffic({ ...scenario, seed: scenario.seed + 1 });
  assert.notEqual(first, other);
});
