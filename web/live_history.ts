/**
 * Longer history of a live tank, from the data store: the newest recording of the tank (`deno task sim --web`
 * records its session; `deno task record` records any broker) folded with the display's reducer, so readings and the
 * ranges in force come out as the live page saw them, then reduced like a stored run's series.
 *
 * @module
 */

import { applyMessage, initialDisplayState } from "../harness/display/mod.ts";
import type { RunMeta, RunStore } from "../store/mod.ts";
import { downsampleIndices, type MeasurementSeries } from "../grader/mod.ts";
import { SENSOR_UNITS, type SensorName } from "../sim/mod.ts";

/** Runs looked at, newest first, when no recording is running. */
const RECENT_RUNS = 200;

function records(meta: RunMeta, root: string, tank: string): boolean {
  return (meta.mode === "record" || meta.mode === "live") &&
    meta.root === root && (meta.tank === tank || meta.tank === "*");
}

/** The newest recording of `tank` under `root`: a running one first, else the newest finished one. */
export async function findRecording(
  store: RunStore,
  root: string,
  tank: string,
): Promise<RunMeta | null> {
  const running = await store.listRuns({ outcome: "running" });
  const live = running.find((meta) => records(meta, root, tank));
  if (live !== undefined) return live;
  const recent = await store.listRuns({ limit: RECENT_RUNS });
  return recent.find((meta) => records(meta, root, tank)) ?? null;
}

/** What {@linkcode liveHistory} returns. */
export interface LiveHistory {
  runId: string;
  /** Batches of readings of the tank in the whole recording (the window may hold fewer). */
  readings: number;
  from: number;
  to: number;
  measurements: MeasurementSeries[];
}

/**
 * The readings of `tank` in the recording `meta`, within `[from, to]` simulated seconds, each measurement reduced
 * to about `points` (bucket lowest and highest kept), with the range in force at each point.
 */
export async function liveHistory(
  store: RunStore,
  meta: RunMeta,
  options: {
    root: string;
    tank: string;
    names: readonly SensorName[];
    from?: number;
    to?: number;
    points: number;
  },
): Promise<LiveHistory> {
  const prefix = `${options.root}/${options.tank}/`;
  let state = initialDisplayState({
    broker: "",
    root: options.root,
    tank: options.tank,
  }, 0);
  const from = options.from ?? 0;
  const to = options.to ?? Infinity;
  const t: number[] = [];
  const values = options.names.map(() => [] as number[]);
  const mins = options.names.map(() => [] as (number | null)[]);
  const maxes = options.names.map(() => [] as (number | null)[]);
  let readings = 0;
  for await (
    const record of store.messages(meta.runId, { kinds: ["publish"] })
  ) {
    if (!record.topic.startsWith(prefix)) continue;
    const before = state.batch;
    state = applyMessage(state, record.topic, record.payload, record.wall);
    const batch = state.batch;
    if (batch === before || batch?.t === undefined) continue;
    readings++;
    // A simulation restarted from zero within the recording: keep its latest run of time.
    if (t.length > 0 && batch.t < t.at(-1)!) {
      t.length = 0;
      for (const columns of [values, mins, maxes]) {
        for (const column of columns) column.length = 0;
      }
    }
    if (batch.t < from || batch.t > to) continue;
    t.push(batch.t);
    options.names.forEach((name, i) => {
      values[i]!.push(state.readings[name]?.value ?? NaN);
      mins[i]!.push(state.ranges[name]?.min ?? null);
      maxes[i]!.push(state.ranges[name]?.max ?? null);
    });
  }
  const measurements = options.names.map((name, i): MeasurementSeries => {
    const keep = downsampleIndices(values[i]!, options.points);
    return {
      name,
      unit: SENSOR_UNITS[name],
      t: keep.map((k) => t[k]!),
      value: keep.map((k) => values[i]![k]!),
      min: keep.map((k) => mins[i]![k] ?? null),
      max: keep.map((k) => maxes[i]![k] ?? null),
      samples: t.length,
    };
  });
  return {
    runId: meta.runId,
    readings,
    from: t[0] ?? from,
    to: t.at(-1) ?? from,
    measurements,
  };
}
