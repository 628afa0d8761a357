/**
 * The fish tank: water temperature from an energy balance, water level from evaporation and top-up, dissolved oxygen
 * and CO2 from gas exchange, respiration and decaying food, pH from CO2 and carbonate hardness, and six sensors with
 * noise, resolution, lag, a per-run calibration offset and faults.
 *
 * The model, per step (parameters in {@linkcode FishTankParams}):
 *
 * - Heat: m·c·dT/dt = P_heater − UA·(T − T_room) − L·E, with m the current water mass, E the evaporation rate
 *   (kg/s) and L the latent heat of vaporisation: the evaporated water's latent heat is taken from the tank. The lid
 *   multiplies UA and E when open. Top-up water mixes in at its own temperature.
 * - Level: V/A; E = K·A·(e_s(T) − RH·e_s(T_room)) lowers it; top-up adds `topupFlow` until the float switch at
 *   `maxLevel`.
 * - Oxygen: dO/dt = kLa·(O_sat(T) − O) − R·f − k_d·f·B, with kLa the surface's plus the pump's, R the respiration
 *   (Q10 in temperature), B the oxygen demand of uneaten food (decaying at the BOD rate k_d) and f = O/(O + K) the
 *   slow-down when oxygen runs out. Of each feeding F the fish eat min((1 − u)·F, appetite); their respiration R
 *   already includes digesting it, so only the rest adds to B.
 * - CO2: produced at RQ·44/32 mg per mg of oxygen consumed, exchanged with the air at 0.9·kLa towards
 *   `co2Saturation(T, airCo2)`; pH = 7 − log10(CO2 / (3·KH)).
 *
 * Each equation is advanced with its exact exponential solution for coefficients held over the step (see
 * `_relax.ts`), so a 1 s step and a 60 s step agree to far better than the sensor noise; only the couplings between
 * equations (temperature in the gas laws, oxygen in the slow-down) are taken at the start of the step.
 *
 * @module
 */

import type { Rng, System } from "./system.ts";
import {
  type FishTankEnv,
  type FishTankInitial,
  type FishTankInputs,
  type FishTankReadings,
  type SensorName,
} from "./fish_tank_types.ts";
import {
  FISH_TANK_DEFAULTS,
  type FishTankParams,
  validateFishTankParams,
} from "./fish_tank_params.ts";
import {
  co2FromPh,
  co2Saturation,
  evaporationFlux,
  latentHeatOfVaporisation,
  oxygenSaturation,
  phFromCo2,
} from "./water.ts";
import { relax } from "./_relax.ts";
import { checkRange } from "./_check_range.ts";
import {
  drawOffsets,
  lagFactors,
  NO_STUCK,
  observeSensors,
  updateStuck,
} from "./_sensors.ts";

/** Lowest pH the model produces; real tanks with any carbonate hardness left stay well above it. */
export const MIN_PH = 4;
/** Highest pH the model produces; above it the CO2 rule no longer holds (carbonate, not bicarbonate, dominates). */
export const MAX_PH = 9.5;
/** Evaporation stops at this level, m, so the volume stays positive; a real heater would be dry long before. */
const MIN_LEVEL = 0.01;
/** Mass of CO2 per mass of O2 at a respiratory quotient of 1 (44.01 / 32.00). */
const CO2_PER_O2 = 44.01 / 32.0;

/** The tank at one instant. Fields marked "derived" follow from others and are kept for readers and graders. */
export interface FishTankState {
  /** Water temperature, °C. */
  readonly temperature: number;
  /** Water volume, m³. */
  readonly volume: number;
  /** Water level, cm (derived: volume / surface area). */
  readonly level: number;
  /** Dissolved oxygen, mg/L. */
  readonly oxygen: number;
  /** Dissolved CO2, mg/L. */
  readonly co2: number;
  /** pH (derived from CO2 and carbonate hardness, within {@linkcode MIN_PH}–{@linkcode MAX_PH}). */
  readonly ph: number;
  /** Oxygen demand of decaying food still in the water, mg/L. */
  readonly organicLoad: number;
  /** Room temperature during the last step, °C. */
  readonly roomTemperature: number;
  /** Light at the water surface during the last step, lux. */
  readonly light: number;
  /** Heater power delivered during the last step, W (after faults and power cuts). */
  readonly heaterPower: number;
  /** Whether the air pump was bubbling during the last step. */
  readonly pumpOn: boolean;
  /** Whether the lamp was lit during the last step. */
  readonly lampOn: boolean;
  /** Whether top-up water flowed during the last step. */
  readonly topupOn: boolean;
  /** Heat delivered by the heater since the start, J (for energy scores). */
  readonly heaterEnergy: number;
  /** What each sensor's element currently senses: the true value through its first-order lag. */
  readonly sensed: Readonly<Record<SensorName, number>>;
  /** Frozen readings of the sensors that are stuck, captured at the step where the fault began. */
  readonly stuck: Readonly<Partial<Record<SensorName, number>>>;
  /** Calibration offset of each sensor for the whole run, drawn once in `initial` (see `SensorSpec.calibration`). */
  readonly offsets: Readonly<Record<SensorName, number>>;
}

const IDLE_INPUTS: Readonly<FishTankInputs> = Object.freeze({
  heater: 0,
  light: false,
  pump: false,
  topup: false,
});

/** The fish tank as a {@linkcode System}, with id `fishtank`. */
export const fishTank: System<
  FishTankParams,
  FishTankInitial,
  FishTankState,
  FishTankInputs,
  FishTankEnv,
  FishTankReadings
> = {
  id: "fishtank",
  defaults: FISH_TANK_DEFAULTS,
  idleInputs: IDLE_INPUTS,
  initial: initialState,
  step: stepTank,
  observe: observeSensors,
  prime: primeTank,
};

/**
 * State at time zero: 25 °C, pH 7.8, oxygen at saturation and the level of a full `waterVolume` unless `initial` says
 * otherwise. Sensors start on the true values; the room sensor assumes the room is at the water temperature until
 * {@linkcode primeTank} or the first step tells it otherwise. Each sensor's calibration offset for the run is drawn
 * from `rng` here, one normal deviate per sensor in publishing order, so the same seed gives the same offsets.
 *
 * @throws {RangeError} When a parameter or an initial condition is out of range, naming it.
 */
function initialState(
  params: FishTankParams,
  initial: FishTankInitial,
  rng: Rng,
): FishTankState {
  validateFishTankParams(params);
  const temperature = initial.temperature ?? 25;
  checkRange("FishTankInitial.temperature", temperature, {
    lowest: 0,
    highest: 50,
    unit: "°C",
  });
  const ph = initial.ph ?? 7.8;
  checkRange("FishTankInitial.ph", ph, { lowest: MIN_PH, highest: MAX_PH });
  const saturation = oxygenSaturation(temperature);
  const oxygen = initial.oxygen ?? saturation;
  checkRange("FishTankInitial.oxygen", oxygen, {
    lowest: 0,
    highest: 2 * saturation,
    unit: "mg/L",
  });
  const level = initial.level ??
    (params.waterVolume / params.surfaceArea) * 100;
  checkRange("FishTankInitial.level", level, {
    lowest: MIN_LEVEL * 100,
    lowestExcluded: true,
    unit: "cm",
  });
  return {
    temperature,
    // Taken as given when the level is not, so that the default tank holds exactly waterVolume.
    volume: initial.level === undefined
      ? params.waterVolume
      : (level / 100) * params.surfaceArea,
    level,
    oxygen,
    co2: co2FromPh(ph, params.carbonateHardness),
    ph,
    organicLoad: 0,
    roomTemperature: temperature,
    light: 0,
    heaterPower: 0,
    pumpOn: false,
    lampOn: false,
    topupOn: false,
    heaterEnergy: 0,
    sensed: {
      temperature,
      room_temperature: temperature,
      ph,
      oxygen,
      light: 0,
      level,
    },
    stuck: NO_STUCK,
    offsets: drawOffsets(params.sensors, rng),
  };
}

/** Sensors snapped to the true values under `env`, as if they had been running long before time zero. */
function primeTank(
  state: FishTankState,
  inputs: FishTankInputs,
  env: FishTankEnv,
  params: FishTankParams,
): FishTankState {
  const light = env.daylight +
    (!env.powerCut && inputs.light ? params.lampLux : 0);
  return {
    ...state,
    roomTemperature: env.roomTemperature,
    light,
    sensed: {
      temperature: state.temperature,
      room_temperature: env.roomTemperature,
      ph: state.ph,
      oxygen: state.oxygen,
      light,
      level: state.level,
    },
    stuck: NO_STUCK,
  };
}

/** Advances the tank by `dt` seconds. Pure: returns a new state and leaves `state` as it was. */
function stepTank(
  state: FishTankState,
  inputs: FishTankInputs,
  env: FishTankEnv,
  dt: number,
  params: FishTankParams,
): FishTankState {
  const powered = !env.powerCut;
  // Commands outside 0–1 (or NaN) saturate the way a real power controller would.
  const command = inputs.heater > 0
    ? (inputs.heater < 1 ? inputs.heater : 1)
    : 0;
  const fraction = env.heater === "failed"
    ? 0
    : env.heater === "stuck_on"
    ? 1
    : command;
  const heaterPower = powered ? params.heaterPower * fraction : 0;
  const pumpOn = powered && inputs.pump && env.pump === "ok";
  const lampOn = powered && inputs.light;

  const t0 = state.temperature;
  const v0 = state.volume;
  const room = env.roomTemperature;
  const mass = v0 * params.waterDensity;
  const heatCapacity = mass * params.specificHeat;

  // Heat: m·c·dT/dt = P_heater − P_latent − UA·(T − T_room). The latent heat of the water that evaporates is taken
  // from the tank, which is why an open tank runs cooler than the room.
  const ua = env.lidOpen ? params.ua * params.lidOpenUaFactor : params.ua;
  const evaporationCoefficient = env.lidOpen
    ? params.evaporationCoefficient * params.lidOpenEvaporationFactor
    : params.evaporationCoefficient;
  const evaporationRate = evaporationFlux(t0, room, {
    relativeHumidity: params.roomHumidity,
    coefficient: evaporationCoefficient,
  }) * params.surfaceArea; // kg/s
  const latentPower = evaporationRate * latentHeatOfVaporisation(t0);
  let temperature = relax(
    t0,
    ua / heatCapacity,
    (heaterPower - latentPower + ua * room) / heatCapacity,
    dt,
  );

  // Water lost to the air leaves at the water's temperature, so it changes the mass but not the temperature.
  const minVolume = MIN_LEVEL * params.surfaceArea;
  const evaporated = Math.min(
    (evaporationRate * dt) / params.waterDensity,
    Math.max(0, v0 - minVolume),
  );
  const v1 = v0 - evaporated;
  // The float switch shuts the valve at maxLevel, so top-up can never overflow the tank.
  const topupRoom = params.maxLevel * params.surfaceArea - v1;
  const topupOn = powered && inputs.topup && topupRoom > 0;
  const added = topupOn ? Math.min(params.topupFlow * dt, topupRoom) : 0;
  const volume = v1 + added;

  // Oxygen: dO/dt = kLa·(O_sat − O) − respiration − decay. Respiration and decay speed up with temperature (Q10) and
  // slow down as oxygen runs out (Monod), which keeps oxygen from going negative without a hard floor.
  const saturation = oxygenSaturation(t0);
  const o0 = state.oxygen;
  const thermal = params.respirationQ10 ** ((t0 - 25) / 10);
  // Written so that a half-saturation of 0 with no oxygen gives 0, not 0/0.
  const limitation = o0 > 0 ? o0 / (o0 + params.oxygenHalfSaturation) : 0;
  // The fish eat up to their appetite and their respiration covers it; only what they leave decays.
  const eaten = env.feeding > 0
    ? Math.min(env.feeding * (1 - params.uneatenFraction), params.fishAppetite)
    : 0;
  const feedLoad = env.feeding > 0
    ? ((env.feeding - eaten) * params.foodOxygenDemand) / v0
    : 0; // g/m³ = mg/L
  const load0 = state.organicLoad + feedLoad;
  const load1 = load0 > 0
    ? load0 * Math.exp(-params.organicDecay * thermal * limitation * dt)
    : 0;
  const consumed = params.fishRespiration * thermal * limitation * dt +
    (load0 - load1); // mg/L over the step
  const kla = params.surfaceKla + (pumpOn ? params.pumpKla : 0);
  let oxygen = relax(o0, kla, kla * saturation - consumed / dt, dt);

  // CO2: produced by the same respiration and decay, vented by the same surface and bubbles.
  const co2Kla = kla * params.co2KlaRatio;
  const co2Equilibrium = co2Saturation(t0, params.airCo2);
  const produced = consumed * params.respiratoryQuotient * CO2_PER_O2;
  let co2 = relax(
    state.co2,
    co2Kla,
    co2Kla * co2Equilibrium + produced / dt,
    dt,
  );

  // Mix in the top-up water (same specific heat, so temperatures mix by volume); evaporation concentrates the
  // organic load and top-up dilutes it.
  if (added > 0) {
    temperature = (temperature * v1 + params.topupTemperature * added) / volume;
    oxygen = (oxygen * v1 + oxygenSaturation(params.topupTemperature) * added) /
      volume;
    co2 = (co2 * v1 + params.topupCo2 * added) / volume;
  }
  const organicLoad = (load1 * v0) / volume;
  oxygen = oxygen < 0 ? 0 : Math.min(oxygen, 2 * oxygenSaturation(temperature));
  const co2Floor = co2FromPh(MAX_PH, params.carbonateHardness);
  co2 = co2 > co2Floor ? co2 : co2Floor;
  const phRaw = phFromCo2(co2, params.carbonateHardness);
  const ph = phRaw > MIN_PH ? phRaw : MIN_PH;

  const level = (volume / params.surfaceArea) * 100;
  const light = env.daylight + (lampOn ? params.lampLux : 0);

  // Sensors follow the new true values through their first-order lag (exact for a step change at the step start).
  const lag = lagFactors(params.sensors, dt);
  const s = state.sensed;
  const sensed = {
    temperature: temperature + (s.temperature - temperature) * lag.temperature,
    room_temperature: room + (s.room_temperature - room) * lag.room_temperature,
    ph: ph + (s.ph - ph) * lag.ph,
    oxygen: oxygen + (s.oxygen - oxygen) * lag.oxygen,
    light: light + (s.light - light) * lag.light,
    level: level + (s.level - level) * lag.level,
  };

  return {
    temperature,
    volume,
    level,
    oxygen,
    co2,
    ph,
    organicLoad,
    roomTemperature: room,
    light,
    heaterPower,
    pumpOn,
    lampOn,
    topupOn,
    heaterEnergy: state.heaterEnergy + heaterPower * dt,
    sensed,
    stuck: updateStuck(state, env.sensorFaults, params.sensors),
    offsets: state.offsets,
  };
}
