/**
 * Building blocks of the scenario schema: strict objects with "did you mean" hints, durations, times of day and the
 * start date-time, each converted to numbers as it is validated.
 *
 * @module
 */

import { z } from "zod";
import { formatDuration, parseDuration, parseTimeOfDay } from "./duration.ts";
import {
  expected,
  unknownKeys,
  type UnknownKeysOptions,
} from "./_zod_issues.ts";

const DURATION = `a duration like "90s", "30m", "6h" or "2d"`;
const TIME_OF_DAY = `a time of day like "08:00" or "19:30"`;
const DATE_TIME =
  `a date and time like "2026-01-15T06:00:00" (the tank's local time, no time zone)`;
const LOCAL_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?$/;
const ZONE_SUFFIX = /[+-]\d{2}:?\d{2}$/;

/** A strict object (unknown keys are errors) whose unknown keys get a "did you mean" hint. */
export function strict<Shape extends z.core.$ZodLooseShape>(
  shape: Shape,
  options: UnknownKeysOptions = {},
) {
  return z.strictObject(shape, {
    error: unknownKeys(Object.keys(shape), options),
  });
}

/**
 * A duration in seconds (≥ 0, or > 0 when `positive`; at most `max` when given), from text like `"1h30m"` or a
 * number of seconds.
 */
export function duration(options: { positive: boolean; max?: number }) {
  return z.union([z.string(), z.number()], { error: expected(DURATION) })
    .transform((value, ctx) => {
      try {
        const seconds = parseDuration(value);
        if (options.positive && seconds <= 0) {
          ctx.addIssue({
            code: "custom",
            message: `expected a duration longer than 0, got ${
              JSON.stringify(value)
            }`,
            input: value,
          });
          return z.NEVER;
        }
        if (options.max !== undefined && seconds > options.max) {
          ctx.addIssue({
            code: "custom",
            message: `expected at most ${formatDuration(options.max)}, got ${
              JSON.stringify(value)
            }`,
            input: value,
          });
          return z.NEVER;
        }
        return seconds;
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          message: (error as Error).message,
          input: value,
        });
        return z.NEVER;
      }
    });
}

/** A time of day in hours since midnight, 0–24. */
export const timeOfDay = z.union([z.string(), z.number()], {
  error: expected(TIME_OF_DAY),
}).transform((value, ctx) => {
  try {
    return parseTimeOfDay(value);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: (error as Error).message,
      input: value,
    });
    return z.NEVER;
  }
});

/** The start of the run, epoch ms, from a local date-time read as UTC. */
export const startTime = z.string({ error: expected(DATE_TIME) }).transform(
  (text, ctx) => {
    const match = LOCAL_DATE_TIME.exec(text.trim());
    const fail = (why = "") => {
      ctx.addIssue({
        code: "custom",
        message: `expected ${DATE_TIME}, got ${JSON.stringify(text)}${why}`,
        input: text,
      });
      return z.NEVER;
    };
    if (match === null) {
      return fail(
        ZONE_SUFFIX.test(text.trim()) ? " (leave out the time zone)" : "",
      );
    }
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map((
      part,
    ) => Number(part ?? 0)) as number[];
    const ms = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
    const date = new Date(ms);
    if (
      date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day! ||
      hour! > 23 || minute! > 59 || second! > 59
    ) {
      return fail(" (no such date or time)");
    }
    return ms;
  },
);
