/**
 * The zod schema of scenario files. Keys are snake_case, as teachers write them; the schema checks every field on
 * its own (types, units, bounds, unknown keys) and converts durations to seconds, times of day to hours and the start
 * to epoch ms. Checks that need several fields at once (events after the end, periods vs. the step) are made by
 * {@linkcode parseScenario} once this schema has passed.
 *
 * @module
 */

import { z } from "zod";
import {
  FISH_TANK_DEFAULTS,
  type FishTankParams,
  type FishTankParamsOverrides,
  MAX_PH,
  MIN_PH,
  SENSOR_NAMES,
  type SensorSpec,
} from "../sim/mod.ts";
import {
  type DaylightProfile,
  DEFAULT_DAYLIGHT,
  DEFAULT_ROOM,
  type RoomProfile,
} from "./day_profile.ts";
import { deepFreeze } from "./_deep_freeze.ts";
import { eventSchema } from "./_event_schema.ts";
import { rangeRulesProblems } from "./_range_rules.ts";
import { duration, startTime, strict, timeOfDay } from "./_schema_fields.ts";
import { expected } from "./_zod_issues.ts";
import type {
  GradingComponent,
  RangeRule,
  ScenarioGrading,
  SensorRange,
} from "./scenario.ts";
import { EVENT_TYPES, type EventType } from "./scenario_event.ts";
import { SCENARIO_LIMITS } from "./scenario_limits.ts";

const KEBAB_CASE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const number = z.number();

/** `{min, max}`: at least one bound, and min below max. */
const minMax = strict({ min: number.optional(), max: number.optional() })
  .check((ctx) => {
    const { min, max } = ctx.value;
    if (min === undefined && max === undefined) {
      ctx.issues.push({
        code: "custom",
        message: "expected min, max or both",
        input: ctx.value,
      });
    } else if (min !== undefined && max !== undefined && min >= max) {
      ctx.issues.push({
        code: "custom",
        message: `expected min < max, got min ${min} ≥ max ${max}`,
        input: ctx.value,
      });
    }
  });

/** `{from, to, min?, max?}`: a range in force during part of each day; no bounds means "no limits then". */
const rangeRule = strict({
  from: timeOfDay,
  to: timeOfDay,
  min: number.optional(),
  max: number.optional(),
})
  .check((ctx) => {
    const { min, max } = ctx.value;
    if (min !== undefined && max !== undefined && min >= max) {
      ctx.issues.push({
        code: "custom",
        message: `expected min < max, got min ${min} ≥ max ${max}`,
        input: ctx.value,
      });
    }
  });

function _range(min: number | undefined, max: number | undefined): SensorRange {
  return {
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  };
}

/** One sensor's range: `{min, max}` all day, a list of time-of-day rules covering the day, or `null` for none. */
const sensorRanges = z.union([z.null(), minMax, z.array(rangeRule).min(1)], {
  error: expected(
    '{min, max}, a list of time-of-day rules like [{from: "08:00", to: "20:00", min: 400}], or null',
  ),
}).transform((spec, ctx): RangeRule[] => {
  if (spec === null) return [];
  if (!Array.isArray(spec)) {
    return [{ from: 0, to: 24, range: _range(spec.min, spec.max) }];
  }
  const rules = spec.map((rule) => ({
    from: rule.from,
    to: rule.to,
    range: _range(rule.min, rule.max),
  }));
  for (const problem of rangeRulesProblems(rules)) {
    ctx.addIssue({
      code: "custom",
      message: problem.message,
      path: problem.path,
      input: spec,
    });
  }
  return rules;
});

const ranges = strict(
  Object.fromEntries(
    SENSOR_NAMES.map((name) => [name, sensorRanges.optional()]),
  ) as {
    [K in typeof SENSOR_NAMES[number]]: z.ZodOptional<typeof sensorRanges>;
  },
);

/** snake_case key of each physical parameter (`heater_power` for `heaterPower`). */
export function paramKey(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(
    /([A-Z])([A-Z][a-z])/g,
    "$1_$2",
  ).toLowerCase();
}

/** YAML key → `FishTankParams` field, for every numeric parameter (`heater_power` → `heaterPower`). */
const PARAM_NAMES: ReadonlyMap<string, NumericParam> = new Map(
  (Object.keys(FISH_TANK_DEFAULTS) as (keyof FishTankParams)[])
    .filter((name): name is NumericParam =>
      typeof FISH_TANK_DEFAULTS[name] === "number"
    )
    .map((name) => [paramKey(name), name]),
);
type NumericParam = Exclude<keyof FishTankParams, "sensors">;

/** YAML key → `SensorSpec` field (`time_constant` → `timeConstant`). */
const SENSOR_SPEC_NAMES: ReadonlyMap<string, keyof SensorSpec> = new Map(
  (Object.keys(FISH_TANK_DEFAULTS.sensors.temperature) as (keyof SensorSpec)[])
    .map((name) => [paramKey(name), name]),
);

const sensorSpec = strict(
  Object.fromEntries(
    [...SENSOR_SPEC_NAMES.keys()].map((key) => [key, number.optional()]),
  ),
  { listKnown: true },
).transform((spec) => {
  const out: Partial<Record<keyof SensorSpec, number>> = {};
  for (const [key, value] of Object.entries(spec)) {
    if (value !== undefined) out[SENSOR_SPEC_NAMES.get(key)!] = value;
  }
  return out;
});

/**
 * `params:` overrides of the model's physical parameters, by snake_case name (`heater_power: 60`), plus
 * `sensors: {temperature: {noise: 0.2}}` for sensor specs; returned as camelCase {@linkcode FishTankParamsOverrides}.
 */
const params = strict(
  {
    ...Object.fromEntries(
      [...PARAM_NAMES.keys()].map((key) => [key, number.optional()]),
    ),
    sensors: strict(
      Object.fromEntries(
        SENSOR_NAMES.map((name) => [name, sensorSpec.optional()]),
      ),
    ).optional(),
  },
  { listKnown: true },
).transform((overrides) => {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (key === "sensors") {
      out.sensors = Object.fromEntries(
        Object.entries(value as object).filter(([, spec]) =>
          spec !== undefined
        ),
      );
    } else {
      out[PARAM_NAMES.get(key)!] = value;
    }
  }
  return out as FishTankParamsOverrides;
});

const initial = strict({
  temperature: number.min(0).max(50).optional(),
  ph: number.min(MIN_PH).max(MAX_PH).optional(),
  oxygen: number.min(0).optional(),
  level: number.positive().optional(),
});

const room = strict({
  mean: number.min(-20).max(50).optional(),
  amplitude: number.min(0).max(20).optional(),
  coldest_at: timeOfDay.optional(),
}).transform((spec): RoomProfile => ({
  mean: spec.mean ?? DEFAULT_ROOM.mean,
  amplitude: spec.amplitude ?? DEFAULT_ROOM.amplitude,
  coldestHour: (spec.coldest_at ?? DEFAULT_ROOM.coldestHour) % 24,
}));

const daylight = strict({
  peak_lux: number.min(0).optional(),
  sunrise: timeOfDay.optional(),
  sunset: timeOfDay.optional(),
}).transform((spec, ctx): DaylightProfile => {
  const profile = {
    peakLux: spec.peak_lux ?? DEFAULT_DAYLIGHT.peakLux,
    sunrise: spec.sunrise ?? DEFAULT_DAYLIGHT.sunrise,
    sunset: spec.sunset ?? DEFAULT_DAYLIGHT.sunset,
  };
  if (profile.sunrise >= profile.sunset) {
    const message =
      `expected sunrise before sunset, got sunrise ${profile.sunrise} h and sunset ${profile.sunset} h` +
      (spec.sunrise === undefined || spec.sunset === undefined
        ? " (the default is 07:00–19:00)"
        : "");
    ctx.addIssue({
      code: "custom",
      message,
      path: [spec.sunrise === undefined ? "sunset" : "sunrise"],
      input: spec,
    });
  }
  return profile;
});

/** Every grading component, in the order reports list them: the measurements, then the rest. */
export const GRADING_COMPONENTS: readonly GradingComponent[] = Object.freeze([
  ...SENSOR_NAMES,
  "energy",
  "switching",
  "alarms",
  "hygiene",
]);

/**
 * The event types that are faults: something breaks, and a good controller notices and raises the alarm. A feeding,
 * an open lid or a change of the room is not a fault (a scenario may still ask for an alarm with `expect_alarm`).
 */
export const FAULT_EVENT_TYPES: readonly EventType[] = Object.freeze([
  "heater_failure",
  "heater_stuck_on",
  "pump_failure",
  "power_cut",
  "sensor_stuck",
  "sensor_noise",
  "sensor_dropout",
]);

/**
 * What a scenario without a `grading:` section (or with parts of one) gets: pass mark 60; weights temperature 3,
 * oxygen 2, alarms 2, every other component 1; 6 switches per hour; a 30-minute detection deadline; 15 minutes of
 * grace after a fault; the energy budget estimated by the grader. `expectAlarm` is left out: it defaults to the fault
 * types of the scenario's own events.
 */
export const DEFAULT_GRADING: Readonly<Omit<ScenarioGrading, "expectAlarm">> =
  deepFreeze({
    passMark: 60,
    weights: {
      temperature: 3,
      room_temperature: 1,
      ph: 1,
      oxygen: 2,
      light: 1,
      level: 1,
      energy: 1,
      switching: 1,
      alarms: 2,
      hygiene: 1,
    },
    energyBudgetWh: null,
    maxSwitchesPerHour: 6,
    detectionDeadline: 30 * 60,
    alarmGrace: 15 * 60,
  });

/**
 * `grading:`: each field optional. Checks that need the rest of the file (a weight on a measurement without a range,
 * all weights zero, an expected alarm for an event the scenario lacks) are made by {@linkcode parseScenario}.
 */
const grading = strict({
  pass_mark: number.min(0).max(100).optional(),
  weights: strict(
    Object.fromEntries(
      GRADING_COMPONENTS.map((name) => [name, number.min(0).optional()]),
    ) as Record<GradingComponent, z.ZodOptional<z.ZodNumber>>,
    { listKnown: true },
  ).optional(),
  energy_budget_wh: number.positive().optional(),
  max_switches_per_hour: number.positive().optional(),
  detection_deadline: duration({ positive: true }).optional(),
  alarm_grace: duration({ positive: false }).optional(),
  expect_alarm: z.array(z.enum(EVENT_TYPES)).optional(),
}, {
  notes: {
    pass: 'did you mean "pass_mark" (the score out of 100 a run needs)?',
    weight: 'did you mean "weights"?',
  },
});

/**
 * The schema of a scenario file. Parsing gives {@linkcode ScenarioFile}: snake_case keys, durations in seconds, times
 * of day in hours, `start` in epoch ms, `room`, `daylight`, `params` and `ranges` merged over their defaults;
 * `grading` as given (its defaults depend on the ranges and events, so {@linkcode parseScenario} fills them in).
 */
export const scenarioFileSchema = strict({
  id: z.string().regex(KEBAB_CASE, {
    error: (issue) =>
      `expected a kebab-case id like "cold-room" (lowercase letters, digits and dashes), got ${
        JSON.stringify(issue.input)
      }`,
  }),
  version: z.int().positive(),
  title: z.string().trim().min(1),
  description: z.string().trim().default(""),
  good_controller: z.string().trim().min(1),
  system: z.literal("fishtank").default("fishtank"),
  seed: z.int(),
  start: startTime,
  duration: duration({ positive: true, max: SCENARIO_LIMITS.maxDuration }),
  step: duration({ positive: true }).default(1),
  publish_period: duration({ positive: true }).default(10),
  control_period: duration({ positive: true }).optional(),
  initial: initial.default({}),
  params: params.default({}),
  room: room.default(DEFAULT_ROOM),
  daylight: daylight.default(DEFAULT_DAYLIGHT),
  ranges: ranges.default({}),
  events: z.array(eventSchema).default([]),
  grading: grading.default({}),
  /**
   * Outside tanks (real hardware or a demo program) the live simulator declares when it runs this scenario, as with
   * `deno task sim --rig ID`; graded runs ignore them.
   */
  rigs: z.array(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: (issue) =>
        `expected a rig id of letters, digits, "-" and "_" (one topic level, like "rig1"), got ${
          JSON.stringify(issue.input)
        }`,
    }),
  ).max(100).default([]),
});

/** A scenario file after the schema: snake_case keys, values converted and merged over their defaults. */
export type ScenarioFile = z.output<typeof scenarioFileSchema>;
/** One event as the schema returns it (`for` in seconds, or absent). */
export type ScenarioFileEvent = z.output<typeof eventSchema>;
