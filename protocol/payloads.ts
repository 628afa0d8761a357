/**
 * Parsing of what controllers and front ends publish: switch commands, heater power, `control/all` objects, ranges and
 * alarms. Every function returns a result instead of throwing, with an error message written for a student: it says
 * what was received and what would have been accepted.
 *
 * @module
 */

import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  type SensorName,
} from "../sim/mod.ts";

/** The largest payload accepted on a control, range or alarm topic, in bytes. */
export const MAX_COMMAND_BYTES = 4096;

/** A parse result: the value, or a message saying what was wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A target range; either bound may be absent (one-sided range). */
export interface Range {
  min?: number;
  max?: number;
}

/** Physical bounds a range must lie within, per measurement. */
export const PHYSICAL_BOUNDS: Readonly<
  Record<SensorName, { min: number; max: number }>
> = {
  temperature: { min: 0, max: 40 },
  room_temperature: { min: -20, max: 50 },
  ph: { min: 0, max: 14 },
  oxygen: { min: 0, max: 20 },
  light: { min: 0, max: 100_000 },
  level: { min: 0, max: 100 },
};

const SWITCH_FORMS = "on/off, true/false, 1/0 or a JSON boolean";
const HEATER_FORMS = `${SWITCH_FORMS}, or a power 0–100 (e.g. 50 or "50%")`;
const decoder = new TextDecoder("utf-8", { fatal: true });

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function fail<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

/** Shows a payload in a message: quoted, shortened, control characters escaped. */
export function preview(payload: string, max = 40): string {
  const short = payload.length > max ? `${payload.slice(0, max)}…` : payload;
  return JSON.stringify(short);
}

/** Decodes a payload as UTF-8 text, refusing oversized or invalid bytes. */
export function decodeText(
  payload: Uint8Array | string,
  maxBytes = MAX_COMMAND_BYTES,
): Parsed<string> {
  if (typeof payload === "string") {
    return payload.length > maxBytes
      ? fail(`payload too large (${payload.length} bytes, at most ${maxBytes})`)
      : ok(payload);
  }
  if (payload.byteLength > maxBytes) {
    return fail(
      `payload too large (${payload.byteLength} bytes, at most ${maxBytes})`,
    );
  }
  try {
    return ok(decoder.decode(payload));
  } catch {
    return fail("payload is not valid UTF-8 text");
  }
}

const TRUE_WORDS = new Set(["on", "true", "1", "yes"]);
const FALSE_WORDS = new Set(["off", "false", "0", "no"]);

function switchWord(text: string): boolean | undefined {
  const word = text.trim().replace(/^"(.*)"$/, "$1").trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** Parses an on/off command: `on`/`off`, `true`/`false` in any case (Python's `True`), `1`/`0`, JSON booleans. */
export function parseSwitch(text: string): Parsed<boolean> {
  const value = switchWord(text);
  return value === undefined
    ? fail(`expected ${SWITCH_FORMS}, got ${preview(text)}`)
    : ok(value);
}

/**
 * Parses a heater command into a power fraction 0–1. Switch words give 0 or 1; `1` and `0` are on and off (as for
 * every actuator), other numbers are percentages up to 100, and `"0.5%"` states a small percentage explicitly. Numbers
 * strictly between 0 and 1 are refused because a student sending `0.5` may mean half power or half a percent.
 */
export function parseHeater(text: string): Parsed<number> {
  const word = switchWord(text);
  if (word !== undefined) return ok(word ? 1 : 0);
  const trimmed = text.trim();
  const percent = trimmed.endsWith("%");
  const numberText = percent ? trimmed.slice(0, -1).trim() : trimmed;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(numberText)) {
    return fail(`expected ${HEATER_FORMS}, got ${preview(text)}`);
  }
  const value = Number(numberText);
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    return fail(
      `heater power must be between 0 and 100 %, got ${preview(text)}`,
    );
  }
  if (!percent && value > 0 && value < 1) {
    return fail(
      `heater power ${numberText} is ambiguous: send a percentage 0–100 (50 = half power), or "${numberText}%"`,
    );
  }
  return ok(value / 100);
}

/** Whether `name` is an actuator a controller may switch. */
export function isActuator(name: string): name is ActuatorName {
  return (ACTUATOR_NAMES as readonly string[]).includes(name);
}

/** Whether `name` is a measurement. */
export function isSensor(name: string): name is SensorName {
  return (SENSOR_NAMES as readonly string[]).includes(name);
}

/** A command for one actuator: the heater's power fraction 0–1, or on/off for the rest. */
export type Command = { actuator: "heater"; value: number } | {
  actuator: Exclude<ActuatorName, "heater">;
  value: boolean;
};

/** Parses the payload of `…/control/{actuator}`. */
export function parseCommand(
  actuator: string,
  payload: Uint8Array | string,
): Parsed<Command> {
  if (!isActuator(actuator)) {
    return fail(
      `unknown actuator "${actuator}": expected one of ${
        ACTUATOR_NAMES.join(", ")
      } or all`,
    );
  }
  const text = decodeText(payload);
  if (!text.ok) return text;
  return commandFromText(actuator, text.value);
}

function commandFromText(
  actuator: ActuatorName,
  text: string,
): Parsed<Command> {
  if (actuator === "heater") {
    const power = parseHeater(text);
    return power.ok
      ? ok({ actuator, value: power.value })
      : fail(`heater: ${power.error}`);
  }
  const on = parseSwitch(text);
  return on.ok
    ? ok({ actuator, value: on.value })
    : fail(`${actuator}: ${on.error}`);
}

/**
 * Parses `…/control/all`: a JSON object whose keys are actuators and whose values take the same forms as the single
 * topics (`{"heater": true, "light": "off", "pump": 1}`; the heater also takes a number 0–100). Either every key is
 * valid and all commands apply, or none does.
 */
export function parseControlAll(
  payload: Uint8Array | string,
): Parsed<Command[]> {
  const text = decodeText(payload);
  if (!text.ok) return text;
  let json: unknown;
  try {
    json = JSON.parse(text.value);
  } catch {
    return fail(
      `expected a JSON object like {"heater": true, "pump": false}, got ${
        preview(text.value)
      }`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail(
      `expected a JSON object like {"heater": true, "pump": false}, got ${
        preview(text.value)
      }`,
    );
  }
  const commands: Command[] = [];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (!isActuator(key)) {
      errors.push(
        `unknown actuator "${key}" (expected ${ACTUATOR_NAMES.join(", ")})`,
      );
      continue;
    }
    if (
      typeof value !== "boolean" && typeof value !== "number" &&
      typeof value !== "string"
    ) {
      errors.push(
        `${key}: expected ${
          key === "heater" ? HEATER_FORMS : SWITCH_FORMS
        }, got ${JSON.stringify(value)}`,
      );
      continue;
    }
    const command = commandFromText(key, String(value));
    if (command.ok) commands.push(command.value);
    else errors.push(command.error);
  }
  if (errors.length > 0) return fail(errors.join("; "));
  if (commands.length === 0) {
    return fail(
      `the object names no actuator (expected ${ACTUATOR_NAMES.join(", ")})`,
    );
  }
  return ok(commands);
}

/**
 * Parses a retained range `…/ranges/{name}`: JSON `{"min":24,"max":26}`; either bound may be left out (or `null`) for
 * a one-sided range; both must lie within the measurement's physical bounds and `min` must be below `max`.
 */
export function parseRange(
  sensor: string,
  payload: Uint8Array | string,
): Parsed<Range> {
  if (!isSensor(sensor)) {
    return fail(
      `unknown measurement "${sensor}": expected one of ${
        SENSOR_NAMES.join(", ")
      }`,
    );
  }
  const text = decodeText(payload);
  if (!text.ok) return text;
  let json: unknown;
  try {
    json = JSON.parse(text.value);
  } catch {
    return fail(
      `${sensor} range: expected JSON like {"min":24,"max":26}, got ${
        preview(text.value)
      }`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail(
      `${sensor} range: expected JSON like {"min":24,"max":26}, got ${
        preview(text.value)
      }`,
    );
  }
  const bounds = PHYSICAL_BOUNDS[sensor];
  const range: Range = {};
  for (const [key, value] of Object.entries(json)) {
    if (key !== "min" && key !== "max") {
      return fail(
        `${sensor} range: unknown field "${key}" (expected min and max)`,
      );
    }
    if (value === null) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return fail(
        `${sensor} range: ${key} must be a number, got ${
          JSON.stringify(value)
        }`,
      );
    }
    if (value < bounds.min || value > bounds.max) {
      return fail(
        `${sensor} range: ${key} ${value} is outside the physical bounds ${bounds.min}…${bounds.max}`,
      );
    }
    range[key] = value;
  }
  if (range.min === undefined && range.max === undefined) {
    return fail(`${sensor} range: give min, max or both`);
  }
  if (
    range.min !== undefined && range.max !== undefined && range.min >= range.max
  ) {
    return fail(
      `${sensor} range: min (${range.min}) must be below max (${range.max})`,
    );
  }
  return ok(range);
}

/** An alarm as raised (or cleared) by a controller. */
export interface Alarm {
  raised: boolean;
  message: string;
}

/**
 * Parses `…/alarm`. An empty payload, `off`, `false`, `0`, `clear` or `{"alarm": false}` clears the alarm; anything
 * else raises it, with the text (or a JSON `message` field) as its message.
 */
export function parseAlarm(payload: Uint8Array | string): Parsed<Alarm> {
  const text = decodeText(payload);
  if (!text.ok) return text;
  const trimmed = text.value.trim();
  if (
    trimmed === "" || trimmed.toLowerCase() === "clear" ||
    switchWord(trimmed) === false
  ) {
    return ok({ raised: false, message: "" });
  }
  if (trimmed.startsWith("{")) {
    try {
      const json = JSON.parse(trimmed) as Record<string, unknown>;
      const message = typeof json.message === "string" ? json.message : trimmed;
      const flag = json.alarm ?? json.raised ?? json.active;
      if (flag === false) return ok({ raised: false, message });
      return ok({ raised: true, message });
    } catch {
      // Not JSON after all: the text is the message.
    }
  }
  return ok({ raised: true, message: trimmed });
}

/** Formats a reading for its plain-text topic: shortest decimal form, no trailing float noise. */
export function formatReading(value: number): string {
  return String(Math.round(value * 10_000) / 10_000);
}
