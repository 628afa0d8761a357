/**
 * Physical parameters of the simulated fish tank, their defaults with where each number comes from, and their
 * validation. Units are SI except concentrations (mg/L, which is g/m³) and the aquarium's own units (dKH, ppm, lux).
 *
 * @module
 */

import type { SensorName } from "./fish_tank_types.ts";
import { checkRange } from "./_check_range.ts";

/** How one sensor measures: noise, resolution, lag and range, all in the reading's unit (°C, pH, mg/L, lx, cm). */
export interface SensorSpec {
  /** Standard deviation of the Gaussian noise on each reading, in the reading's unit. */
  noise: number;
  /** Smallest step the sensor reports; readings are multiples of it. */
  resolution: number;
  /** Time constant of the sensor's first-order lag, s (0 for none). */
  timeConstant: number;
  /** Lowest value the sensor can report; readings are clamped to [min, max]. */
  min: number;
  /** Highest value the sensor can report. */
  max: number;
  /**
   * Largest calibration error of one sensor, in the reading's unit (0 for none). Each run draws its sensor's fixed
   * offset once, from the run's seeded generator: normal with σ = calibration/3, clamped to ±calibration, so the same
   * seed always gives the same offset and a datasheet's "±x" is the 3σ band. Added to every reading of the run.
   */
  calibration: number;
}

/** Everything that makes one fish tank behave as it does. */
export interface FishTankParams {
  /** Water volume when full, m³. Default 0.06 (60 L, a common 60 × 30 × 36 cm tank). */
  waterVolume: number;
  /** Water surface (and floor) area, m². Default 0.18 (0.6 m × 0.3 m), so 60 L stand 33.3 cm deep. */
  surfaceArea: number;
  /** Level at which the top-up float switch closes the valve, m. Default 0.34 (7 mm above the 60 L mark). */
  maxLevel: number;
  /** Density of the water, kg/m³. Default 1000 (997 at 25 °C; the 0.3 % is below every other uncertainty here). */
  waterDensity: number;
  /** Specific heat of the water, J/(kg·K). Default 4186 (liquid water at 15–25 °C). */
  specificHeat: number;
  /**
   * Electrical power of the heater at full command, W. Default 100 (the usual ~1.5 W/L rating for 60 L). With `ua`
   * below it holds the water ≈ 15 K above the room at most (≈ 36 °C in a 21 °C room), as real 100 W heaters in
   * 60 L do, and warms the water by at most P/(m·c) ≈ 1.4 K/h.
   */
  heaterPower: number;
  /**
   * Heat-loss coefficient of the lidded tank to the room by conduction, convection and radiation, W/K. Default 5.7,
   * from first principles for a 60 × 30 × 36 cm tank of 6 mm glass, with the surface and air-layer resistances of
   * ISO 6946 (still indoor air: 0.13 m²·K/W for a wall, 0.10 for upward heat flow, 0.17 for downward; an
   * unventilated air layer ≥ 25 mm thick with heat flowing upward, 0.16 m²·K/W):
   *
   * - side glass, 0.65 m² at U ≈ 7.1 W/(m²·K): the outer film 0.13, the glass 0.006 m / 1.0 W/(m·K) = 0.006 and
   *   the water-side film ≈ 0.005 m²·K/W: 4.6 W/K;
   * - a glass cover over a few cm of air, 0.18 m² at U ≈ 3.8 W/(m²·K): the air layer 0.16, the glass 0.004 and the
   *   outer film 0.10 m²·K/W: 0.7 W/K;
   * - the base on a 5 mm foam mat (0.14 m²·K/W) and an 18 mm wooden cabinet top (0.14 m²·K/W) over the cabinet's
   *   air (0.17 m²·K/W), 0.18 m² at U ≈ 2.2 W/(m²·K): 0.4 W/K.
   *
   * Evaporation (below) takes another ≈ 0.5 W/K near 25 °C, so the lidded tank cools towards the room with a time
   * constant of ≈ 11.5 h (m·c/UA alone is 12.2 h). The previous default, 3 W/K (≈ 20.5 h measured), was a
   * well-insulated tank chosen to make control slow; a bare glass tank loses heat nearly twice as fast.
   */
  ua: number;
  /**
   * Factor on `ua` while the lid is open. Default 1.1: the open surface loses ≈ 8 W/(m²·K) by radiation
   * (4·ε·σ·T³ ≈ 5.6 W/(m²·K) for water, ε ≈ 0.95) and natural convection (≈ 2.5 W/(m²·K) for a few kelvin), so
   * 1.4 W/K over 0.18 m² instead of the cover's 0.7 W/K: (5.7 − 0.7 + 1.4)/5.7 ≈ 1.1 (the previous 1.6 went with
   * the previous `ua` of 3 W/K). The open tank's larger loss is its evaporation, whose latent heat
   * `lidOpenEvaporationFactor` brings in.
   */
  lidOpenUaFactor: number;
  /**
   * Evaporation mass-transfer coefficient with the lid on, kg/(m²·s·Pa), in E = K·(e_s(T_water) − RH·e_s(T_room)).
   * Default 6e-9: about 1 mm of level a day at 25 °C water, 21 °C room and 50 % humidity, what lidded tanks need
   * topping up by.
   */
  evaporationCoefficient: number;
  /**
   * Factor on `evaporationCoefficient` while the lid is open. Default 5, giving ≈ 5 mm/day at 25 °C water and 21 °C
   * room; the still-air pool formula (25 kg/(m²·h) per unit humidity ratio, Engineering ToolBox) gives ≈ 7 mm/day.
   */
  lidOpenEvaporationFactor: number;
  /** Relative humidity of the room, 0–1. Default 0.5 (heated indoor air). */
  roomHumidity: number;
  /** Flow of the top-up valve, m³/s. Default 1/60000 (1 L/min through a small solenoid valve and restrictor). */
  topupFlow: number;
  /** Temperature of the top-up water, °C. Default 20 (tap water that has stood in a reservoir indoors). */
  topupTemperature: number;
  /** Dissolved CO2 of the top-up water, mg/L. Default 2 (tap water often carries more CO2 than air equilibrium). */
  topupCo2: number;
  /** Oxygen transfer coefficient kLa of the still surface, 1/s. Default 0.1/3600 (0.1 /h, a calm lidded surface). */
  surfaceKla: number;
  /** Extra oxygen kLa while the air pump runs, 1/s. Default 3/3600 (3 /h, a small air stone in 60 L). */
  pumpKla: number;
  /**
   * Ratio of the CO2 transfer coefficient to the O2 one. Default 0.9 (≈ √(D_CO2/D_O2) = 0.89 by penetration theory).
   */
  co2KlaRatio: number;
  /**
   * CO2 in the room air, ppm. Default 500 (a ventilated room; outdoor air is ≈ 420, occupied rooms 600–1000), which
   * puts air-equilibrium CO2 at 0.74 mg/L at 25 °C.
   */
  airCo2: number;
  /** Carbonate hardness, dKH; sets pH for a given CO2. Default 3 (soft tap water). */
  carbonateHardness: number;
  /**
   * Oxygen uptake of the fish and the filter bacteria at 25 °C with ample oxygen, mg/L per s. Default 0.3/3600
   * (0.3 mg/L/h: about 60 g of small fish at 0.3 mg O2/(g·h) in 60 L). This is the fish's routine metabolism
   * averaged over a day of ordinary meals, digestion included, so the food they eat adds no oxygen demand of its
   * own: only the uneaten part of a feeding does (see `fishAppetite` and `foodOxygenDemand`).
   */
  fishRespiration: number;
  /** Q10 of respiration and decay (factor per 10 K warmer). Default 2, the usual figure for ectotherms. */
  respirationQ10: number;
  /**
   * Oxygen concentration at which respiration and decay run at half speed, mg/L. Default 0.3: they hardly slow until
   * the water is nearly anoxic, which keeps oxygen from going negative.
   */
  oxygenHalfSaturation: number;
  /** Moles of CO2 produced per mole of O2 consumed. Default 1 (carbohydrate-like food; 1.375 mg CO2 per mg O2). */
  respiratoryQuotient: number;
  /**
   * Most food the fish eat of one feeding, g. Default 0.6: 60 g of small fish eat to satiation about 1 % of their
   * body mass of dry flakes in one meal (daily rations of small tropical fish are ≈ 2–3 % of body mass, in two
   * meals). What they eat fuels `fishRespiration`; the rest is left to decay.
   */
  fishAppetite: number;
  /**
   * Share of every feeding the fish never get to, 0–1: flakes that sink into the gravel or are drawn into the filter
   * before they are eaten. Default 0.1, so an ordinary 0.5 g meal leaves 0.05 g to decay, and 5 g leave 4.4 g
   * (the fish eat their 0.6 g).
   */
  uneatenFraction: number;
  /**
   * Oxygen demand of uneaten food, g O2 per g food: its ultimate BOD, all of it decaying at `organicDecay`.
   * Default 1.0: flake food is ≈ 45 % protein, 10 % fat and 25 % carbohydrate, whose complete oxidation takes
   * ≈ 1.3 g O2/g (COD), and the ultimate BOD of such organic matter is ≈ 0.8 of its COD.
   */
  foodOxygenDemand: number;
  /**
   * First-order decay rate of the organic load (BOD exertion, base e), 1/s at 25 °C; `respirationQ10` scales it with
   * temperature. Default 0.25/86400 (0.25 /day): BOD rate constants k₁ of organic wastes are 0.1–0.3 /day at
   * 20–25 °C, 0.23 /day at 20 °C for untreated domestic wastewater (Metcalf & Eddy, Wastewater Engineering, with
   * θ = 1.047 per K, so ≈ 0.29 /day at 25 °C). At this rate half the uneaten food is gone in ≈ 2.8 days.
   */
  organicDecay: number;
  /** Light the lamp adds at the water surface, lux. Default 800 (a small LED strip 30 cm above the water). */
  lampLux: number;
  /**
   * How each sensor measures; defaults follow a DS18B20 in the water, a digital room thermometer, a hobby pH probe, a
   * galvanic DO probe, a BH1750 and an HC-SR04 sonar above the water:
   *
   * - water temperature: 0.0625 °C steps (12-bit) and a calibration offset within ±0.5 °C per run (DS18B20
   *   datasheet, Maxim Integrated: "±0.5°C Accuracy from -10°C to +85°C"; its typical performance curve shows the
   *   mean ± 3σ error inside that band, hence σ = 0.5/3 ≈ 0.17 °C);
   * - level: σ = 0.3 cm, the HC-SR04's "ranging accuracy can reach to 3mm" (ElecFreaks HC-SR04 datasheet), reported
   *   in mm; the echo's 58 µs per cm means a microcontroller timing it to the microsecond resolves ≈ 0.2 mm.
   */
  sensors: Readonly<Record<SensorName, Readonly<SensorSpec>>>;
}

/** The default tank: 60 L, 100 W heater, a small air pump, a modest fish community. */
export const FISH_TANK_DEFAULTS = {
  waterVolume: 0.06,
  surfaceArea: 0.18,
  maxLevel: 0.34,
  waterDensity: 1000,
  specificHeat: 4186,
  heaterPower: 100,
  ua: 5.7,
  lidOpenUaFactor: 1.1,
  evaporationCoefficient: 6e-9,
  lidOpenEvaporationFactor: 5,
  roomHumidity: 0.5,
  topupFlow: 1 / 60_000,
  topupTemperature: 20,
  topupCo2: 2,
  surfaceKla: 0.1 / 3600,
  pumpKla: 3 / 3600,
  co2KlaRatio: 0.9,
  airCo2: 500,
  carbonateHardness: 3,
  fishRespiration: 0.3 / 3600,
  respirationQ10: 2,
  oxygenHalfSaturation: 0.3,
  respiratoryQuotient: 1,
  fishAppetite: 0.6,
  uneatenFraction: 0.1,
  foodOxygenDemand: 1,
  organicDecay: 0.25 / 86_400,
  lampLux: 800,
  sensors: {
    temperature: {
      noise: 0.05,
      resolution: 0.0625,
      timeConstant: 30,
      min: -55,
      max: 125,
      calibration: 0.5,
    },
    room_temperature: {
      noise: 0.1,
      resolution: 0.1,
      timeConstant: 30,
      min: -40,
      max: 85,
      calibration: 0,
    },
    ph: {
      noise: 0.01,
      resolution: 0.01,
      timeConstant: 60,
      min: 0,
      max: 14,
      calibration: 0,
    },
    oxygen: {
      noise: 0.05,
      resolution: 0.01,
      timeConstant: 60,
      min: 0,
      max: 20,
      calibration: 0,
    },
    light: {
      noise: 5,
      resolution: 1,
      timeConstant: 1,
      min: 0,
      max: 65_535,
      calibration: 0,
    },
    level: {
      noise: 0.3,
      resolution: 0.1,
      timeConstant: 5,
      min: 0,
      max: 100,
      calibration: 0,
    },
  },
} as const satisfies FishTankParams;

/** Overrides for {@linkcode resolveFishTankParams}: any top-level field, and any field of any sensor. */
export type FishTankParamsOverrides =
  & Partial<Omit<FishTankParams, "sensors">>
  & { sensors?: Partial<Record<SensorName, Partial<SensorSpec>>> };

/**
 * Complete, validated parameters: `overrides` on top of {@linkcode FISH_TANK_DEFAULTS}, sensor specs merged field by
 * field.
 *
 * @throws {RangeError} When a resulting value is out of range (see {@linkcode validateFishTankParams}).
 */
export function resolveFishTankParams(
  overrides: FishTankParamsOverrides = {},
): FishTankParams {
  const { sensors: sensorOverrides = {}, ...rest } = overrides;
  const base = FISH_TANK_DEFAULTS.sensors;
  const sensors = {
    temperature: { ...base.temperature, ...sensorOverrides.temperature },
    room_temperature: {
      ...base.room_temperature,
      ...sensorOverrides.room_temperature,
    },
    ph: { ...base.ph, ...sensorOverrides.ph },
    oxygen: { ...base.oxygen, ...sensorOverrides.oxygen },
    light: { ...base.light, ...sensorOverrides.light },
    level: { ...base.level, ...sensorOverrides.level },
  };
  const params: FishTankParams = { ...FISH_TANK_DEFAULTS, ...rest, sensors };
  validateFishTankParams(params);
  return params;
}

/** [field, lowest, highest, lowest excluded, unit] */
type Bound = readonly [
  keyof Omit<FishTankParams, "sensors">,
  number,
  number,
  boolean,
  string,
];

const BOUNDS: readonly Bound[] = [
  ["waterVolume", 0, Infinity, true, "m³"],
  ["surfaceArea", 0, Infinity, true, "m²"],
  ["maxLevel", 0, Infinity, true, "m"],
  ["waterDensity", 0, Infinity, true, "kg/m³"],
  ["specificHeat", 0, Infinity, true, "J/(kg·K)"],
  ["heaterPower", 0, Infinity, false, "W"],
  ["ua", 0, Infinity, false, "W/K"],
  ["lidOpenUaFactor", 0, Infinity, false, ""],
  ["evaporationCoefficient", 0, Infinity, false, "kg/(m²·s·Pa)"],
  ["lidOpenEvaporationFactor", 0, Infinity, false, ""],
  ["roomHumidity", 0, 1, false, ""],
  ["topupFlow", 0, Infinity, false, "m³/s"],
  ["topupTemperature", 0, 100, false, "°C"],
  ["topupCo2", 0, Infinity, false, "mg/L"],
  ["surfaceKla", 0, Infinity, false, "1/s"],
  ["pumpKla", 0, Infinity, false, "1/s"],
  ["co2KlaRatio", 0, Infinity, false, ""],
  ["airCo2", 0, 1e6, true, "ppm"],
  ["carbonateHardness", 0, Infinity, true, "dKH"],
  ["fishRespiration", 0, Infinity, false, "mg/L per s"],
  ["respirationQ10", 0, Infinity, true, ""],
  ["oxygenHalfSaturation", 0, Infinity, false, "mg/L"],
  ["respiratoryQuotient", 0, Infinity, false, ""],
  ["fishAppetite", 0, Infinity, false, "g"],
  ["uneatenFraction", 0, 1, false, ""],
  ["foodOxygenDemand", 0, Infinity, false, "g O2 per g food"],
  ["organicDecay", 0, Infinity, false, "1/s"],
  ["lampLux", 0, Infinity, false, "lx"],
];

/**
 * Checks every parameter: each number finite and in its physical range, each sensor with noise ≥ 0, resolution > 0,
 * time constant ≥ 0, calibration ≥ 0 and min < max.
 *
 * @throws {RangeError} Naming the field, the expected range and the value found.
 */
export function validateFishTankParams(params: FishTankParams): void {
  for (const [field, lowest, highest, lowestExcluded, unit] of BOUNDS) {
    checkRange(`FishTankParams.${field}`, params[field], {
      lowest,
      highest,
      lowestExcluded,
      unit,
    });
  }
  for (const [name, spec] of Object.entries(params.sensors)) {
    const where = `FishTankParams.sensors.${name}`;
    checkRange(`${where}.noise`, spec.noise, { lowest: 0 });
    checkRange(`${where}.resolution`, spec.resolution, {
      lowest: 0,
      lowestExcluded: true,
    });
    checkRange(`${where}.timeConstant`, spec.timeConstant, {
      lowest: 0,
      unit: "s",
    });
    checkRange(`${where}.min`, spec.min, { lowest: -Infinity });
    checkRange(`${where}.max`, spec.max, { lowest: -Infinity });
    checkRange(`${where}.calibration`, spec.calibration, { lowest: 0 });
    if (!(spec.min < spec.max)) {
      throw new RangeError(
        `${where}: expected min < max, got min ${spec.min} and max ${spec.max}`,
      );
    }
  }
}
