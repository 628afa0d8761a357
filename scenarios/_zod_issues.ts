/**
 * Turns zod's issues into messages a teacher can act on: `expected a number, got "warm"`,
 * `unknown key "duraton"; did you mean "duration"?`, with field paths like `events[2].at`.
 *
 * @module
 */

import type { z } from "zod";
import { didYouMeanHint } from "./_did_you_mean.ts";

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

/** A problem found by the schema, with its path still as keys and indexes. */
export interface PathIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Separates per-key messages of one `unrecognized_keys` issue until {@linkcode flattenIssues} splits them. */
const KEY_SEPARATOR = "\n";

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list",
  null: "nothing",
};

/** How a value from the file is shown in messages: strings quoted, lists and mappings by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return "nothing";
  if (typeof value === "string") {
    return JSON.stringify(
      value.length > 60 ? `${value.slice(0, 57)}...` : value,
    );
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** `events[2].at` from `["events", 2, "at"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}

/**
 * An error function for a schema whose expected value is easiest to say in words (durations, times of day): reports
 * `missing; expected …` or `expected …, got …` for type mismatches and leaves other issues to the global map.
 */
export function expected(
  what: string,
): (issue: RawIssue) => string | undefined {
  return (issue) => {
    if (issue.code !== "invalid_type" && issue.code !== "invalid_union") {
      return undefined;
    }
    return issue.input === undefined
      ? `missing; expected ${what}`
      : `expected ${what}, got ${describeValue(issue.input)}`;
  };
}

/** Options for {@linkcode unknownKeys}. */
export interface UnknownKeysOptions {
  /** List every known key in the message, not only a close match (for short, unfamiliar lists like params). */
  listKnown?: boolean;
  /** Extra explanations for keys a teacher is likely to add by mistake, e.g. `for` on an instant event. */
  notes?: Readonly<Record<string, string>>;
}

/** An error function for a strict object that names each unknown key with a suggestion among `known`. */
export function unknownKeys(
  known: readonly string[],
  options: UnknownKeysOptions = {},
): (issue: RawIssue) => string | undefined {
  return (issue) => {
    if (issue.code !== "unrecognized_keys") return undefined;
    return issue.keys.map((key) => {
      const note = options.notes?.[key];
      if (note !== undefined) return `unknown key "${key}": ${note}`;
      const hint = didYouMeanHint(key, known);
      const list = known.join(", ");
      if (hint === "") return `unknown key "${key}"; expected one of: ${list}`;
      const more = options.listKnown ? ` Known keys: ${list}` : "";
      return `unknown key "${key}"${hint}${more}`;
    }).join(KEY_SEPARATOR);
  };
}

/** `a, b or c`. */
function _or(items: readonly string[]): string {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** Whether the issue comes from a schema that wants a whole number. */
function _isInteger(issue: { origin?: unknown; schema?: unknown }): boolean {
  // z.int() reports origin "number"; its schema's format (`safeint`) says it wants a whole number.
  const format = (issue.schema as { _zod?: { def?: { format?: unknown } } })
    ?._zod?.def?.format;
  return issue.origin === "int" ||
    (typeof format === "string" && format.includes("int"));
}

function _bound(
  issue: { origin: string; inclusive?: boolean; schema?: unknown },
  below: boolean,
): string {
  const kind = _isInteger(issue) ? "a whole number" : "a number";
  const sign = below
    ? (issue.inclusive ? "≥" : ">")
    : (issue.inclusive ? "≤" : "<");
  return `${kind} ${sign}`;
}

/** The global error map: friendly messages for every issue a schema did not word itself. */
export function errorMap(issue: RawIssue): string | undefined {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case "invalid_type": {
      const name = _isInteger(issue)
        ? TYPE_NAMES.int!
        : TYPE_NAMES[issue.expected] ?? issue.expected;
      return issue.input === undefined
        ? `missing; expected ${name}`
        : `expected ${name}, got ${got}`;
    }
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") {
        return `expected at least ${issue.minimum} item(s)`;
      }
      return `expected ${_bound(issue, true)} ${issue.minimum}, got ${got}`;
    case "too_big":
      if (issue.origin === "array") {
        return `expected at most ${issue.maximum} item(s)`;
      }
      return `expected ${_bound(issue, false)} ${issue.maximum}, got ${got}`;
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      const hint = typeof issue.input === "string"
        ? didYouMeanHint(issue.input, issue.values.map(String))
        : "";
      const want = values.length === 1 ? values[0] : `one of ${_or(values)}`;
      return issue.input === undefined
        ? `missing; expected ${want}`
        : `expected ${want}, got ${got}${hint}`;
    }
    case "invalid_union": {
      const { discriminator, options: values } = issue as {
        discriminator?: unknown;
        options?: unknown;
      };
      if (typeof discriminator !== "string" || !Array.isArray(values)) {
        return undefined;
      }
      const input = issue.input as Record<string, unknown> | undefined;
      const value = input?.[discriminator];
      const options = values.map(String);
      const list = `one of ${_or(options)}`;
      if (value === undefined) return `missing; expected ${list}`;
      const hint = typeof value === "string"
        ? didYouMeanHint(value, options)
        : "";
      return `expected ${list}, got ${describeValue(value)}${hint}`;
    }
    case "not_multiple_of":
      return `expected a multiple of ${issue.divisor}, got ${got}`;
    default:
      return undefined;
  }
}

/** Whether a union branch failed only because the value had another type (so the branch is not what was meant). */
function _wrongShape(branch: readonly Issue[]): boolean {
  return branch.length === 1 && branch[0]!.path.length === 0 &&
    branch[0]!.code === "invalid_type";
}

/**
 * Flattens zod's issues into one issue per problem: splits unknown keys into one issue each (path ending in the key),
 * and replaces a failed union by the issues of the one branch that matched the value's shape, if there is one.
 */
export function flattenIssues(
  issues: readonly Issue[],
  prefix: readonly PropertyKey[] = [],
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const messages = issue.message.split(KEY_SEPARATOR);
      const own = messages.length === issue.keys.length;
      issue.keys.forEach((key, i) => {
        out.push({
          path: [...path, key],
          message: own ? messages[i]! : `unknown key "${key}"`,
        });
      });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const meant = issue.errors.filter((branch) => !_wrongShape(branch));
      if (meant.length === 1) out.push(...flattenIssues(meant[0]!, path));
      else out.push({ path, message: issue.message });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}
