/**
 * Alarms: when the controller raised its alarm, which faults it noticed and how fast, and which alarms were false.
 *
 * @module
 */

import { parseAlarm } from "../protocol/mod.ts";
import {
  FAULT_EVENT_TYPES,
  type Scenario,
  type ScenarioEvent,
} from "../scenarios/mod.ts";
import { clockAt } from "./_format.ts";
import type { AlarmKpis, FaultKpis } from "./kpis.ts";

/** A publish of the controller on its alarm topic. */
export interface AlarmPublish {
  readonly t: number;
  readonly payload: Uint8Array;
}

/**
 * A raise of the alarm: a publish that raises it when it was clear (`start`), or that raises it again with another
 * message (a new problem reported while the alarm is on). Repeating the same message is not a raise.
 */
interface Raise {
  readonly t: number;
  readonly message: string;
  readonly start: boolean;
}

/** The raises among the alarm publishes, parsed as the tank parses them (payloads it refuses are ignored). */
function _raises(publishes: readonly AlarmPublish[]): Raise[] {
  const raises: Raise[] = [];
  let raised = false;
  let current = "";
  for (const publish of publishes) {
    const parsed = parseAlarm(publish.payload);
    if (!parsed.ok) continue;
    const { raised: now, message } = parsed.value;
    if (now && (!raised || message !== current)) {
      raises.push({ t: publish.t, message, start: !raised });
    }
    raised = now;
    current = now ? message : "";
  }
  return raises;
}

function _sensorOf(event: ScenarioEvent): string | null {
  return "sensor" in event ? event.sensor : null;
}

/** Options for {@linkcode alarmKpis}. */
export interface AlarmKpisOptions {
  /** Simulated times of truth samples at which a measurement was outside its range. */
  outOfRange: readonly number[];
  /** Prefix clock times with the weekday. */
  withDay: boolean;
  /** The grading version (1 when absent). */
  version?: number;
  /** Simulated seconds the run covers (for the time the alarm was on). */
  end?: number;
}

/** Seconds the alarm was raised within [from, to), from the publishes (each raise or clear holds until the next). */
function _onWithin(
  publishes: readonly AlarmPublish[],
  from: number,
  to: number,
): number {
  let on = 0;
  let raised = false;
  let since = 0;
  const add = (until: number) => {
    if (raised) on += Math.max(0, Math.min(until, to) - Math.max(since, from));
  };
  for (const publish of publishes) {
    const parsed = parseAlarm(publish.payload);
    if (!parsed.ok || parsed.value.raised === raised) continue;
    add(publish.t);
    raised = parsed.value.raised;
    since = publish.t;
  }
  add(to);
  return on;
}

/** Merges overlapping [from, to) windows, clipped to [0, end). */
function _merge(
  windows: readonly { from: number; to: number }[],
  end: number,
): { from: number; to: number }[] {
  const sorted = windows
    .map((w) => ({ from: Math.max(0, w.from), to: Math.min(end, w.to) }))
    .filter((w) => w.to > w.from)
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const w of sorted) {
    const last = merged.at(-1);
    if (last && w.from <= last.to) last.to = Math.max(last.to, w.to);
    else merged.push({ ...w });
  }
  return merged;
}

/**
 * The alarm KPIs. Faults are the scenario's fault events plus the events of the types in `grading.expectAlarm`;
 * each is detected by the first raise at or after its start. A raise that starts an alarm is false unless, within
 * `grading.alarmGrace` before it, a fault or expected event was in force (until its end, or its start plus the
 * detection deadline, whichever is later) or a measurement was truly outside its range.
 */
export function alarmKpis(
  scenario: Scenario,
  publishes: readonly AlarmPublish[],
  options: AlarmKpisOptions,
): AlarmKpis {
  const { grading } = scenario;
  const deadline = grading.detectionDeadline;
  const grace = grading.alarmGrace;
  const raises = _raises(publishes);
  const clock = (t: number) => clockAt(scenario.start, t, options.withDay);
  const worthy = scenario.events.filter((event) =>
    FAULT_EVENT_TYPES.includes(event.type) ||
    grading.expectAlarm.includes(event.type)
  );

  const version = options.version ?? 1;
  // From version 2 only a raise from clear detects a fault: an alarm left on, or a new text on it, detects nothing.
  const detecting = version >= 2 ? raises.filter((r) => r.start) : raises;
  const faults = worthy.map((event): FaultKpis => {
    const raise = detecting.find((candidate) => candidate.t >= event.at);
    const after = raise === undefined ? null : raise.t - event.at;
    return {
      type: event.type,
      sensor: _sensorOf(event),
      at: event.at,
      until: Number.isFinite(event.until) ? event.until : null,
      clock: clock(event.at),
      expected: grading.expectAlarm.includes(event.type),
      alarmAt: raise === undefined ? null : raise.t,
      detectedAfter: after,
      withinDeadline: after !== null && after <= deadline,
    };
  });

  const windows = worthy.map((event) => ({
    from: event.at,
    to: Math.max(event.until, event.at + deadline) + grace,
  }));
  const falseAlarms = raises
    .filter((raise) => raise.start)
    .filter((raise) =>
      !windows.some((w) => raise.t >= w.from && raise.t < w.to) &&
      !options.outOfRange.some((t) => t <= raise.t && t >= raise.t - grace)
    )
    .map((raise) => ({
      t: raise.t,
      clock: clock(raise.t),
      message: raise.message,
    }));

  const kpis: AlarmKpis = {
    publishes: publishes.length,
    raises: raises.filter((raise) => raise.start).length,
    deadline,
    grace,
    faults,
    falseAlarms,
  };
  if (version >= 2) {
    // The alarm's time on counts outside fault windows and outside real trouble (a measurement truly outside its
    // range, and the grace after it): an alarm while the fish are in trouble is justified.
    const end = options.end ?? scenario.duration;
    const excused = _merge([
      ...windows,
      ...options.outOfRange.map((t) => ({
        from: t,
        to: t + scenario.publishPeriod + grace,
      })),
    ], end);
    const inExcused = excused.reduce((sum, w) => sum + (w.to - w.from), 0);
    const on = _onWithin(publishes, 0, end) -
      excused.reduce((sum, w) => sum + _onWithin(publishes, w.from, w.to), 0);
    const outside = end - inExcused;
    kpis.onOutsideFaults = {
      hours: Math.round((on / 3600) * 1000) / 1000,
      fraction: outside > 0 ? Math.round((on / outside) * 1000) / 1000 : 0,
    };
  }
  return kpis;
}
