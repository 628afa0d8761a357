/**
 * Reading a run's messages back from their pages (`_kv_pages.ts`), fetching the chunks of records stored apart.
 *
 * @module
 */

import { decodePage, decodeStandalone, pageCount } from "./_kv_pages.ts";
import { chunkKey, pageKey } from "./_run_keys.ts";
import type { MessageRecord, RecordKind } from "./run_record.ts";
import { RunStoreError } from "./run_store_error.ts";
import type { Kv } from "./kv.ts";

/** Options for {@linkcode RunStore.messages}. */
export interface MessagesOptions {
  /** Start at this seq (default 0). */
  fromSeq?: number;
  /** Only records of these kinds. */
  kinds?: readonly RecordKind[];
}

/** The run's records in seq order from `options.fromSeq`, of `options.kinds` only when given. */
export async function* readMessages(
  kv: Kv,
  runId: string,
  options: MessagesOptions = {},
): AsyncIterable<MessageRecord> {
  const fromSeq = options.fromSeq ?? 0;
  const kinds = options.kinds === undefined
    ? undefined
    : new Set<RecordKind>(options.kinds);
  const accept = kinds && ((kind: RecordKind) => kinds.has(kind));
  const prefix = pageKey(runId);
  let start: Deno.KvKey | undefined;
  if (fromSeq > 0) {
    // The page holding fromSeq is the last one starting at or before it.
    for await (
      const entry of kv.list(
        { prefix, end: pageKey(runId, fromSeq + 1) },
        { reverse: true, limit: 1 },
      )
    ) start = entry.key;
  }
  const selector = start === undefined ? { prefix } : { prefix, start };
  for await (const entry of kv.list<Uint8Array>(selector, { batchSize: 50 })) {
    const first = entry.key[2] as number;
    for (const item of decodePage(entry.value, accept)) {
      const seq = first + item.index;
      if (seq < fromSeq) continue;
      const record = "record" in item
        ? item.record
        : await readExternal(kv, runId, seq, item.external.length);
      yield { ...record, runId, seq };
    }
  }
}

/** How many records the run has stored: the last page's first seq plus its count. */
export async function countMessages(
  kv: Kv,
  runId: string,
): Promise<number> {
  for await (
    const entry of kv.list<Uint8Array>({ prefix: pageKey(runId) }, {
      reverse: true,
      limit: 1,
    })
  ) return (entry.key[2] as number) + pageCount(entry.value);
  return 0;
}

async function readExternal(
  kv: Kv,
  runId: string,
  seq: number,
  length: number,
): Promise<Omit<MessageRecord, "runId" | "seq">> {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for await (
    const entry of kv.list<Uint8Array>({ prefix: chunkKey(runId, seq) })
  ) {
    if (offset + entry.value.length > length) break;
    bytes.set(entry.value, offset);
    offset += entry.value.length;
  }
  if (offset !== length) {
    throw new RunStoreError(
      `Cannot read record ${seq} of run "${runId}": ${offset} of its ${length} bytes are stored`,
    );
  }
  return decodeStandalone(bytes);
}
