/**
 * Checking a range edit from the live page, the same way in the browser (before anything is sent) and on the server
 * (before anything is published): the tank's own rules (`parseRange`: numbers, physical bounds, min below max), with
 * the offending field named so a form can point at it.
 *
 * @module
 */

// The topic contract's module is pure (no broker, no processes), so this file can be bundled for the browser.
import { isSensor, parseRange, type Range } from "../protocol/mod.ts";

/** The result of a check: the range to publish, or what is wrong and with which field. */
export type RangeCheck =
  | { ok: true; range: Range }
  | { ok: false; field: "min" | "max" | "name" | "body"; error: string };

/** Which field a `parseRange` message is about. */
function fieldOf(error: string): "min" | "max" | "body" {
  const match = /range: (min|max)\b/.exec(error);
  if (match) return match[1] as "min" | "max";
  return /give min, max or both/.test(error) ? "min" : "body";
}

/** Checks a JSON body `{min, max}` (numbers, or null/absent for an open bound) for measurement `name`. */
export function checkRangeBody(name: string, body: unknown): RangeCheck {
  if (!isSensor(name)) {
    return {
      ok: false,
      field: "name",
      error: `unknown measurement "${name}"`,
    };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      field: "body",
      error: `expected a JSON object like {"min":24,"max":26}`,
    };
  }
  for (const [key, value] of Object.entries(body)) {
    if (key !== "min" && key !== "max") {
      return {
        ok: false,
        field: "body",
        error: `unknown field "${key}" (expected min and max)`,
      };
    }
    if (
      value !== null && (typeof value !== "number" || !Number.isFinite(value))
    ) {
      return {
        ok: false,
        field: key,
        error: `${key} must be a number, got ${JSON.stringify(value)}`,
      };
    }
  }
  const parsed = parseRange(name, JSON.stringify(body));
  if (!parsed.ok) {
    return { ok: false, field: fieldOf(parsed.error), error: parsed.error };
  }
  return { ok: true, range: parsed.value };
}

/** Checks the text of a form's two fields; an empty field is an open bound. */
export function checkRangeInput(
  name: string,
  minText: string,
  maxText: string,
): RangeCheck {
  const body: Record<string, number | null> = {};
  for (const [key, text] of [["min", minText], ["max", maxText]] as const) {
    const trimmed = text.trim().replace(",", ".");
    if (trimmed === "") {
      body[key] = null;
      continue;
    }
    const value = Number(trimmed);
    if (!Number.isFinite(value)) {
      return {
        ok: false,
        field: key,
        error: `${key} must be a number, got "${text}"`,
      };
    }
    body[key] = value;
  }
  return checkRangeBody(name, body);
}
