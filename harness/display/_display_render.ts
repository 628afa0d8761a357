/**
 * Rendering of the terminal display: pure functions from a {@linkcode DisplayState} and the wall time to text, so the
 * whole screen can be checked in tests without a broker or a terminal. Every state colour also has a word ("in range",
 * "LOW", "HIGH", "STALE"), because colour alone is lost on some terminals, in logs and for colour-blind students.
 *
 * @module
 */

import Table from "cli-table3";
import { createColors } from "picocolors";
import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  SENSOR_UNITS,
  type SensorName,
} from "../../sim/mod.ts";
import { type Range, readingAgeMs } from "../../protocol/mod.ts";
import { type DisplayState, latestSimTime } from "./_display_state.ts";
import { formatDuration, formatSimTime } from "../../lib/mod.ts";

export { latestSimTime };

/** How a reading compares with its range. */
export type Verdict = "in range" | "LOW" | "HIGH" | "no range";

/** What {@linkcode renderDisplay} needs besides the state. */
export interface RenderOptions {
  /** Use ANSI colours. */
  color: boolean;
  /** Wall-clock milliseconds now, to show ages. */
  now: number;
}

/** Table style: no colours of its own (ours carry meaning) and no rule between rows, so the frame stays short. */
const TABLE_STYLE = {
  style: { head: [], border: [] },
  chars: { "mid": "", "left-mid": "", "mid-mid": "", "right-mid": "" },
};

const LABELS: Readonly<Record<SensorName, string>> = {
  temperature: "temperature",
  room_temperature: "room temperature",
  ph: "pH",
  oxygen: "oxygen",
  light: "light",
  level: "level",
};

/** Decimals worth showing: sensors are not more precise than this, and fewer digits flicker less. */
const DECIMALS: Readonly<Record<SensorName, number>> = {
  temperature: 2,
  room_temperature: 1,
  ph: 2,
  oxygen: 2,
  light: 0,
  level: 1,
};

/** Compares a reading with its range; either bound may be absent. */
export function judgeReading(value: number, range: Range | undefined): Verdict {
  if (
    range === undefined || (range.min === undefined && range.max === undefined)
  ) return "no range";
  if (range.min !== undefined && value < range.min) return "LOW";
  if (range.max !== undefined && value > range.max) return "HIGH";
  return "in range";
}

/** The unit to print after a number; pH is its own unit ("pH 7.85", not "7.85 pH"). */
function unitOf(name: SensorName): string {
  return name === "ph" ? "" : ` ${SENSOR_UNITS[name]}`;
}

/** Formats a reading with its unit, e.g. `24.88 °C`. */
export function formatValue(name: SensorName, value: number): string {
  return `${value.toFixed(DECIMALS[name])}${unitOf(name)}`;
}

/** Formats a range, e.g. `24–26 °C`, `≥ 6 mg/L`. */
export function formatRange(
  name: SensorName,
  range: Range | undefined,
): string {
  if (range === undefined) return "";
  const unit = unitOf(name);
  if (range.min !== undefined && range.max !== undefined) {
    return `${range.min}–${range.max}${unit}`;
  }
  if (range.min !== undefined) return `≥ ${range.min}${unit}`;
  if (range.max !== undefined) return `≤ ${range.max}${unit}`;
  return "";
}

/** How old the last batch of readings is: wall seconds, simulated seconds when known, and whether it is stale. */
export interface ReadingAge {
  wall: number;
  /** Simulated seconds between the batch and the newest simulated time known. */
  sim?: number;
  stale: boolean;
}

/** Age of the last `sensors/all` batch (or, failing that, of the newest single reading). */
export function readingAge(
  state: DisplayState,
  now: number,
): ReadingAge | undefined {
  const wall = readingAgeMs(state, now);
  if (wall === undefined) return undefined;
  const latest = latestSimTime(state);
  const t = state.batch?.t;
  const age: ReadingAge = { wall: wall.ms / 1000, stale: wall.stale };
  if (latest !== undefined && t !== undefined) {
    age.sim = Math.max(0, latest.t - t);
  }
  return age;
}

function paint(color: boolean) {
  const pc = createColors(color);
  return {
    pc,
    verdict(verdict: Verdict): string {
      switch (verdict) {
        case "in range":
          return pc.green(verdict);
        case "LOW":
          return pc.bold(pc.cyan(verdict));
        case "HIGH":
          return pc.bold(pc.red(verdict));
        default:
          return pc.dim(verdict);
      }
    },
  };
}

function onOff(value: boolean | undefined): string {
  return value === undefined ? "?" : value ? "on" : "off";
}

function heaterText(percent: number | undefined): string {
  if (percent === undefined) return "?";
  return percent > 0 ? `on ${Math.round(percent * 10) / 10} %` : "off";
}

function commandText(
  name: ActuatorName,
  value: number | boolean | undefined,
  raw: string,
): string {
  if (value === undefined) {
    return `${
      JSON.stringify(raw.length > 24 ? `${raw.slice(0, 24)}…` : raw)
    } (refused)`;
  }
  if (name === "heater" && typeof value === "number") {
    return heaterText(value * 100);
  }
  return onOff(Boolean(value));
}

function applied(state: DisplayState, name: ActuatorName): string {
  const a = state.applied;
  if (a === undefined) return "?";
  return name === "heater" ? heaterText(a.heater) : onOff(a[name]);
}

function connectionLine(
  state: DisplayState,
  pc: ReturnType<typeof createColors>,
): string[] {
  const { connection, broker } = state;
  const attempt = connection.attempts > 0
    ? ` (attempt ${connection.attempts + 1})`
    : "";
  const line = connection.state === "connected"
    ? pc.green(`connected to ${broker}`)
    : pc.yellow(`${connection.state} to ${broker}${attempt}…`);
  const lines = [line];
  if (connection.error !== undefined && connection.state !== "connected") {
    lines.push(pc.red(connection.error));
  }
  return lines;
}

function statusLine(state: DisplayState): string {
  const s = state.status;
  if (s === undefined) return "Scenario: (no status yet)";
  // A rig names no scenario: it is an outside tank, and its state (online / offline, from its last will) is the news.
  if (s.scenario === undefined) return `Outside tank (rig) · ${s.state ?? "?"}`;
  const title = s.title ? ` "${s.title}"` : "";
  const speed = s.speed === undefined ? "" : ` · speed ×${s.speed}`;
  return `Scenario: ${s.scenario ?? "?"}${title} · ${s.state ?? "?"}${speed}`;
}

function simTimeLine(state: DisplayState): string {
  const latest = latestSimTime(state);
  if (latest === undefined) return "Simulated time: (not yet known)";
  const at = latest.time === undefined ? "" : `${formatSimTime(latest.time)} `;
  return `Simulated time: ${at}(t = ${formatDuration(latest.t)})`;
}

function ageLine(
  state: DisplayState,
  now: number,
  pc: ReturnType<typeof createColors>,
): string {
  const age = readingAge(state, now);
  if (age === undefined) return pc.yellow("Last reading: none yet");
  const sim = age.sim === undefined
    ? ""
    : ` (${formatDuration(age.sim)} simulated)`;
  const text = `Last reading: ${formatDuration(age.wall)} ago${sim}`;
  if (!age.stale) return text;
  // Readings and simulated time stopping together mean the run is not advancing, not that readings are lost.
  const why = state.status?.state === "finished"
    ? "the run has finished"
    : age.sim === 0
    ? "the simulated clock has not moved either: is the simulation paused, waiting for acks, or stopped?"
    : "readings stopped while the simulated clock went on";
  return `${pc.yellow(text)} ${pc.bold(pc.yellow("STALE"))} ${
    pc.dim(`(${why})`)
  }`;
}

function alarmLine(
  state: DisplayState,
  now: number,
  pc: ReturnType<typeof createColors>,
): string {
  const alarm = state.alarm;
  if (alarm === undefined || !alarm.raised) return `Alarm: ${pc.green("none")}`;
  const since = formatDuration((now - alarm.wallAt) / 1000);
  return pc.bold(pc.red(`ALARM: ${alarm.message || "(no message)"}`)) +
    ` (raised ${since} ago)`;
}

/** Renders the whole screen as text lines joined by `\n` (no trailing newline, no cursor movement). */
export function renderDisplay(
  state: DisplayState,
  options: RenderOptions,
): string {
  const { now } = options;
  const { pc, verdict } = paint(options.color);
  const lines: string[] = [];
  lines.push(
    `${pc.bold(`Fish tank ${state.topics.tank}`)}  ${
      pc.dim(state.topics.base)
    }`,
  );
  lines.push(...connectionLine(state, pc));
  lines.push(
    statusLine(state),
    simTimeLine(state),
    ageLine(state, now, pc),
  );

  const readings = new Table({
    head: ["Reading", "Value", "Range", "State", "Age"],
    ...TABLE_STYLE,
  });
  for (const name of SENSOR_NAMES) {
    const reading = state.readings[name];
    const range = state.ranges[name];
    const rangeText = formatRange(name, range);
    if (reading === undefined) {
      readings.push([
        LABELS[name],
        pc.dim("—"),
        rangeText,
        pc.dim("waiting"),
        "",
      ]);
      continue;
    }
    const age = formatDuration((now - reading.wallAt) / 1000);
    if (reading.value === null) {
      readings.push([
        LABELS[name],
        pc.dim("—"),
        rangeText,
        pc.bold(pc.magenta("DROPPED OUT")),
        age,
      ]);
      continue;
    }
    const v = judgeReading(reading.value, range);
    const value = formatValue(name, reading.value);
    readings.push([
      LABELS[name],
      v === "LOW" || v === "HIGH" ? pc.bold(value) : value,
      rangeText,
      verdict(v),
      age,
    ]);
  }
  lines.push(readings.toString());

  const actuators = new Table({
    head: ["Actuator", "Tank applies", "Last command"],
    ...TABLE_STYLE,
  });
  for (const name of ACTUATOR_NAMES) {
    const command = state.commands[name];
    const sent = command === undefined
      ? pc.dim("none seen")
      : `${commandText(name, command.value, command.text)} ${
        pc.dim(`${formatDuration((now - command.wallAt) / 1000)} ago`)
      }`;
    actuators.push([name, applied(state, name), sent]);
  }
  lines.push(actuators.toString());
  const source = state.controlSource ?? state.applied?.source;
  if (source !== undefined && source !== state.topics.tank) {
    lines.push(
      pc.yellow(`The tank obeys the control topics of tank "${source}".`),
    );
  }
  const handover = state.handover;
  if (handover !== undefined) {
    const from = handover.from === state.topics.tank
      ? "its own control topics"
      : `tank "${handover.from}"`;
    const at = handover.time !== undefined
      ? ` at ${formatSimTime(handover.time)}`
      : handover.t !== undefined
      ? ` at t = ${formatDuration(handover.t)}`
      : "";
    lines.push(
      pc.dim(
        `Handed over from ${from}${at} (${
          formatDuration((now - handover.wallAt) / 1000)
        } ago).`,
      ),
    );
  }

  lines.push(alarmLine(state, now, pc));
  const error = state.lastError;
  if (error !== undefined) {
    const where = error.topic === undefined ? "" : `${error.topic}: `;
    lines.push(
      pc.red(
        `Last tank error (${
          formatDuration((now - error.wallAt) / 1000)
        } ago): ${where}${error.error}`,
      ),
    );
  }
  const problem = state.problem;
  if (problem !== undefined) {
    lines.push(
      pc.yellow(`Ignored a message on ${problem.topic}: ${problem.message}`),
    );
  }
  return lines.join("\n");
}

/** Renders one plain line (no colour) summarising the latest readings, for logs and non-terminal output. */
export function renderPlainLine(
  state: DisplayState,
  options: { now: number },
): string {
  const parts: string[] = [];
  const time = state.batch?.time;
  const t = state.batch?.t;
  const head = [
    time === undefined ? undefined : formatSimTime(time),
    t === undefined ? undefined : `t=${t}s`,
  ]
    .filter((x) => x !== undefined).join(" ");
  parts.push(head || "(no simulated time)");
  for (const name of SENSOR_NAMES) {
    const reading = state.readings[name];
    if (reading === undefined) continue;
    if (reading.value === null) {
      parts.push(`${LABELS[name]} — DROPPED OUT`);
      continue;
    }
    const range = state.ranges[name];
    const v = judgeReading(reading.value, range);
    const judged = v === "no range"
      ? ""
      : ` ${v} (${formatRange(name, range)})`;
    parts.push(`${LABELS[name]} ${formatValue(name, reading.value)}${judged}`);
  }
  if (state.applied !== undefined) {
    parts.push(
      ACTUATOR_NAMES.map((name) => `${name} ${applied(state, name)}`).join(
        ", ",
      ),
    );
  }
  const alarm = state.alarm;
  parts.push(
    alarm?.raised ? `ALARM: ${alarm.message || "(no message)"}` : "alarm: none",
  );
  const age = readingAge(state, options.now);
  if (age?.stale) {
    parts.push(`STALE: last reading ${formatDuration(age.wall)} ago`);
  }
  return parts.join(" | ");
}

/**
 * Plain-text lines for what changed between two states apart from readings: connection, status, alarm, tank errors and
 * ignored messages. Plain mode prints these as they happen.
 */
export function describeChanges(
  before: DisplayState,
  after: DisplayState,
): string[] {
  const lines: string[] = [];
  const a = before.connection;
  const b = after.connection;
  if (a.state !== b.state) {
    lines.push(
      b.state === "connected"
        ? `connected to ${after.broker}`
        : `${b.state} to ${after.broker}…`,
    );
  }
  if (b.error !== undefined && b.error !== a.error) lines.push(b.error);
  const status = after.status;
  if (
    status !== undefined &&
    (status.state !== before.status?.state ||
      status.scenario !== before.status?.scenario)
  ) {
    lines.push(
      `status: ${status.state ?? "?"} (scenario ${status.scenario ?? "?"})`,
    );
  }
  const alarm = after.alarm;
  if (alarm !== undefined && alarm !== before.alarm) {
    const was = before.alarm;
    if (alarm.raised && (!was?.raised || was.message !== alarm.message)) {
      lines.push(`ALARM: ${alarm.message || "(no message)"}`);
    } else if (!alarm.raised && was?.raised) lines.push("alarm cleared");
  }
  const error = after.lastError;
  if (error !== undefined && error !== before.lastError) {
    lines.push(
      `tank error: ${
        error.topic === undefined ? "" : `${error.topic}: `
      }${error.error}`,
    );
  }
  const problem = after.problem;
  if (problem !== undefined && problem !== before.problem) {
    lines.push(`ignored a message on ${problem.topic}: ${problem.message}`);
  }
  return lines;
}
