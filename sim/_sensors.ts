/**
 * The fish tank's sensors: per-run calibration offsets, first-order lag factors, the capture of stuck readings, and
 * noisy, offset, clamped, quantised readings with faults.
 *
 * @module
 */

import type { Rng } from "./system.ts";
import {
  type FishTankEnv,
  type FishTankReadings,
  SENSOR_NAMES,
  type SensorFault,
  type SensorName,
} from "./fish_tank_types.ts";
import type { FishTankParams, SensorSpec } from "./fish_tank_params.ts";
import { decimalsOf, quantise } from "./_quantise.ts";

/** A table of sensor specs, as in {@linkcode FishTankParams.sensors}. */
type SensorTable = Readonly<Record<SensorName, Readonly<SensorSpec>>>;
/** Frozen readings of stuck sensors. */
type StuckReadings = Readonly<Partial<Record<SensorName, number>>>;

/** No sensor stuck; shared so that the common case allocates nothing. */
export const NO_STUCK: StuckReadings = Object.freeze({});

/** Lag factors e^(−dt/τ) per sensor, cached per sensor table: every tank of a run shares one table and one step. */
const lagCache = new WeakMap<
  SensorTable,
  { dt: number; factors: Record<SensorName, number> }
>();

/** e^(−dt/τ) for each sensor (0 for a sensor without lag), so that sensed' = x + (sensed − x)·factor. */
export function lagFactors(
  sensors: SensorTable,
  dt: number,
): Readonly<Record<SensorName, number>> {
  const cached = lagCache.get(sensors);
  if (cached !== undefined && cached.dt === dt) return cached.factors;
  const factor = (
    spec: SensorSpec,
  ) => (spec.timeConstant > 0 ? Math.exp(-dt / spec.timeConstant) : 0);
  const factors = {
    temperature: factor(sensors.temperature),
    room_temperature: factor(sensors.room_temperature),
    ph: factor(sensors.ph),
    oxygen: factor(sensors.oxygen),
    light: factor(sensors.light),
    level: factor(sensors.level),
  };
  lagCache.set(sensors, { dt, factors });
  return factors;
}

/**
 * Each sensor's calibration offset for one run: σ = calibration/3 times a normal deviate from `rng`, clamped to
 * ±calibration. One deviate is drawn per sensor in publishing order whatever the specs, so changing one sensor's
 * calibration leaves the others' offsets and all later noise as they were.
 */
export function drawOffsets(
  sensors: SensorTable,
  rng: Rng,
): Readonly<Record<SensorName, number>> {
  const offsets = {} as Record<SensorName, number>;
  for (const name of SENSOR_NAMES) {
    const bound = sensors[name].calibration;
    const offset = (bound / 3) * rng.normal();
    offsets[name] = offset > bound ? bound : offset < -bound ? -bound : offset;
  }
  return offsets;
}

/**
 * Stuck readings after a step under `faults`: a sensor whose stuck fault begins now freezes at its reading at the
 * start of the step (its noiseless `sensed` value plus its offset, rounded as a reading); one whose fault has ended
 * is released. Returns `state.stuck` itself when nothing changes, which is nearly always.
 */
export function updateStuck(
  state: {
    readonly stuck: StuckReadings;
    readonly sensed: Readonly<Record<SensorName, number>>;
    readonly offsets: Readonly<Record<SensorName, number>>;
  },
  faults: Readonly<Partial<Record<SensorName, SensorFault>>>,
  sensors: SensorTable,
): StuckReadings {
  const { stuck, sensed, offsets } = state;
  let next = stuck;
  for (const name in stuck) {
    const key = name as SensorName;
    if (faults[key]?.kind !== "stuck") {
      const { [key]: _released, ...rest } = next;
      next = rest;
    }
  }
  for (const name in faults) {
    const key = name as SensorName;
    if (faults[key]?.kind === "stuck" && next[key] === undefined) {
      next = {
        ...next,
        [key]: reading(sensors, key, sensed[key] + offsets[key]),
      };
    }
  }
  return next;
}

/** Decimal places per sensor, cached per sensor table. */
const decimalsCache = new WeakMap<SensorTable, Record<SensorName, number>>();

/** `value` as sensor `name` would report it: clamped to the sensor's range and rounded to its resolution. */
export function reading(
  sensors: SensorTable,
  name: SensorName,
  value: number,
): number {
  let decimals = decimalsCache.get(sensors);
  if (decimals === undefined) {
    decimals = {
      temperature: decimalsOf(sensors.temperature.resolution),
      room_temperature: decimalsOf(sensors.room_temperature.resolution),
      ph: decimalsOf(sensors.ph.resolution),
      oxygen: decimalsOf(sensors.oxygen.resolution),
      light: decimalsOf(sensors.light.resolution),
      level: decimalsOf(sensors.level.resolution),
    };
    decimalsCache.set(sensors, decimals);
  }
  const spec = sensors[name];
  const clamped = value < spec.min
    ? spec.min
    : value > spec.max
    ? spec.max
    : value;
  return quantise(clamped, spec.resolution, decimals[name]);
}

/**
 * Readings of all six sensors: the sensed value plus the run's calibration offset plus Gaussian noise, clamped to the
 * sensor's range and rounded to its resolution. A `stuck` sensor repeats its frozen reading, a `noise` fault multiplies σ by its factor and a `dropout`
 * reads `null`. One normal deviate is drawn per sensor whatever the faults, so a fault on one sensor does not shift
 * the noise of the others.
 */
export function observeSensors(
  state: {
    readonly sensed: Readonly<Record<SensorName, number>>;
    readonly stuck: StuckReadings;
    readonly offsets: Readonly<Record<SensorName, number>>;
  },
  env: FishTankEnv,
  rng: Rng,
  params: FishTankParams,
): FishTankReadings {
  const sensors = params.sensors;
  const readings = {} as FishTankReadings;
  for (const name of SENSOR_NAMES) {
    const z = rng.normal();
    const fault = env.sensorFaults[name];
    const sensed = state.sensed[name] + state.offsets[name];
    if (fault === undefined) {
      readings[name] = reading(sensors, name, sensed + sensors[name].noise * z);
    } else if (fault.kind === "dropout") {
      readings[name] = null;
    } else if (fault.kind === "stuck") {
      // Before the first step under the fault nothing is captured yet; the noiseless value is what it will freeze at.
      readings[name] = state.stuck[name] ?? reading(sensors, name, sensed);
    } else {
      readings[name] = reading(
        sensors,
        name,
        sensed + sensors[name].noise * fault.factor * z,
      );
    }
  }
  return readings;
}
