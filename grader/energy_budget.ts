/**
 * `estimateEnergyBudget`: the heat a scenario's heater may give before the energy score falls, for scenarios whose
 * `grading:` names no `energy_budget_wh`. Worked out from the scenario alone (never from a run), so every run of one
 * scenario version is held to the same budget.
 *
 * @module
 */

import {
  evaporationFlux,
  latentHeatOfVaporisation,
  type SensorName,
} from "../sim/mod.ts";
import {
  environmentAt,
  rangeAt,
  type Scenario,
  type SensorRange,
} from "../scenarios/mod.ts";

/** Options for {@linkcode estimateEnergyBudget}. */
export interface EnergyBudgetOptions {
  /** Seconds between two evaluations of the heat balance. Default 60. */
  slice?: number;
  /** Factor on the reference heat: the slack a real controller needs. Default 1.25. */
  margin?: number;
}

const defaults = { slice: 60, margin: 1.25 } satisfies EnergyBudgetOptions;

const TEMPERATURE: SensorName = "temperature";

/** Where a good controller keeps the water: the middle of the range, or half a kelvin inside a one-sided one. */
export function targetTemperature(range: SensorRange | undefined): number {
  const { min, max } = range ?? {};
  if (min !== undefined && max !== undefined) return (min + max) / 2;
  if (min !== undefined) return min + 0.5;
  if (max !== undefined) return max - 0.5;
  return 25;
}

/** Whether the heater has failed for the rest of the run at `t`: heat lost then is never made up. */
function _deadForGood(scenario: Scenario, t: number): boolean {
  return scenario.events.some((event) =>
    event.type === "heater_failure" && event.at <= t &&
    !Number.isFinite(event.until)
  );
}

/**
 * The heat (Wh, rounded up) a controller may use in `scenario`: the margin (×1.25) on the heat that holding the
 * water at the middle of its temperature range takes, from the model's steady heat balance
 * P = UA·(T − T_room) + L·E(T, T_room) (loss through the walls plus the latent heat of evaporation; the lid's factors
 * when it is open; 0 when the room is warmer), plus the heat that brings water that starts below the target up to
 * it. Heat lost while the heater cannot heat (a power cut, a heater fault with an end) counts too, since it must be
 * made up afterwards; only after a heater failure that lasts to the end of the run does nothing count.
 */
export function estimateEnergyBudget(
  scenario: Scenario,
  options: EnergyBudgetOptions = {},
): number {
  const { slice, margin } = { ...defaults, ...options };
  const { params } = scenario;
  let joules = 0;
  for (let t = 0; t < scenario.duration; t += slice) {
    const dt = Math.min(slice, scenario.duration - t);
    if (_deadForGood(scenario, t)) continue;
    const env = environmentAt(scenario, t, dt);
    const target = targetTemperature(rangeAt(scenario, TEMPERATURE, t));
    const ua = env.lidOpen ? params.ua * params.lidOpenUaFactor : params.ua;
    const coefficient = env.lidOpen
      ? params.evaporationCoefficient * params.lidOpenEvaporationFactor
      : params.evaporationCoefficient;
    const evaporation = evaporationFlux(target, env.roomTemperature, {
      relativeHumidity: params.roomHumidity,
      coefficient,
    }) * params.surfaceArea;
    const power = ua * (target - env.roomTemperature) +
      evaporation * latentHeatOfVaporisation(target);
    if (power > 0) joules += power * dt;
  }
  const start = scenario.initial.temperature;
  const target = targetTemperature(rangeAt(scenario, TEMPERATURE, 0));
  if (start !== undefined && start < target) {
    const mass = params.waterVolume * params.waterDensity;
    joules += (target - start) * mass * params.specificHeat;
  }
  return Math.ceil((joules * margin) / 3600);
}
