/**
 * Chart data of a stored run: the true value of each measurement over simulated time with the range in force, the
 * actuators as the tank applied them, and markers where the controller's alarm or a scenario fault began and ended.
 * Read from the run's `truth` records; long series are reduced by {@linkcode downsample}, which keeps every peak.
 *
 * @module
 */

import type { MessageRecord, TruthSample } from "../store/mod.ts";
import { SENSOR_NAMES, SENSOR_UNITS, type SensorName } from "../sim/mod.ts";

/** A point of a series: simulated seconds and a value. */
export interface Point {
  t: number;
  v: number;
}

/**
 * The indices of `values` to keep so that about `n` remain: per bucket of consecutive values, the lowest and the
 * highest (in their time order), plus the first and last value. Peaks survive; `n >= values.length` keeps all.
 */
export function downsampleIndices(
  values: readonly number[],
  n: number,
): number[] {
  const length = values.length;
  if (length === 0) return [];
  if (!(n >= 1) || n >= length) return values.map((_, i) => i);
  if (n < 4) return length === 1 ? [0] : [0, length - 1];
  const buckets = Math.floor((n - 2) / 2);
  const inner = length - 2;
  const out: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets);
    const to = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (to <= from) continue;
    let low = from;
    let high = from;
    for (let i = from + 1; i < to; i++) {
      const value = values[i]!;
      // NaN (no value) is never chosen over a number.
      if (Number.isNaN(value)) continue;
      if (Number.isNaN(values[low]!) || value < values[low]!) low = i;
      if (Number.isNaN(values[high]!) || value > values[high]!) high = i;
    }
    if (low === high) out.push(low);
    else out.push(Math.min(low, high), Math.max(low, high));
  }
  out.push(length - 1);
  return out;
}

/** `points` reduced to about `n` (at most `n`), keeping each bucket's lowest and highest point in time order. */
export function downsample<P extends Point>(
  points: readonly P[],
  n: number,
): P[] {
  if (n >= points.length) return points as P[];
  return downsampleIndices(points.map((p) => p.v), n).map((i) => points[i]!);
}

/** One measurement over time, in columns (what uPlot draws). */
export interface MeasurementSeries {
  name: SensorName;
  unit: string;
  /** Simulated seconds. */
  t: number[];
  /** True values. */
  value: number[];
  /** The range's bounds in force at each point, null where there is none. */
  min: (number | null)[];
  max: (number | null)[];
  /**
   * Truth samples in the requested time window, before downsampling (in proportion to the window's share of the run
   * when the series was cut from a stored digest by {@linkcode reduceSeries}).
   */
  samples: number;
}

/** Actuators as the tank applied them, in columns: heater in % (0–100), the others 1 (on) or 0 (off). */
export interface ActuatorSeries {
  t: number[];
  heater: number[];
  light: number[];
  pump: number[];
  topup: number[];
}

/** Where the alarm or a scenario event (fault, feeding…) began or ended. */
export interface Marker {
  t: number;
  kind: "alarm" | "event";
  /** `alarm` or the event type (`heater_failure`). */
  label: string;
  state: "start" | "end";
}

/** Every truth sample of a run, decoded once. */
export interface RunTruth {
  samples: TruthSample[];
  /** Measurements with a range at some point of the run, in publishing order. */
  bounded: SensorName[];
}

const decoder = new TextDecoder();

function decodeSample(record: MessageRecord): TruthSample | undefined {
  try {
    const sample = JSON.parse(decoder.decode(record.payload)) as TruthSample;
    return typeof sample?.t === "number" && typeof sample.values === "object"
      ? sample
      : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes the truth samples among `records` (any order in, time order out). */
export async function readTruth(
  records: AsyncIterable<MessageRecord> | Iterable<MessageRecord>,
): Promise<RunTruth> {
  const samples: TruthSample[] = [];
  for await (const record of records) {
    if (record.kind !== "truth") continue;
    const sample = decodeSample(record);
    if (sample) samples.push(sample);
  }
  samples.sort((a, b) => a.t - b.t);
  const bounded = SENSOR_NAMES.filter((name) =>
    samples.some((s) => s.ranges?.[name] !== undefined)
  );
  return { samples, bounded };
}

/** What {@linkcode runSeries} draws. */
export interface SeriesOptions {
  /** Measurements (default: those with a range). */
  names?: readonly SensorName[];
  /** Simulated seconds, inclusive; default the whole run. */
  from?: number;
  to?: number;
  /** About this many points per series. Default 1000. */
  points?: number;
}

/** The chart data of a run. */
export interface RunSeries {
  from: number;
  to: number;
  measurements: MeasurementSeries[];
  actuators: ActuatorSeries;
  markers: Marker[];
}

function window(
  samples: readonly TruthSample[],
  from: number,
  to: number,
): TruthSample[] {
  return samples.filter((s) => s.t >= from && s.t <= to);
}

/** Per measurement, actuator and marker: the run's truth in `[from, to]`, each series reduced to about `points`. */
export function runSeries(
  truth: RunTruth,
  options: SeriesOptions = {},
): RunSeries {
  const names = options.names ?? truth.bounded;
  const first = truth.samples[0]?.t ?? 0;
  const last = truth.samples.at(-1)?.t ?? 0;
  const from = options.from ?? first;
  const to = options.to ?? last;
  const points = options.points ?? 1000;
  const inWindow = window(truth.samples, from, to);
  const measurements = names.map((name): MeasurementSeries => {
    const values = inWindow.map((s) => s.values[name] ?? NaN);
    const keep = downsampleIndices(values, points);
    const pick = keep.map((i) => inWindow[i]!);
    return {
      name,
      unit: SENSOR_UNITS[name],
      t: pick.map((s) => s.t),
      value: pick.map((s) => s.values[name] ?? NaN),
      min: pick.map((s) => s.ranges?.[name]?.min ?? null),
      max: pick.map((s) => s.ranges?.[name]?.max ?? null),
      samples: inWindow.length,
    };
  });
  return {
    from,
    to,
    measurements,
    actuators: actuatorSeries(inWindow, points),
    markers: markers(truth.samples).filter((m) => m.t >= from && m.t <= to),
  };
}

/**
 * The actuators' states: only the samples where one changed (plus the first and last), so on/off strips stay exact;
 * a heater that changes too often for `points` is reduced like a measurement.
 */
function actuatorSeries(
  samples: readonly TruthSample[],
  points: number,
): ActuatorSeries {
  const changed = samples.filter((s, i) => {
    const before = samples[i - 1];
    if (before === undefined || i === samples.length - 1) return true;
    const a = before.inputs;
    const b = s.inputs;
    return a.heater !== b.heater || a.light !== b.light ||
      a.pump !== b.pump || a.topup !== b.topup;
  });
  const keep = new Set(
    downsampleIndices(changed.map((s) => s.inputs.heater), points),
  );
  const chosen = changed.filter((_, i) => keep.has(i));
  return {
    t: chosen.map((s) => s.t),
    heater: chosen.map((s) => Math.round(s.inputs.heater * 1000) / 10),
    light: chosen.map((s) => s.inputs.light ? 1 : 0),
    pump: chosen.map((s) => s.inputs.pump ? 1 : 0),
    topup: chosen.map((s) => s.inputs.topup ? 1 : 0),
  };
}

/** Where the alarm was raised or cleared and where each scenario event began or ended. */
export function markers(samples: readonly TruthSample[]): Marker[] {
  const out: Marker[] = [];
  let alarm = false;
  let events = new Set<string>();
  for (const sample of samples) {
    if (sample.alarm !== alarm) {
      out.push({
        t: sample.t,
        kind: "alarm",
        label: "alarm",
        state: sample.alarm ? "start" : "end",
      });
      alarm = sample.alarm;
    }
    const now = new Set(sample.events ?? []);
    for (const type of now) {
      if (!events.has(type)) {
        out.push({ t: sample.t, kind: "event", label: type, state: "start" });
      }
    }
    for (const type of events) {
      if (!now.has(type)) {
        out.push({ t: sample.t, kind: "event", label: type, state: "end" });
      }
    }
    events = now;
  }
  return out;
}

/**
 * `series` (already reduced, e.g. a run's stored digest) reduced again to about `points` per series for `names`
 * within `[from, to]`. Bucket extremes of bucket extremes are still the extremes, so no peak is lost on the way.
 */
export function reduceSeries(
  series: RunSeries,
  options: SeriesOptions & { names: readonly SensorName[] },
): RunSeries {
  const from = Math.max(options.from ?? series.from, series.from);
  const to = Math.min(options.to ?? series.to, series.to);
  const points = options.points ?? 1000;
  const inside = (t: number) => t >= from && t <= to;
  const span = series.to - series.from;
  const share = span > 0 ? Math.max(0, to - from) / span : 1;
  const measurements = options.names.flatMap((name) => {
    const stored = series.measurements.find((m) => m.name === name);
    if (stored === undefined) return [];
    const at = stored.t.flatMap((t, i) => inside(t) ? [i] : []);
    const keep = downsampleIndices(at.map((i) => stored.value[i]!), points)
      .map((k) => at[k]!);
    return [{
      ...stored,
      t: keep.map((i) => stored.t[i]!),
      value: keep.map((i) => stored.value[i]!),
      min: keep.map((i) => stored.min[i] ?? null),
      max: keep.map((i) => stored.max[i] ?? null),
      samples: Math.round(stored.samples * share),
    }];
  });
  const actuators = series.actuators;
  const at = actuators.t.flatMap((t, i) => inside(t) ? [i] : []);
  const keep = downsampleIndices(at.map((i) => actuators.heater[i]!), points)
    .map((k) => at[k]!);
  const pick = (column: number[]) => keep.map((i) => column[i]!);
  return {
    from,
    to,
    measurements,
    actuators: {
      t: pick(actuators.t),
      heater: pick(actuators.heater),
      light: pick(actuators.light),
      pump: pick(actuators.pump),
      topup: pick(actuators.topup),
    },
    markers: series.markers.filter((m) => inside(m.t)),
  };
}
