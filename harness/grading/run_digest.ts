/**
 * A run's digest: its grade and its charts reduced to {@linkcode DIGEST_POINTS} per series (keeping every peak),
 * computed from its records once when the run ends and stored with it, so that a report or a chart of a day-long run
 * opens without reading 100,000 records again. `deno task grade --rescore` still recomputes from the records; a
 * digest written by another version of this code ({@linkcode DIGEST_VERSION}) is ignored and made anew.
 *
 * @module
 */

import {
  computeKpis,
  readTruth,
  type RunGrade,
  type RunSeries,
  runSeries,
  scoreRun,
} from "../../grader/mod.ts";
import { parseScenario } from "../../scenarios/mod.ts";
import { SENSOR_NAMES, type SensorName } from "../../sim/mod.ts";
import type { MessageRecord, RunMeta, RunStore } from "../../store/mod.ts";

/** Bump when the grader or the chart data change, so that stored digests are made anew. */
export const DIGEST_VERSION = 2;
/** Points per series kept in a digest: more than a chart a screen wide draws, far fewer than a day at 1 s. */
export const DIGEST_POINTS = 4000;
/** The attachment the digest is stored as. */
export const DIGEST_ATTACHMENT = "digest";

/** What a run's digest holds. */
export interface RunDigest {
  version: number;
  /** The grade, as `deno task grade --rescore` computes it from the records. */
  grade: RunGrade;
  /** Measurements with a range at some point of the run (what charts show by default). */
  bounded: SensorName[];
  /** Every measurement over the whole run, reduced to about {@linkcode DIGEST_POINTS} points per series. */
  chart: RunSeries;
}

/** Grades `records` of the run `meta` with the scenario text stored with the run. */
export function gradeRecords(
  meta: RunMeta,
  records: Iterable<MessageRecord>,
): RunGrade {
  const scenario = parseScenario(meta.scenario.source, {
    file: meta.scenario.id,
  });
  return scoreRun(
    computeKpis({ scenario, meta, records }),
    scenario.grading,
    meta,
  );
}

/** Grades `records` of the run `meta` and reduces its charts. */
export async function digestRecords(
  meta: RunMeta,
  records: readonly MessageRecord[],
): Promise<RunDigest> {
  const grade = gradeRecords(meta, records);
  const truth = await readTruth(records);
  return {
    version: DIGEST_VERSION,
    grade,
    bounded: truth.bounded,
    chart: runSeries(truth, { names: SENSOR_NAMES, points: DIGEST_POINTS }),
  };
}

/**
 * Reads the run's records, digests them and (with `save`, the default) stores the digest with the run. A digest too
 * big to store is still returned: pages then make it again when asked, slower but the same.
 *
 * @throws {RunStoreError} when there is no such run
 */
export async function digestStoredRun(
  store: RunStore,
  meta: RunMeta,
  options: { save?: boolean } = {},
): Promise<RunDigest> {
  const records: MessageRecord[] = [];
  for await (const record of store.messages(meta.runId)) records.push(record);
  const digest = await digestRecords(meta, records);
  if (options.save ?? true) {
    try {
      await store.putAttachment(meta.runId, DIGEST_ATTACHMENT, digest);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  return digest;
}

/** What a run's summary keeps of its grade (`RunMeta.grade`): pages list runs from summaries, not digests. */
export function summaryGrade(grade: RunGrade): NonNullable<RunMeta["grade"]> {
  return {
    score: grade.score,
    pass: grade.pass,
    passMark: grade.passMark,
    interference: grade.interference !== null,
  };
}

/** The run's stored digest, or null when it has none of this version. */
export async function storedDigest(
  store: RunStore,
  runId: string,
): Promise<RunDigest | null> {
  const value = await store.getAttachment(runId, DIGEST_ATTACHMENT);
  const digest = value as RunDigest | null;
  if (digest?.version !== DIGEST_VERSION) return null;
  // JSON has no NaN: a missing value was stored as null.
  for (const series of digest.chart.measurements) {
    series.value = series.value.map((v) => v ?? NaN);
  }
  return digest;
}
