/**
 * The pure simulator: systems, the fish-tank model, its physics helpers, the virtual clock, the seeded generator and
 * the {@linkcode Simulation} runner. Nothing here reads the wall clock, draws unseeded random numbers or does I/O.
 *
 * @module
 */

export type { Rng, System } from "./system.ts";
export {
  ACTUATOR_NAMES,
  type ActuatorName,
  type FishTankEnv,
  type FishTankInitial,
  type FishTankInputs,
  type FishTankReadings,
  SENSOR_NAMES,
  SENSOR_UNITS,
  type SensorFault,
  type SensorName,
} from "./fish_tank_types.ts";
export {
  FISH_TANK_DEFAULTS,
  type FishTankParams,
  type FishTankParamsOverrides,
  resolveFishTankParams,
  type SensorSpec,
  validateFishTankParams,
} from "./fish_tank_params.ts";
export { fishTank, type FishTankState, MAX_PH, MIN_PH } from "./fish_tank.ts";
export {
  co2FromPh,
  co2Saturation,
  evaporationFlux,
  type EvaporationOptions,
  latentHeatOfVaporisation,
  oxygenSaturation,
  phFromCo2,
  saturationVapourPressure,
} from "./water.ts";
export { createRng } from "./rng.ts";
export { type ReadonlyClock, VirtualClock } from "./clock.ts";
export { Simulation, type SimulationOptions } from "./simulation.ts";
export { SIMULATOR_VERSION } from "./version.ts";
