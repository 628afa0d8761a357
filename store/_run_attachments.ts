/**
 * Attachments of a run: values derived from its records once (its grade and chart digest, written when the run
 * ends) so that pages need not read every record again. Stored as gzipped JSON in slices that fit KV's 64 KiB
 * values, all written in one atomic commit with a header saying how many slices there are.
 *
 * @module
 */

import { attachmentKey } from "./_run_keys.ts";
import type { Kv, KvAtomic } from "./kv.ts";

/** Bytes per slice (a KV value holds 64 KiB). */
const SLICE = 60_000;
/** Most bytes an attachment may take once compressed (an atomic commit holds 800 KiB). */
export const MAX_ATTACHMENT_BYTES = 12 * SLICE;

interface Header {
  slices: number;
  bytes: number;
}

async function pipe(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const body = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/**
 * Adds to `atomic` the writes that store `value` as the run's attachment `name`, replacing one of `before` slices.
 *
 * @throws {RangeError} when the value takes more than {@linkcode MAX_ATTACHMENT_BYTES} compressed
 */
export async function writeAttachment(
  atomic: KvAtomic,
  runId: string,
  name: string,
  value: unknown,
  before: number,
): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const bytes = await pipe(json, new CompressionStream("gzip"));
  if (bytes.length > MAX_ATTACHMENT_BYTES) {
    throw new RangeError(
      `run "${runId}": attachment "${name}" is ${bytes.length} bytes compressed, at most ${MAX_ATTACHMENT_BYTES} can be stored`,
    );
  }
  const slices = Math.ceil(bytes.length / SLICE);
  for (let i = 0; i < slices; i++) {
    atomic.set(
      attachmentKey(runId, name, i),
      bytes.subarray(i * SLICE, (i + 1) * SLICE),
    );
  }
  for (let i = slices; i < before; i++) {
    atomic.delete(attachmentKey(runId, name, i));
  }
  atomic.set(
    attachmentKey(runId, name),
    { slices, bytes: bytes.length } satisfies Header,
  );
}

/** The header entry of an attachment (for the check of a replacing commit) and its slice count. */
export async function attachmentHeader(
  kv: Kv,
  runId: string,
  name: string,
): Promise<{ entry: Deno.KvEntryMaybe<Header>; slices: number }> {
  const entry = await kv.get<Header>(attachmentKey(runId, name));
  return { entry, slices: entry.value?.slices ?? 0 };
}

/** The attachment's value, or null when the run has none of that name. */
export async function readAttachment(
  kv: Kv,
  runId: string,
  name: string,
): Promise<unknown> {
  const header = (await kv.get<Header>(attachmentKey(runId, name))).value;
  if (header === null) return null;
  const bytes = new Uint8Array(header.bytes);
  let offset = 0;
  for (let i = 0; i < header.slices; i += 10) {
    const keys = [];
    for (let j = i; j < Math.min(i + 10, header.slices); j++) {
      keys.push(attachmentKey(runId, name, j));
    }
    for (const entry of await kv.getMany<Uint8Array[]>(keys)) {
      if (entry.value === null) return null;
      bytes.set(entry.value, offset);
      offset += entry.value.length;
    }
  }
  if (offset !== header.bytes) return null;
  const json = await pipe(bytes, new DecompressionStream("gzip"));
  return JSON.parse(new TextDecoder().decode(json));
}
