/**
 * What the live page shows of a tank, as plain JSON: built on the server by the relay from the terminal display's
 * state, sent to the browser in the page and over server-sent events, and judged and formatted the same way on both
 * sides. Nothing here touches the network or the DOM, so the browser bundles it.
 *
 * @module
 */

import { readingAgeMs } from "../protocol/mod.ts";
import {
  type ActuatorName,
  SENSOR_NAMES,
  SENSOR_UNITS,
  type SensorName,
} from "../sim/mod.ts";

/** A target range; either bound may be absent. */
export interface RangeView {
  min?: number;
  max?: number;
}

/** One reading: `value` is `null` when the sensor has dropped out; `wallAt` is when it arrived (server ms). */
export interface ReadingView {
  value: number | null;
  wallAt: number;
}

/** One point of the live chart: simulated seconds and the readings of that batch. */
export interface HistoryPoint {
  t: number;
  values: Partial<Record<SensorName, number | null>>;
}

/** Where the relay stands with the broker. */
export interface ConnectionView {
  state: "connecting" | "connected" | "reconnecting" | "closed";
  /** Server wall ms since when. */
  since: number;
  error?: string;
}

/** Everything the card of one tank shows. Times named `wallAt` are server wall-clock milliseconds. */
export interface TankView {
  tank: string;
  readings: Partial<Record<SensorName, ReadingView>>;
  /** The last `sensors/all` batch: when it arrived, its simulated time, the wall ms since the batch before. */
  batch?: { wallAt: number; t?: number; time?: string; interval?: number };
  /** The newest simulated time known (batch, clock or status). */
  sim?: { t: number; time?: string };
  /** The ranges the tank publishes (retained `…/ranges/{name}`): the ones it actually uses. */
  ranges: Partial<Record<SensorName, RangeView>>;
  /** What the tank applies (`…/actuators`); the heater in percent. */
  actuators?: {
    heater?: number;
    light?: boolean;
    pump?: boolean;
    topup?: boolean;
    source?: string;
  };
  /** The last command seen per actuator (`value` absent: the tank refuses it). */
  commands: Partial<
    Record<ActuatorName, { value?: number | boolean; text: string }>
  >;
  /** The retained `…/control_source`: whose control topics the tank obeys (its own id for `self`). */
  controlSource?: string;
  /** The last handover seen: the tank that had control before, and when it changed. */
  handover?: { from: string; wallAt: number; t?: number; time?: string };
  alarm?: { raised: boolean; message: string; wallAt: number };
  status?: {
    state?: string;
    scenario?: string;
    title?: string;
    speed?: number;
  };
  lastError?: { time?: string; topic?: string; error: string; wallAt: number };
  /** The last payload that could not be understood. */
  problem?: { topic: string; message: string; wallAt: number };
}

/** The whole live state: `GET /api/live/state` and the first server-sent event. */
export interface LiveSnapshot {
  broker: string;
  root: string;
  connection: ConnectionView;
  /** Server wall ms when the snapshot was taken, so a browser can correct for its own clock. */
  now: number;
  /** Simulated seconds of history kept per tank. */
  historySeconds: number;
  tanks: TankView[];
  history: Record<string, HistoryPoint[]>;
}

/** An update fanned out to subscribers of the relay (one server-sent event each). */
export type LiveUpdate =
  | { type: "tank"; now: number; tank: TankView; points: HistoryPoint[] }
  | { type: "connection"; now: number; connection: ConnectionView }
  | { type: "history"; now: number; tank: string; points: HistoryPoint[] };

/** How a reading compares with its range. */
export type Verdict = "in range" | "LOW" | "HIGH" | "no range";

/** Compares a reading with its range; either bound may be absent (same rule as the terminal display). */
export function judge(value: number, range: RangeView | undefined): Verdict {
  if (range?.min === undefined && range?.max === undefined) return "no range";
  if (range.min !== undefined && value < range.min) return "LOW";
  if (range.max !== undefined && value > range.max) return "HIGH";
  return "in range";
}

/** Labels for people. */
export const LABELS: Readonly<Record<SensorName, string>> = {
  temperature: "Temperature",
  room_temperature: "Room temperature",
  ph: "pH",
  oxygen: "Oxygen",
  light: "Light",
  level: "Level",
};

const DECIMALS: Readonly<Record<SensorName, number>> = {
  temperature: 2,
  room_temperature: 1,
  ph: 2,
  oxygen: 2,
  light: 0,
  level: 1,
};

/** The unit after a number (`°C`), empty for pH. */
export function unit(name: SensorName): string {
  return name === "ph" ? "" : SENSOR_UNITS[name];
}

/** A reading with its unit, e.g. `24.88 °C`; `—` for a dropped-out sensor. */
export function formatReading(name: SensorName, value: number | null): string {
  if (value === null) return "— (dropped out)";
  const u = unit(name);
  return `${value.toFixed(DECIMALS[name])}${u ? ` ${u}` : ""}`;
}

/** A range, e.g. `24–26 °C`, `≥ 6 mg/L`, or `no range`. */
export function formatRange(name: SensorName, range?: RangeView): string {
  const u = unit(name) ? ` ${unit(name)}` : "";
  if (range?.min !== undefined && range.max !== undefined) {
    return `${range.min}–${range.max}${u}`;
  }
  if (range?.min !== undefined) return `≥ ${range.min}${u}`;
  if (range?.max !== undefined) return `≤ ${range.max}${u}`;
  return "no range";
}

/** How old the last readings are at server time `now` (wall seconds), and whether they are stale. */
export function readingAge(
  view: TankView,
  now: number,
): { seconds: number; stale: boolean } | undefined {
  const age = readingAgeMs(view, now);
  return age && { seconds: age.ms / 1000, stale: age.stale };
}

/** Whose commands a tank obeys: the retained control source, else what the tank says it applies. */
export function controlledBy(view: TankView): string | undefined {
  return view.controlSource ?? view.actuators?.source;
}

/** Whether the card is an outside tank's (a rig): it publishes a status that names no scenario, or none at all. */
export function isRig(view: TankView): boolean {
  return view.status?.scenario === undefined &&
    (view.status !== undefined || view.controlSource !== undefined);
}

/** The measurements in display order. */
export const MEASUREMENTS: readonly SensorName[] = SENSOR_NAMES;
