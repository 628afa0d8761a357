/**
 * The Deno KV key layout of the run store, in one place:
 *
 * | key                                              | value                                        |
 * | ------------------------------------------------ | -------------------------------------------- |
 * | `["runs", runId]`                                | the run's summary (`RunMeta`, structured)    |
 * | `["run_source", runId, i]`                       | slices of a scenario text too big to inline  |
 * | `["run_owner", runId]`                           | heartbeat of the process recording the run   |
 * | `["run_index", "all", startedMs, runId]`         | filter fields, for listing newest first      |
 * | `["run_index", field, value, startedMs, runId]`  | the same, per student, scenario, outcome, group |
 * | `["msgs", runId, firstSeq]`                      | a page of records (`_kv_pages.ts`)           |
 * | `["msg_chunks", runId, seq, i]`                  | a record too big for a page, in slices       |
 * | `["run_attach", runId, name]`                    | how many slices an attachment has            |
 * | `["run_attach", runId, name, i]`                 | a slice of an attachment (gzipped JSON)      |
 *
 * @module
 */

/** Fields a run can be listed by, each with its own index. */
export const INDEXED_FIELDS = [
  "student",
  "group",
  "scenario",
  "outcome",
] as const;
/** A field runs can be listed by. */
export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** `["runs", runId]`. */
export function runKey(runId: string): Deno.KvKey {
  return ["runs", runId];
}

/** `["run_source", runId, i]`, or the prefix of them all without `i`. */
export function sourceKey(runId: string, i?: number): Deno.KvKey {
  return i === undefined ? ["run_source", runId] : ["run_source", runId, i];
}

/** `["run_owner", runId]`. */
export function ownerKey(runId: string): Deno.KvKey {
  return ["run_owner", runId];
}

/** `["run_index", "all"]` or `["run_index", field, value]`: where a listing starts. */
export function indexPrefix(field?: IndexedField, value?: string): Deno.KvKey {
  return field === undefined
    ? ["run_index", "all"]
    : ["run_index", field, value ?? ""];
}

/** `["msgs", runId]`, or the page starting at `firstSeq`. */
export function pageKey(runId: string, firstSeq?: number): Deno.KvKey {
  return firstSeq === undefined ? ["msgs", runId] : ["msgs", runId, firstSeq];
}

/** `["msg_chunks", runId]`, `["msg_chunks", runId, seq]` or one chunk of it. */
export function chunkKey(runId: string, seq?: number, i?: number): Deno.KvKey {
  if (seq === undefined) return ["msg_chunks", runId];
  return i === undefined ? ["msg_chunks", runId, seq] : [
    "msg_chunks",
    runId,
    seq,
    i,
  ];
}

/** `["run_attach", runId]`, `["run_attach", runId, name]` or one slice of it. */
export function attachmentKey(
  runId: string,
  name?: string,
  i?: number,
): Deno.KvKey {
  if (name === undefined) return ["run_attach", runId];
  return i === undefined
    ? ["run_attach", runId, name]
    : ["run_attach", runId, name, i];
}
