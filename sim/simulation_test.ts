import assert from "node:assert/strict";
import { Simulation } from "./simulation.ts";
import { fishTank } from "./fish_tank.ts";
import type { FishTankEnv, FishTankReadings } from "./fish_tank_types.ts";
import { calmEnv } from "./_testing.ts";

const START = Date.UTC(2026, 0, 15, 6);

/** Daylight from 8 to 18 h, a feeding at noon, a stuck pH probe for an hour, a lid left open for two. */
function eventfulDay(t: number, dt: number): FishTankEnv {
  const hour = (6 + t / 3600) % 24;
  return calmEnv({
    daylight: hour >= 8 && hour < 18 ? 400 : 0,
    feeding: t <= 6 * 3600 && 6 * 3600 < t + dt ? 0.5 : 0,
    lidOpen: hour >= 14 && hour < 16,
    sensorFaults: hour >= 9 && hour < 10 ? { ph: { kind: "stuck" } } : {},
  });
}

function fishSim(seed: number, environment = eventfulDay) {
  return new Simulation({
    system: fishTank,
    initial: {},
    seed,
    startMs: START,
    environment,
  });
}

/** A day of a bang-bang controller reading every 10 s, as the live mode does. */
function runDay(
  seed: number,
): { readings: FishTankReadings[]; sim: ReturnType<typeof fishSim> } {
  const sim = fishSim(seed);
  const readings: FishTankReadings[] = [];
  for (let i = 0; i < 8640; i++) {
    sim.advance(10);
    const r = sim.observe();
    readings.push(r);
    if (r.temperature !== null) {
      sim.setInputs({ heater: r.temperature < 25 ? 1 : 0 });
    }
    if (r.oxygen !== null) {
      sim.setInputs({
        pump: r.oxygen < 6.5 ? true : r.oxygen > 7.5 ? false : sim.inputs.pump,
      });
    }
  }
  return { readings, sim };
}

Deno.test("Simulation with the same seed gives identical readings and state over a day", () => {
  const a = runDay(42);
  const b = runDay(42);
  assert.deepEqual(a.readings, b.readings);
  assert.deepEqual(a.sim.state, b.sim.state);
  assert.equal(a.sim.clock.iso(), "2026-01-16T06:00:00.000Z");
});

Deno.test("Simulation with a different seed gives different noise", () => {
  const a = runDay(42).readings;
  const b = runDay(43).readings;
  const differing =
    a.filter((r, i) => r.temperature !== b[i]!.temperature).length;
  assert.ok(
    differing > a.length / 4,
    `${differing} of ${a.length} temperature readings differ`,
  );
});

Deno.test("Simulation evaluates the environment at the start of each step with exact times", () => {
  const calls: [number, number][] = [];
  const sim = new Simulation({
    system: fishTank,
    initial: {},
    seed: 1,
    step: 0.1,
    environment: (t, dt) => {
      calls.push([t, dt]);
      return calmEnv();
    },
  });
  sim.advance(0.3);
  assert.deepEqual(calls, [[0, 0.1], [0, 0.1], [0.1, 0.1], [0.2, 0.1]]);
  assert.equal(sim.time, 0.3);
  assert.equal(sim.steps, 3);
  sim.advance(1000);
  assert.deepEqual(calls.at(-1), [1000.2, 0.1]);
  assert.equal(sim.time, 1000.3);
});

Deno.test("Simulation.advance() refuses spans that are not whole steps and leaves time unchanged", () => {
  const sim = new Simulation({
    system: fishTank,
    initial: {},
    seed: 1,
    step: 2,
    environment: () => calmEnv(),
  });
  assert.throws(() => sim.advance(3), RangeError);
  assert.throws(() => sim.advance(-2), RangeError);
  assert.throws(() => sim.advance(NaN), RangeError);
  assert.equal(sim.time, 0);
  assert.equal(sim.advance(4), 2);
  assert.equal(sim.time, 4);
});

Deno.test("Simulation rejects a step that is not a positive whole number of milliseconds", () => {
  for (const step of [0, -1, 0.0001, NaN]) {
    assert.throws(
      () =>
        new Simulation({
          system: fishTank,
          initial: {},
          seed: 1,
          step,
          environment: () => calmEnv(),
        }),
      RangeError,
    );
  }
});

Deno.test("Simulation keeps inputs until changed; setInputs() changes only what it names", () => {
  const sim = fishSim(1, () => calmEnv());
  assert.deepEqual(sim.inputs, {
    heater: 0,
    light: false,
    pump: false,
    topup: false,
  });
  sim.setInputs({ heater: 0.5, pump: true });
  sim.setInputs({ light: true, pump: undefined });
  assert.deepEqual(sim.inputs, {
    heater: 0.5,
    light: true,
    pump: true,
    topup: false,
  });
  sim.advance(60);
  assert.equal(sim.state.heaterPower, 50);
  assert.equal(sim.state.pumpOn, true);
  assert.equal(sim.state.lampOn, true);
});

Deno.test("Simulation never changes a state it has handed out", () => {
  const sim = fishSim(1);
  sim.setInputs({ heater: 1 });
  const before = sim.state;
  const copy = structuredClone(before);
  sim.advance(600);
  assert.deepEqual(before, copy);
  assert.notEqual(sim.state, before);
});

Deno.test("Simulation exposes the clock, the last environment and primed sensors", () => {
  const sim = fishSim(1, (t) => calmEnv({ roomTemperature: t < 60 ? 18 : 19 }));
  // Primed with the environment at time zero: the room sensor reads the room, not the water.
  assert.ok(Math.abs(sim.observe().room_temperature! - 18) < 0.5);
  sim.advance(90);
  assert.equal(sim.env.roomTemperature, 19);
  assert.equal(sim.clock.now(), START + 90_000);
  assert.equal(sim.clock.hourOfDay(), 6.025);
});

Deno.test("Simulation passes on RangeErrors for bad initial conditions and parameters", () => {
  const make = (options: { level?: number; waterVolume?: number }) =>
    new Simulation({
      system: fishTank,
      params: {
        ...fishTank.defaults,
        waterVolume: options.waterVolume ?? 0.06,
      },
      initial: { level: options.level },
      seed: 1,
      environment: () => calmEnv(),
    });
  assert.throws(() => make({ level: -5 }), RangeError, "FishTankInitial.level");
  assert.throws(
    () => make({ waterVolume: -0.01 }),
    /FishTankParams\.waterVolume: expected a number > 0 m³/,
  );
});
