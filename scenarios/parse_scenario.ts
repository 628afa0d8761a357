/**
 * `parseScenario`: YAML text → a validated, fully resolved {@linkcode Scenario}, or a {@linkcode ScenarioError}
 * listing every problem with its field path and line.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { isNode, LineCounter, parseDocument } from "yaml";
import {
  createRng,
  fishTank,
  type FishTankParams,
  resolveFishTankParams,
  type SensorName,
} from "../sim/mod.ts";
import { deepFreeze } from "./_deep_freeze.ts";
import {
  errorMap,
  flattenIssues,
  formatPath,
  type PathIssue,
} from "./_zod_issues.ts";
import { DEFAULT_RANGES } from "./default_ranges.ts";
import { formatDuration } from "./duration.ts";
import type {
  GradingComponent,
  RangeRule,
  Scenario,
  ScenarioGrading,
} from "./scenario.ts";
import { ScenarioError, type ScenarioIssue } from "./scenario_error.ts";
import { fileSizeMessage, SCENARIO_LIMITS } from "./scenario_limits.ts";
import { yamlShapeProblem } from "./_yaml_shape.ts";
import type { EventType, ScenarioEvent } from "./scenario_event.ts";
import {
  DEFAULT_GRADING,
  FAULT_EVENT_TYPES,
  GRADING_COMPONENTS,
  paramKey,
  type ScenarioFile,
  scenarioFileSchema,
} from "./schema.ts";

/** Options for {@linkcode parseScenario}. */
export interface ParseScenarioOptions {
  /** Where the text came from (a path or a built-in id): named in error messages and stored in `Scenario.file`. */
  file: string;
}

type Document = ReturnType<typeof parseDocument>;

/** Line of the node at `path`, or of its nearest ancestor that exists (a missing key points at its mapping). */
function _lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function _issues(
  doc: Document,
  counter: LineCounter,
  found: readonly PathIssue[],
): ScenarioIssue[] {
  const issues = found.map((issue): ScenarioIssue => {
    const line = _lineOf(doc, counter, issue.path);
    return {
      path: formatPath(issue.path),
      message: issue.message,
      ...(line === undefined ? {} : { line }),
    };
  });
  // File order reads best; issues without a line (missing top-level keys) come last, in schema order.
  return issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

/** Checks that need several fields at once; they run once every field is valid on its own. */
function _crossChecks(
  file: ScenarioFile,
  raw: Record<string, unknown>,
): PathIssue[] {
  const problems: PathIssue[] = [];
  const { duration, step, publish_period: publishPeriod } = file;
  const controlPeriod = file.control_period ?? publishPeriod;
  const multiple = (value: number) =>
    Math.abs(value / step - Math.round(value / step)) < 1e-9;
  if (Math.abs(step * 1000 - Math.round(step * 1000)) > 1e-6) {
    problems.push({
      path: ["step"],
      message: `expected a whole number of milliseconds, got ${step} s`,
    });
  } else if (step > duration) {
    problems.push({
      path: ["step"],
      message: `expected a step no longer than the run (${
        formatDuration(duration)
      })`,
    });
  }
  const periods = [
    ["publish_period", publishPeriod],
    ["control_period", controlPeriod],
  ] as const;
  for (const [key, value] of periods) {
    if (value < step || !multiple(value)) {
      // A defaulted control_period comes from publish_period: point there.
      const path = key === "control_period" && file.control_period === undefined
        ? "publish_period"
        : key;
      problems.push({
        path: [path],
        message: `expected a whole number of physics steps (step is ${
          formatDuration(step)
        }), got ${formatDuration(value)}`,
      });
    }
  }
  problems.push(..._gradingProblems(file));
  const rawEvents = Array.isArray(raw.events) ? raw.events : [];
  file.events.forEach((event, index) => {
    if (event.at >= duration) {
      const given = (rawEvents[index] as Record<string, unknown> | undefined)
        ?.at;
      problems.push({
        path: ["events", index, "at"],
        message: `expected a time before the end of the run (duration ${
          formatDuration(duration)
        }), got ${JSON.stringify(given ?? formatDuration(event.at))}`,
      });
    }
  });
  return problems;
}

/** Whether `sensor` has a range in this file once the defaults are merged in. */
function _hasRange(file: ScenarioFile, sensor: SensorName): boolean {
  return (file.ranges[sensor] ?? DEFAULT_RANGES[sensor]).length > 0;
}

/** The weight of each component: the file's, else the default; 0 for a measurement without a range. */
function _weights(file: ScenarioFile): Record<GradingComponent, number> {
  const given = file.grading.weights ?? {};
  return Object.fromEntries(GRADING_COMPONENTS.map((name) => {
    const isSensor = name in DEFAULT_RANGES;
    if (isSensor && !_hasRange(file, name as SensorName)) return [name, 0];
    return [name, given[name] ?? DEFAULT_GRADING.weights[name]];
  })) as Record<GradingComponent, number>;
}

/** Problems of `grading:` that need the rest of the file: weights vs. ranges, expected alarms vs. events. */
function _gradingProblems(file: ScenarioFile): PathIssue[] {
  const problems: PathIssue[] = [];
  const given = file.grading.weights ?? {};
  for (const name of Object.keys(DEFAULT_RANGES) as SensorName[]) {
    const weight = given[name];
    if (weight !== undefined && weight > 0 && !_hasRange(file, name)) {
      problems.push({
        path: ["grading", "weights", name],
        message:
          `${name} has no range in this scenario, so there is nothing to score: give it a range under ranges, or weight 0`,
      });
    }
  }
  if (
    problems.length === 0 &&
    Object.values(_weights(file)).every((weight) => weight === 0)
  ) {
    problems.push({
      path: file.grading.weights === undefined
        ? ["grading"]
        : ["grading", "weights"],
      message:
        "expected at least one weight above 0 (the score is their weighted mean)",
    });
  }
  const present = new Set<string>(file.events.map((event) => event.type));
  (file.grading.expect_alarm ?? []).forEach((type, index) => {
    if (!present.has(type)) {
      problems.push({
        path: ["grading", "expect_alarm", index],
        message: present.size === 0
          ? `expected an event type of this scenario, got "${type}", but it has no events`
          : `expected one of this scenario's event types (${
            [...present].join(", ")
          }), got "${type}"`,
      });
    }
  });
  return problems;
}

/** `grading:` with every default filled in. */
function _grading(file: ScenarioFile): ScenarioGrading {
  const { grading } = file;
  const present = new Set<string>(file.events.map((event) => event.type));
  const expectAlarm: EventType[] = grading.expect_alarm === undefined
    ? FAULT_EVENT_TYPES.filter((type) => present.has(type))
    : [...new Set(grading.expect_alarm)];
  return {
    passMark: grading.pass_mark ?? DEFAULT_GRADING.passMark,
    weights: _weights(file),
    energyBudgetWh: grading.energy_budget_wh ?? DEFAULT_GRADING.energyBudgetWh,
    maxSwitchesPerHour: grading.max_switches_per_hour ??
      DEFAULT_GRADING.maxSwitchesPerHour,
    detectionDeadline: grading.detection_deadline ??
      DEFAULT_GRADING.detectionDeadline,
    alarmGrace: grading.alarm_grace ?? DEFAULT_GRADING.alarmGrace,
    expectAlarm,
  };
}

const SIM_MESSAGE = /^(FishTankParams|FishTankInitial)\.([\w.]+): (.*)$/s;

/** A RangeError of the simulator (`FishTankParams.heaterPower: expected …`) as an issue at the file's field path. */
function _simIssue(error: unknown): PathIssue {
  const message = error instanceof Error ? error.message : String(error);
  const match = SIM_MESSAGE.exec(message);
  if (match === null) return { path: ["params"], message };
  const [, kind, field, rest] = match;
  return {
    path: [
      kind === "FishTankParams" ? "params" : "initial",
      ...field!.split(".").map(paramKey),
    ],
    message: rest!,
  };
}

/**
 * The model's parameters with the overrides merged over the defaults, checked (with the initial conditions) by the
 * model itself, so that a scenario that loads is one the simulator accepts.
 */
function _params(
  file: ScenarioFile,
): { params?: FishTankParams; problems: PathIssue[] } {
  try {
    const params = resolveFishTankParams(file.params);
    fishTank.initial(params, file.initial, createRng(file.seed));
    return { params, problems: [] };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { problems: [_simIssue(error)] };
  }
}

/** The schema's event as a `ScenarioEvent`: `for` becomes `until` (`Infinity` without `for`, `at` for a feeding). */
function _event(event: ScenarioFile["events"][number]): ScenarioEvent {
  const { at } = event;
  if (event.type === "feeding") {
    return { type: event.type, at, until: at, grams: event.grams };
  }
  const until = event.for === undefined ? Infinity : at + event.for;
  switch (event.type) {
    case "room_step":
    case "room_ramp": {
      const change = event.to === undefined
        ? { by: event.by! }
        : { to: event.to };
      return event.type === "room_step"
        ? { type: event.type, at, until, ...change }
        : { type: event.type, at, until, over: event.over, ...change };
    }
    case "sensor_noise": {
      const { sensor, factor } = event;
      return { type: event.type, at, until, sensor, factor };
    }
    case "sensor_stuck":
    case "sensor_dropout":
      return { type: event.type, at, until, sensor: event.sensor };
    default:
      return { type: event.type, at, until };
  }
}

function _resolve(
  file: ScenarioFile,
  options: { file: string; hash: string; params: FishTankParams },
): Scenario {
  const ranges = { ...DEFAULT_RANGES } as Record<
    SensorName,
    readonly RangeRule[]
  >;
  for (
    const [name, rules] of Object.entries(file.ranges) as [
      SensorName,
      RangeRule[] | undefined,
    ][]
  ) {
    if (rules !== undefined) ranges[name] = rules;
  }
  const events = file.events.map(_event)
    .map((event, index) => ({ event, index }))
    .sort((a, b) => a.event.at - b.event.at || a.index - b.index)
    .map(({ event }) => event);
  return deepFreeze({
    id: file.id,
    version: file.version,
    title: file.title,
    description: file.description,
    goodController: file.good_controller,
    system: file.system,
    seed: file.seed,
    start: file.start,
    duration: file.duration,
    step: file.step,
    publishPeriod: file.publish_period,
    controlPeriod: file.control_period ?? file.publish_period,
    initial: file.initial,
    params: options.params,
    room: file.room,
    daylight: file.daylight,
    ranges,
    events,
    grading: _grading(file),
    rigs: file.rigs,
    file: options.file,
    hash: options.hash,
  });
}

/** SHA-256 of `bytes`, lowercase hex. */
function _sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Parses and validates a scenario file. Pass the file's bytes when you have them, so that `hash` is the hash of the
 * file itself (a string is hashed as UTF-8).
 *
 * @throws {ScenarioError} listing every problem: YAML syntax (with line and column), schema issues (with field path
 * and line), then, once the fields are valid, checks across fields such as events after the end of the run.
 */
export function parseScenario(
  source: string | Uint8Array,
  options: ParseScenarioOptions,
): Scenario {
  const { file } = options;
  const bytes = typeof source === "string"
    ? new TextEncoder().encode(source)
    : source;
  let text: string;
  try {
    text = typeof source === "string"
      ? source
      : new TextDecoder("utf-8", { fatal: true }).decode(source);
  } catch (cause) {
    throw new ScenarioError({
      file,
      issues: [{ path: "", message: "expected UTF-8 text" }],
      cause,
    });
  }
  if (bytes.length > SCENARIO_LIMITS.maxFileBytes) {
    throw new ScenarioError({
      file,
      issues: [{ path: "", message: fileSizeMessage(bytes.length) }],
    });
  }
  const hash = _sha256Hex(bytes);
  const shape = yamlShapeProblem(text);
  if (shape !== undefined) {
    const { message, line } = shape;
    throw new ScenarioError({
      file,
      issues: [{ path: "", message, ...(line === undefined ? {} : { line }) }],
    });
  }

  const counter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: counter,
    prettyErrors: true,
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error): ScenarioIssue => {
      const position = error.linePos?.[0];
      const message = `YAML syntax error: ${
        error.message.split(/ at line \d+, column \d+/)[0]
      }`;
      return {
        path: "",
        message,
        ...(position ? { line: position.line, column: position.col } : {}),
      };
    });
    throw new ScenarioError({ file, issues, cause: doc.errors[0] });
  }

  let data: unknown;
  try {
    // yaml counts the anchor as one of its copies: one more lets `maxAliases` aliases of a plain value through.
    data = doc.toJS({ maxAliasCount: SCENARIO_LIMITS.maxAliases + 1 });
  } catch (cause) {
    // Only a pathological file gets here, e.g. a "billion laughs" of aliases that each copy many others.
    const { maxAliases } = SCENARIO_LIMITS;
    const message = /alias count/i.test((cause as Error).message)
      ? `YAML aliases (*name) expand to too many copies of their anchors; at most ${maxAliases} are allowed`
      : `YAML error: ${(cause as Error).message}`;
    throw new ScenarioError({ file, issues: [{ path: "", message }], cause });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    const got = data === null || data === undefined
      ? "an empty file"
      : Array.isArray(data)
      ? "a list"
      : JSON.stringify(data);
    const issue = {
      path: "",
      message:
        `expected a mapping of scenario fields (id: …, title: …), got ${got}`,
    };
    throw new ScenarioError({ file, issues: [issue] });
  }
  const { events } = data as { events?: unknown };
  if (Array.isArray(events) && events.length > SCENARIO_LIMITS.maxEvents) {
    // Before the schema, which would check each of them first.
    const issue = {
      path: ["events"],
      message:
        `${events.length} events; at most ${SCENARIO_LIMITS.maxEvents} are allowed`,
    };
    throw new ScenarioError({ file, issues: _issues(doc, counter, [issue]) });
  }
  const result = scenarioFileSchema.safeParse(data, { error: errorMap });
  if (!result.success) {
    throw new ScenarioError({
      file,
      issues: _issues(doc, counter, flattenIssues(result.error.issues)),
      cause: result.error,
    });
  }
  const { params, problems } = _params(result.data);
  problems.push(..._crossChecks(result.data, data as Record<string, unknown>));
  if (problems.length > 0 || params === undefined) {
    throw new ScenarioError({ file, issues: _issues(doc, counter, problems) });
  }
  return _resolve(result.data, { file, hash, params });
}
