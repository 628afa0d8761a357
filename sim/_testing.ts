/**
 * Helpers for the simulator's own tests: a calm environment and a loop that steps a tank directly.
 *
 * @module
 */

import type {
  FishTankEnv,
  FishTankInitial,
  FishTankInputs,
} from "./fish_tank_types.ts";
import {
  type FishTankParams,
  type FishTankParamsOverrides,
  resolveFishTankParams,
} from "./fish_tank_params.ts";
import { fishTank, type FishTankState } from "./fish_tank.ts";
import { createRng } from "./rng.ts";

/** A 21 °C dark room with nothing going wrong, with `overrides` on top. */
export function calmEnv(overrides: Partial<FishTankEnv> = {}): FishTankEnv {
  return {
    roomTemperature: 21,
    daylight: 0,
    heater: "ok",
    pump: "ok",
    powerCut: false,
    lidOpen: false,
    feeding: 0,
    sensorFaults: {},
    ...overrides,
  };
}

/** What {@linkcode runTank} runs. */
export interface RunOptions {
  params?: FishTankParamsOverrides;
  initial?: FishTankInitial;
  inputs?: Partial<FishTankInputs>;
  /** The environment at `t` s, or a fixed one; default {@linkcode calmEnv}. */
  env?: FishTankEnv | ((t: number) => FishTankEnv);
  seconds: number;
  dt?: number;
  /** Called after every step with the new state and the time at its end. */
  onStep?: (state: FishTankState, t: number) => void;
}

/** Steps a primed tank from its initial state for `seconds`, returning the final state and the parameters used. */
export function runTank(
  options: RunOptions,
): { state: FishTankState; params: FishTankParams } {
  const params = resolveFishTankParams(options.params);
  const inputs = { ...fishTank.idleInputs, ...options.inputs };
  const dt = options.dt ?? 1;
  const fixed = options.env ?? calmEnv();
  const envAt = typeof fixed === "function" ? fixed : () => fixed;
  let state = fishTank.initial(params, options.initial ?? {}, createRng(0));
  state = fishTank.prime!(state, inputs, envAt(0), params);
  const steps = Math.round(options.seconds / dt);
  for (let i = 0; i < steps; i++) {
    state = fishTank.step(state, inputs, envAt(i * dt), dt, params);
    options.onStep?.(state, (i + 1) * dt);
  }
  return { state, params };
}

/** Water heat capacity m·c of a state, J/K. */
export function heatCapacity(
  state: FishTankState,
  params: FishTankParams,
): number {
  return state.volume * params.waterDensity * params.specificHeat;
}
