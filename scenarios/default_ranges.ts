/**
 * The ranges a scenario gets for every sensor it says nothing about: what a tropical community tank needs.
 *
 * @module
 */

import type { SensorName } from "../sim/mod.ts";
import { deepFreeze } from "./_deep_freeze.ts";
import type { RangeRule } from "./scenario.ts";

const WHOLE_DAY = { from: 0, to: 24 } as const;

/**
 * Default ranges per sensor, as time-of-day rules: water 24–26 °C, pH 7.2–8.2, oxygen at least 6 mg/L, level
 * 30–35 cm, light at least 400 lx from 08:00 to 20:00 and at most 100 lx from 20:00 to 08:00 (fish need a night),
 * and no range for the room temperature (nobody controls the room).
 */
export const DEFAULT_RANGES: Readonly<
  Record<SensorName, readonly RangeRule[]>
> = deepFreeze({
  temperature: [{ ...WHOLE_DAY, range: { min: 24, max: 26 } }],
  room_temperature: [],
  ph: [{ ...WHOLE_DAY, range: { min: 7.2, max: 8.2 } }],
  oxygen: [{ ...WHOLE_DAY, range: { min: 6 } }],
  light: [
    { from: 8, to: 20, range: { min: 400 } },
    { from: 20, to: 8, range: { max: 100 } },
  ],
  level: [{ ...WHOLE_DAY, range: { min: 30, max: 35 } }],
});
