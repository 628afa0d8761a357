/**
 * Reading run summaries through the store's indexes: the query side of the run store.
 *
 * @module
 */

import { type IndexedField, indexPrefix, runKey } from "./_run_keys.ts";
import type { RunMeta, RunOutcome } from "./run_record.ts";
import { type IndexValue, readMeta, type StoredRun } from "./_run_summary.ts";
import type { Kv } from "./kv.ts";

/** Which runs {@linkcode RunStore.listRuns} returns; every given field must match. */
export interface RunFilter {
  student?: string;
  /** Scenario id. */
  scenario?: string;
  outcome?: RunOutcome;
  group?: string;
  /** At most this many runs (newest first). Default: all. */
  limit?: number;
}

/** Runs matching `filter`, newest first (by `startedAt`), read through the index of the most selective field. */
export async function listRuns(
  kv: Kv,
  filter: RunFilter = {},
): Promise<RunMeta[]> {
  const limit = filter.limit ?? Infinity;
  if (!(limit > 0)) {
    throw new RangeError(`limit: expected a number above 0, got ${limit}`);
  }
  const field: IndexedField | undefined = filter.student !== undefined
    ? "student"
    : filter.group !== undefined
    ? "group"
    : filter.scenario !== undefined
    ? "scenario"
    : filter.outcome !== undefined
    ? "outcome"
    : undefined;
  const prefix = indexPrefix(field, field && filter[field]);
  const runs: RunMeta[] = [];
  let ids: string[] = [];
  const fetch = async () => {
    const entries = await kv.getMany<StoredRun[]>(ids.map(runKey));
    for (const entry of entries) {
      if (entry.value !== null) {
        runs.push(await readMeta(kv, entry.value));
      }
    }
    ids = [];
  };
  for await (
    const entry of kv.list<IndexValue>({ prefix }, { reverse: true })
  ) {
    const value = entry.value;
    if (
      (filter.student !== undefined && value.student !== filter.student) ||
      (filter.group !== undefined && value.group !== filter.group) ||
      (filter.scenario !== undefined && value.scenario !== filter.scenario) ||
      (filter.outcome !== undefined && value.outcome !== filter.outcome)
    ) continue;
    ids.push(entry.key.at(-1) as string);
    if (ids.length === 10) await fetch();
    if (runs.length + ids.length >= limit) break;
  }
  if (ids.length > 0) await fetch();
  return runs.slice(0, limit);
}
