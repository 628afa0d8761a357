/**
 * Property-based tests (fast-check, thousands of cases each) of everything that reads what a client sends: whatever
 * the bytes, the parsers return a value within its bounds or an error sentence, and never throw.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTUATOR_NAMES, SENSOR_NAMES } from "../sim/mod.ts";
import {
  parseAlarm,
  parseCommand,
  parseControlAll,
  parseRange,
  PHYSICAL_BOUNDS,
} from "./payloads.ts";

const RUNS = { numRuns: 3000 };
const encoder = new TextEncoder();

/** Payloads a careless or clever student might send: bytes, text, numbers of every kind, JSON of the wrong shape. */
const payload: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 4000, maxLength: 9000 }),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => encoder.encode(s)),
  fc.constantFrom(
    "",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "-0",
    "0x10",
    "null",
    "[]",
    "{}",
    "true",
    '"on"',
    '{"min":"24"}',
    '{"min":NaN}',
    '{"heater":{"on":true}}',
    "\u0000",
    "on\u0000",
  ).map((s) => encoder.encode(s)),
  fc.double().map((n) => encoder.encode(String(n))),
  fc.jsonValue().map((v) => encoder.encode(JSON.stringify(v))),
  fc.dictionary(
    fc.constantFrom(...ACTUATOR_NAMES, "min", "max", "message", "alarm", "x"),
    fc.oneof(fc.double(), fc.boolean(), fc.string(), fc.constant(null)),
  ).map((v) => encoder.encode(JSON.stringify(v))),
  // Invalid UTF-8.
  fc.constant(Uint8Array.of(0xff, 0xfe, 0x6f, 0x6e)),
);

function checkError(result: { ok: boolean; error?: string }): void {
  if (!result.ok) {
    assert.equal(typeof result.error, "string");
    assert.ok(result.error!.length > 5, result.error ?? "");
  }
}

Deno.test("parseCommand() gives a valid command or an error for any actuator and any bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...ACTUATOR_NAMES), fc.string()),
      payload,
      (actuator, bytes) => {
        const result = parseCommand(actuator, bytes);
        checkError(result);
        if (result.ok) {
          const { value } = result.value;
          if (result.value.actuator === "heater") {
            assert.ok(
              typeof value === "number" && value >= 0 && value <= 1,
              `heater ${value}`,
            );
          } else assert.equal(typeof value, "boolean");
        }
      },
    ),
    RUNS,
  );
});

Deno.test("parseControlAll() and parseAlarm() never throw and keep their values well-formed", () => {
  fc.assert(
    fc.property(payload, (bytes) => {
      const all = parseControlAll(bytes);
      checkError(all);
      if (all.ok) {
        for (const command of all.value) {
          assert.ok(ACTUATOR_NAMES.includes(command.actuator));
          if (command.actuator === "heater") {
            assert.ok(Number.isFinite(command.value));
          }
        }
      }
      const alarm = parseAlarm(bytes);
      checkError(alarm);
      if (alarm.ok) assert.equal(typeof alarm.value.message, "string");
    }),
    RUNS,
  );
});

Deno.test("parseRange() accepts only finite bounds within physical limits, min below max", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...SENSOR_NAMES), fc.string()),
      fc.oneof(
        payload,
        fc.record({
          min: fc.oneof(fc.double(), fc.constant(undefined)),
          max: fc.oneof(fc.double(), fc.constant(undefined)),
        }).map((r) => encoder.encode(JSON.stringify(r))),
      ),
      (sensor, bytes) => {
        const result = parseRange(sensor, bytes);
        checkError(result);
        if (result.ok) {
          const bounds =
            PHYSICAL_BOUNDS[sensor as keyof typeof PHYSICAL_BOUNDS];
          const { min, max } = result.value;
          for (const v of [min, max]) {
            if (v === undefined) continue;
            assert.ok(Number.isFinite(v), `${v}`);
            assert.ok(v >= bounds.min && v <= bounds.max, `${sensor} ${v}`);
          }
          if (min !== undefined && max !== undefined) assert.ok(min < max);
        }
      },
    ),
    RUNS,
  );
});
