/**
 * A run's summary as stored: the `RunMeta` (its scenario text moved to `run_source` keys when long) and its index
 * entries, written by {@linkcode writeSummary} into the caller's atomic operation so that they change together.
 *
 * @module
 */

import { indexPrefix, runKey, sourceKey } from "./_run_keys.ts";
import type { RunMeta, RunOutcome } from "./run_record.ts";
import type { Kv, KvAtomic } from "./kv.ts";

/** What an index entry holds: the fields runs are filtered on, so a listing reads summaries only for matches. */
export interface IndexValue {
  student: string;
  group: string | null;
  scenario: string;
  outcome: RunOutcome;
}

/** The stored summary: the run with its scenario text moved out to `run_source` keys when it is long. */
export interface StoredRun {
  meta: RunMeta;
  sourceChunks: number;
}

/** Scenario text longer than this is stored beside the summary, in slices of this size (a value holds 64 KiB). */
const SOURCE_SLICE = 16_000;
const MAX_SOURCE = 16 * SOURCE_SLICE;
/** Student, group and scenario id are parts of index keys (2 KiB at most). */
const MAX_KEY_TEXT = 400;

function sameKey(a: Deno.KvKey, b: Deno.KvKey): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/** Sets the summary (moving a long scenario text to its own keys) and the index entries of `meta`. */
export function writeSummary(
  atomic: KvAtomic,
  meta: RunMeta,
  before?: StoredRun,
): void {
  const source = meta.scenario.source;
  if (source.length > MAX_SOURCE) {
    throw new RangeError(
      `run "${meta.runId}": scenario.source is ${source.length} characters, at most ${MAX_SOURCE} can be stored`,
    );
  }
  let sourceChunks = 0;
  let stored = meta;
  if (source.length > SOURCE_SLICE) {
    for (let i = 0; i * SOURCE_SLICE < source.length; i++, sourceChunks++) {
      atomic.set(
        sourceKey(meta.runId, i),
        source.slice(i * SOURCE_SLICE, (i + 1) * SOURCE_SLICE),
      );
    }
    stored = { ...meta, scenario: { ...meta.scenario, source: "" } };
  }
  for (let i = sourceChunks; i < (before?.sourceChunks ?? 0); i++) {
    atomic.delete(sourceKey(meta.runId, i));
  }
  atomic.set(runKey(meta.runId), { meta: stored, sourceChunks });
  const entries = indexEntries(meta);
  for (const [key] of before === undefined ? [] : indexEntries(before.meta)) {
    if (!entries.some(([next]) => sameKey(next, key))) atomic.delete(key);
  }
  for (const [key, value] of entries) atomic.set(key, value);
}

/** The run of a stored summary, with its scenario text put back together. */
export async function readMeta(
  kv: Kv,
  stored: StoredRun,
): Promise<RunMeta> {
  if (stored.sourceChunks === 0) return stored.meta;
  const keys = Array.from(
    { length: stored.sourceChunks },
    (_, i) => sourceKey(stored.meta.runId, i),
  );
  let source = "";
  for (let i = 0; i < keys.length; i += 10) {
    for (
      const entry of await kv.getMany<string[]>(keys.slice(i, i + 10))
    ) {
      source += entry.value ?? "";
    }
  }
  return { ...stored.meta, scenario: { ...stored.meta.scenario, source } };
}

/** The index entries of a run: every run in `all`, and one per filter field it has. */
export function indexEntries(meta: RunMeta): [Deno.KvKey, IndexValue][] {
  const started = Date.parse(meta.startedAt);
  const value: IndexValue = {
    student: meta.student,
    group: meta.group ?? null,
    scenario: meta.scenario.id,
    outcome: meta.outcome,
  };
  const entries: [Deno.KvKey, IndexValue][] = [
    [[...indexPrefix(), started, meta.runId], value],
    [[...indexPrefix("student", meta.student), started, meta.runId], value],
    [
      [...indexPrefix("scenario", meta.scenario.id), started, meta.runId],
      value,
    ],
    [[...indexPrefix("outcome", meta.outcome), started, meta.runId], value],
  ];
  if (meta.group !== undefined) {
    entries.push([
      [...indexPrefix("group", meta.group), started, meta.runId],
      value,
    ]);
  }
  return entries;
}

/** Checks what createRun/finishRun would store: a run id, a start time, index fields that fit in a key. */
export function checkMeta(meta: RunMeta): void {
  if (typeof meta.runId !== "string" || meta.runId === "") {
    throw new TypeError(
      `run: runId must be a non-empty string, got ${
        JSON.stringify(meta.runId)
      }`,
    );
  }
  if (meta.runId.length > MAX_KEY_TEXT) {
    throw new RangeError(
      `run "${
        meta.runId.slice(0, 40)
      }…": runId is longer than ${MAX_KEY_TEXT} characters`,
    );
  }
  if (Number.isNaN(Date.parse(meta.startedAt))) {
    throw new RangeError(
      `run "${meta.runId}": startedAt must be an ISO date, got ${
        JSON.stringify(meta.startedAt)
      }`,
    );
  }
  for (
    const [field, value] of [
      ["student", meta.student],
      ["group", meta.group ?? ""],
      ["scenario.id", meta.scenario?.id],
      ["outcome", meta.outcome],
    ] as const
  ) {
    if (typeof value !== "string") {
      throw new TypeError(
        `run "${meta.runId}": ${field} must be a string, got ${typeof value}`,
      );
    }
    if (value.length > MAX_KEY_TEXT) {
      throw new RangeError(
        `run "${meta.runId}": ${field} is ${value.length} characters long, at most ${MAX_KEY_TEXT} can be indexed`,
      );
    }
  }
}
