/**
 * The schema of one timeline event: a discriminated union on `type`, each type a strict object of its own fields.
 *
 * @module
 */

import { z } from "zod";
import { SENSOR_NAMES } from "../sim/mod.ts";
import { duration, strict } from "./_schema_fields.ts";

const number = z.number();

// Every event has `at`; most take an optional `for` (omitted = to the end of the run).
const at = duration({ positive: false });
const forOptional = duration({ positive: true }).optional();
const sensor = z.enum(SENSOR_NAMES);
const roomChange = {
  to: number.min(-20).max(50).optional(),
  by: number.min(-40).max(40).optional(),
};

function _toOrBy(
  ctx: {
    value: { to?: number | undefined; by?: number | undefined };
    issues: z.core.$ZodRawIssue[];
  },
) {
  const { to, by } = ctx.value;
  if ((to === undefined) === (by === undefined)) {
    const message = to === undefined
      ? "expected `to` (°C) or `by` (K), got neither"
      : "expected `to` (°C) or `by` (K), not both";
    ctx.issues.push({ code: "custom", message, input: ctx.value });
  }
}

/** One event of `events:`, with `at`, `for` and `over` in seconds. */
export const eventSchema = z.discriminatedUnion("type", [
  strict({ type: z.literal("room_step"), at, for: forOptional, ...roomChange })
    .check(_toOrBy),
  strict({
    type: z.literal("room_ramp"),
    at,
    for: forOptional,
    over: duration({ positive: true }),
    ...roomChange,
  })
    .check(_toOrBy)
    .check((ctx) => {
      const { over, for: lasting } = ctx.value;
      if (lasting !== undefined && lasting < over) {
        ctx.issues.push({
          code: "custom",
          message:
            `expected "for" to be at least "over" (the ramp would be cut short)`,
          path: ["for"],
          input: ctx.value,
        });
      }
    }),
  strict({ type: z.literal("heater_failure"), at, for: forOptional }),
  strict({ type: z.literal("heater_stuck_on"), at, for: forOptional }),
  strict({ type: z.literal("pump_failure"), at, for: forOptional }),
  strict({
    type: z.literal("power_cut"),
    at,
    for: duration({ positive: true }),
  }),
  strict({ type: z.literal("sensor_stuck"), at, for: forOptional, sensor }),
  strict({
    type: z.literal("sensor_noise"),
    at,
    for: forOptional,
    sensor,
    factor: number.positive().default(10),
  }),
  strict({ type: z.literal("sensor_dropout"), at, for: forOptional, sensor }),
  strict({ type: z.literal("feeding"), at, grams: number.positive() }, {
    notes: { for: 'a feeding is an instant and takes no "for"' },
  }),
  strict({ type: z.literal("lid_open"), at, for: forOptional }),
]);
