import assert from "node:assert/strict";
import { fishTank, type FishTankState } from "./fish_tank.ts";
import { resolveFishTankParams } from "./fish_tank_params.ts";
import {
  type FishTankEnv,
  type FishTankReadings,
  SENSOR_NAMES,
  type SensorFault,
} from "./fish_tank_types.ts";
import { createRng } from "./rng.ts";
import { calmEnv, runTank } from "./_testing.ts";

/** Exact sensors: no noise and no calibration offset. */
const NOISELESS = resolveFishTankParams({
  sensors: Object.fromEntries(
    SENSOR_NAMES.map((name) => [name, { noise: 0, calibration: 0 }]),
  ),
});

function sd(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(
    values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length,
  );
}

Deno.test("sensors follow a step change through a first-order lag", () => {
  // Primed in a 21 °C room, then the room jumps to 31 °C: after one time constant (30 s) the sensor has 63 %.
  let state = fishTank.initial(NOISELESS, {}, createRng(0));
  state = fishTank.prime!(state, fishTank.idleInputs, calmEnv(), NOISELESS);
  assert.equal(state.sensed.room_temperature, 21);
  for (let t = 0; t < 30; t++) {
    state = fishTank.step(
      state,
      fishTank.idleInputs,
      calmEnv({ roomTemperature: 31 }),
      1,
      NOISELESS,
    );
  }
  const expected = 21 + 10 * (1 - Math.exp(-1));
  assert.ok(
    Math.abs(state.sensed.room_temperature - expected) < 1e-9,
    `${state.sensed.room_temperature}`,
  );
  const reading = fishTank.observe(state, calmEnv(), createRng(0), NOISELESS)
    .room_temperature;
  assert.equal(reading, Math.round(expected * 10) / 10);
});

Deno.test("prime() starts the sensors on the true values, so there is no start-up transient", () => {
  const state = fishTank.initial(NOISELESS, { temperature: 24 }, createRng(0));
  const env = calmEnv({ roomTemperature: 18, daylight: 300 });
  const primed = fishTank.prime!(
    state,
    { ...fishTank.idleInputs, light: true },
    env,
    NOISELESS,
  );
  const readings = fishTank.observe(primed, env, createRng(0), NOISELESS);
  assert.deepEqual(
    [readings.temperature, readings.room_temperature, readings.light],
    [24, 18, 1100],
  );
});

/** Readings every `every` s over `seconds` of a heating tank, under the faults `faultsAt(t)`. */
function readingsOver(options: {
  seconds: number;
  every?: number;
  seed?: number;
  faultsAt?: (t: number) => FishTankEnv["sensorFaults"];
}): { t: number; readings: FishTankReadings; state: FishTankState }[] {
  const rng = createRng(options.seed ?? 1);
  const params = resolveFishTankParams();
  const out: { t: number; readings: FishTankReadings; state: FishTankState }[] =
    [];
  const envAt = (t: number) =>
    calmEnv({ daylight: 50, sensorFaults: options.faultsAt?.(t) ?? {} });
  runTank({
    inputs: { heater: 1, light: true },
    env: envAt,
    seconds: options.seconds,
    onStep: (state, t) => {
      // The environment of the step that just ended, as Simulation.observe() uses it.
      if (t % (options.every ?? 10) === 0) {
        out.push({
          t,
          state,
          readings: fishTank.observe(state, envAt(t - 1), rng, params),
        });
      }
    },
  });
  return out;
}

Deno.test("readings are multiples of each sensor's resolution and print without binary noise", () => {
  const spec = resolveFishTankParams().sensors;
  const decimals = {
    temperature: 4,
    room_temperature: 1,
    ph: 2,
    oxygen: 2,
    light: 0,
    level: 1,
  };
  for (const { readings } of readingsOver({ seconds: 3 * 3600, every: 10 })) {
    for (const name of SENSOR_NAMES) {
      const value = readings[name]!;
      const steps = value / spec[name].resolution;
      assert.ok(Math.abs(steps - Math.round(steps)) < 1e-9, `${name} ${value}`);
      const [, fraction = ""] = String(value).split(".");
      assert.ok(
        fraction.length <= decimals[name],
        `${name} prints as ${value}`,
      );
    }
  }
});

Deno.test("reading noise has each sensor's standard deviation and a noise fault multiplies it", () => {
  const params = resolveFishTankParams();
  const state = fishTank.prime!(
    fishTank.initial(params, {}, createRng(0)),
    fishTank.idleInputs,
    calmEnv({ daylight: 500 }),
    params,
  );
  const rng = createRng(9);
  const sample = (fault?: SensorFault) =>
    Array.from({ length: 20_000 }, () => {
      const env = calmEnv({
        daylight: 500,
        sensorFaults: fault ? { light: fault } : {},
      });
      return fishTank.observe(state, env, rng, params).light!;
    });
  // σ = 5 lx with 1 lx steps: quantisation adds 1/12 lx² of variance.
  assert.ok(Math.abs(sd(sample()) - 5) < 0.2, `σ ${sd(sample())}`);
  assert.ok(
    Math.abs(sd(sample({ kind: "noise", factor: 4 })) - 20) < 0.6,
    "σ with a noise fault ×4",
  );
});

Deno.test("readings stay within the sensor's range: no negative lux in the dark", () => {
  const params = resolveFishTankParams();
  const state = fishTank.prime!(
    fishTank.initial(params, {}, createRng(0)),
    fishTank.idleInputs,
    calmEnv(),
    params,
  );
  const rng = createRng(3);
  for (let i = 0; i < 1000; i++) {
    assert.ok(fishTank.observe(state, calmEnv(), rng, params).light! >= 0);
  }
});

Deno.test("a stuck sensor repeats the reading it had when the fault began, then recovers", () => {
  const stuckFrom = 600;
  const stuckUntil = 1800;
  const series = readingsOver({
    seconds: 3600,
    faultsAt: (
      t,
    ) => (t >= stuckFrom && t < stuckUntil
      ? { temperature: { kind: "stuck" } }
      : {}),
  });
  const during = series.filter(({ t }) => t > stuckFrom && t <= stuckUntil).map(
    ({ readings }) => readings.temperature,
  );
  assert.equal(new Set(during).size, 1);
  // The frozen value is the noiseless sensed temperature (with the run's offset) at the start of the fault, rounded to
  // 0.0625 °C.
  const { sensed, offsets } = series.find(({ t }) => t === stuckFrom)!.state;
  const before = sensed.temperature + offsets.temperature;
  assert.equal(during[0], Math.round(before / 0.0625) * 0.0625);
  // The heater keeps warming the water, so afterwards the readings move on.
  const after = series.filter(({ t }) => t > stuckUntil + 60).map((
    { readings },
  ) => readings.temperature!);
  assert.ok(
    after.every((value) => value > during[0]! + 0.1),
    `after ${after[0]}, stuck at ${during[0]}`,
  );
  // Other sensors keep reporting while one is stuck.
  assert.ok(new Set(series.map(({ readings }) => readings.oxygen)).size > 1);
});

Deno.test("a dropped-out sensor reads null without shifting the noise of the others", () => {
  const dropped = readingsOver({
    seconds: 1200,
    faultsAt: () => ({ ph: { kind: "dropout" } }),
  });
  const normal = readingsOver({ seconds: 1200 });
  assert.ok(dropped.every(({ readings }) => readings.ph === null));
  assert.deepEqual(
    dropped.map(({ readings }) => ({ ...readings, ph: 0 })),
    normal.map(({ readings }) => ({ ...readings, ph: 0 })),
  );
  assert.ok(normal.every(({ readings }) => typeof readings.ph === "number"));
});

Deno.test("the level sensor is as noisy as an HC-SR04: σ ≈ 3 mm, read to the millimetre", () => {
  // Reference: the HC-SR04 datasheet's "ranging accuracy can reach to 3mm", taken as one standard deviation.
  const params = resolveFishTankParams();
  const state = fishTank.prime!(
    fishTank.initial(params, {}, createRng(0)),
    fishTank.idleInputs,
    calmEnv(),
    params,
  );
  const rng = createRng(5);
  const levels = Array.from(
    { length: 20_000 },
    () => fishTank.observe(state, calmEnv(), rng, params).level!,
  );
  // σ = 0.3 cm with 0.1 cm steps: quantisation adds 0.01/12 cm² of variance.
  assert.ok(Math.abs(sd(levels) - 0.3) < 0.01, `σ ${sd(levels)} cm`);
  assert.ok(
    levels.every((value) =>
      Math.abs(value * 10 - Math.round(value * 10)) < 1e-9
    ),
  );
});

/** The water-temperature sensor's offset for a run with `seed`, as a Simulation draws it at the start. */
function temperatureOffset(seed: number): number {
  return fishTank.initial(resolveFishTankParams(), {}, createRng(seed)).offsets
    .temperature;
}

Deno.test("the water-temperature sensor has a per-seed calibration offset within a DS18B20's ±0.5 °C", () => {
  // Reference: DS18B20 datasheet, "±0.5°C Accuracy from -10°C to +85°C"; drawn with σ = 0.5/3 °C, clamped.
  assert.equal(temperatureOffset(7), temperatureOffset(7));
  assert.notEqual(temperatureOffset(7), temperatureOffset(8));
  const offsets = Array.from(
    { length: 3000 },
    (_, seed) => temperatureOffset(seed),
  );
  assert.ok(offsets.every((offset) => Math.abs(offset) <= 0.5));
  assert.ok(Math.abs(sd(offsets) - 0.5 / 3) < 0.01, `σ ${sd(offsets)} °C`);
  const mean = offsets.reduce((a, b) => a + b, 0) / offsets.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean} °C`);
  // Only the water sensor has one by default; the others read true on average.
  const state = fishTank.initial(resolveFishTankParams(), {}, createRng(7));
  assert.deepEqual(
    SENSOR_NAMES.filter((name) => state.offsets[name] !== 0),
    ["temperature"],
  );
});

Deno.test("readings of the water temperature average the true value plus the run's offset", () => {
  const params = resolveFishTankParams();
  for (const seed of [1, 21, 55]) {
    const rng = createRng(seed);
    const state = fishTank.prime!(
      fishTank.initial(params, { temperature: 25 }, rng),
      fishTank.idleInputs,
      calmEnv(),
      params,
    );
    const readings = Array.from(
      { length: 5000 },
      () => fishTank.observe(state, calmEnv(), rng, params).temperature!,
    );
    const mean = readings.reduce((a, b) => a + b, 0) / readings.length;
    assert.ok(
      Math.abs(mean - (25 + state.offsets.temperature)) < 0.01,
      `seed ${seed}: mean ${mean}, offset ${state.offsets.temperature}`,
    );
  }
});
