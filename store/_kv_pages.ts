/**
 * The binary page format the run store keeps messages in: many records per Deno KV value, so that recording costs one
 * KV write per ~60 KiB instead of one per message, and a record too big for a page stored apart in chunks.
 *
 * A page is `[version u8][count u32 LE]` then `count` records. A record is
 * `[kind u8][flags u8][t f64][wall f64][client str][topic str][payload varint-length + bytes][note varint-length + utf-8]?`
 * where `flags` holds the QoS (bits 0–1), retain (bit 2) and whether a note follows (bit 3). Client and topic are
 * references into a string table that lives in the page (`0` = a new string follows, `n` = the n-th string seen in
 * this page), so the few topics a tank uses cost a byte or two per record. A record's `seq` is not stored: it is the
 * page's first seq (in the KV key) plus its position.
 *
 * A record whose encoding would not fit in a page is written stand-alone (the same record encoding with a string
 * table of its own) into chunk values, and the page holds a stub in its place: `[255][kind u8][length varint]`.
 *
 * @module
 */

import {
  type MessageRecord,
  RECORD_KINDS,
  type RecordKind,
} from "./run_record.ts";

/** A record as the recorder is given it: the store adds `runId` and `seq`. */
export type PageRecord = Omit<MessageRecord, "runId" | "seq">;

/** Default page size: below KV's 64 KiB value limit, thirteen of them fit in one atomic commit (800 KiB). */
export const PAGE_BYTES = 60 * 1024;
/** Size of the chunks a stand-alone record is cut into. */
export const CHUNK_BYTES = 60 * 1024;

const VERSION = 1;
const HEADER_BYTES = 5;
const EXTERNAL = 255;

/** Record kinds by their byte in a page. Append only: the index is the stored value. */
export const KINDS: readonly RecordKind[] = RECORD_KINDS;
const KIND_INDEX = new Map(KINDS.map((kind, i) => [kind, i]));

/** A page or stand-alone record that cannot be decoded (a bug or a damaged store). */
export class PageFormatError extends Error {
  override name = "PageFormatError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes a string can take at most in the encoding: UTF-8 (≤ 3 bytes per UTF-16 unit) plus its length. */
function stringBound(text: string): number {
  return text.length * 3 + varintSize(text.length * 3);
}

/** An upper bound of a record's encoded size. */
export function recordSizeBound(record: PageRecord): number {
  // A string reference takes a marker byte before a new string, or up to 3 bytes for a seen one.
  return 18 + 3 + stringBound(record.client) + 3 + stringBound(record.topic) +
    varintSize(record.payload.length) + record.payload.length +
    (record.note === undefined ? 0 : stringBound(record.note));
}

/** Appends records to one page-sized buffer. */
class Encoder {
  bytes: Uint8Array;
  view: DataView;
  position: number;
  readonly strings = new Map<string, number>();

  constructor(capacity: number, start: number) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
    this.position = start;
  }

  varint(n: number, width = varintSize(n)): void {
    const bytes = this.bytes;
    let p = this.position;
    // A fixed width (continuation bits on padding bytes) lets a length be written before its string is encoded.
    for (let i = 1; i < width; i++) {
      bytes[p++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    bytes[p++] = n;
    this.position = p;
  }

  text(value: string): void {
    const width = varintSize(value.length * 3);
    const start = this.position;
    this.position += width;
    const { written } = encoder.encodeInto(
      value,
      this.bytes.subarray(this.position),
    );
    const end = this.position + written;
    this.position = start;
    this.varint(written, width);
    this.position = end;
  }

  ref(value: string): void {
    const index = this.strings.get(value);
    if (index !== undefined) {
      this.varint(index + 1);
      return;
    }
    this.bytes[this.position++] = 0;
    this.text(value);
    this.strings.set(value, this.strings.size);
  }

  record(record: PageRecord): void {
    const kind = KIND_INDEX.get(record.kind);
    if (kind === undefined) {
      throw new TypeError(`record kind: unknown kind "${record.kind}"`);
    }
    const qos = record.qos;
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      throw new RangeError(`record qos: expected 0, 1 or 2, got ${qos}`);
    }
    const bytes = this.bytes;
    bytes[this.position] = kind;
    bytes[this.position + 1] = qos | (record.retain ? 4 : 0) |
      (record.note === undefined ? 0 : 8);
    this.view.setFloat64(this.position + 2, record.t, true);
    this.view.setFloat64(this.position + 10, record.wall, true);
    this.position += 18;
    this.ref(record.client);
    this.ref(record.topic);
    this.varint(record.payload.length);
    bytes.set(record.payload, this.position);
    this.position += record.payload.length;
    if (record.note !== undefined) this.text(record.note);
  }

  stub(record: PageRecord, length: number): void {
    this.bytes[this.position++] = EXTERNAL;
    this.bytes[this.position++] = KIND_INDEX.get(record.kind) ?? 0;
    this.varint(length);
  }
}

/**
 * One page being filled. `append` refuses a record that does not fit (the caller seals the page and starts another);
 * a record that would not fit even in an empty page must be stored with {@linkcode encodeStandalone} and a
 * {@linkcode PageWriter.appendStub}.
 */
export class PageWriter {
  #encoder: Encoder;
  #count = 0;
  readonly capacity: number;

  constructor(capacity: number = PAGE_BYTES) {
    this.capacity = capacity;
    this.#encoder = new Encoder(capacity, HEADER_BYTES);
    this.#encoder.bytes[0] = VERSION;
  }

  /** Records in the page. */
  get count(): number {
    return this.#count;
  }

  /** Bytes used so far. */
  get byteLength(): number {
    return this.#encoder.position;
  }

  /** Whether `record` could ever go into a page of this size, or must be stored stand-alone. */
  fitsEmpty(record: PageRecord): boolean {
    return recordSizeBound(record) <= this.capacity - HEADER_BYTES;
  }

  /** Adds `record` when it surely fits; false (nothing written) when it may not. */
  append(record: PageRecord): boolean {
    if (this.#encoder.position + recordSizeBound(record) > this.capacity) {
      return false;
    }
    this.#encoder.record(record);
    this.#count++;
    return true;
  }

  /** Adds a stub for a record stored stand-alone in `length` bytes of chunks. */
  appendStub(record: PageRecord, length: number): boolean {
    if (this.#encoder.position + 2 + varintSize(length) > this.capacity) {
      return false;
    }
    this.#encoder.stub(record, length);
    this.#count++;
    return true;
  }

  /** A copy of the page as it is now (the writer can go on appending). */
  snapshot(): Uint8Array {
    this.#writeCount();
    return this.#encoder.bytes.slice(0, this.#encoder.position);
  }

  /** The finished page, without a copy; the writer must not be used afterwards. */
  seal(): Uint8Array {
    this.#writeCount();
    return this.#encoder.bytes.subarray(0, this.#encoder.position);
  }

  #writeCount(): void {
    this.#encoder.view.setUint32(1, this.#count, true);
  }
}

/** Encodes one record on its own, with its own string table (for records too big for a page). */
export function encodeStandalone(record: PageRecord): Uint8Array {
  const encoder = new Encoder(recordSizeBound(record), 0);
  encoder.record(record);
  return encoder.bytes.subarray(0, encoder.position);
}

/** The number of records in a page, from its header. */
export function pageCount(page: Uint8Array): number {
  checkVersion(page);
  return new DataView(page.buffer, page.byteOffset, page.byteLength)
    .getUint32(1, true);
}

function checkVersion(page: Uint8Array): void {
  if (page.length < HEADER_BYTES || page[0] !== VERSION) {
    throw new PageFormatError(
      `message page: expected format version ${VERSION} and at least ${HEADER_BYTES} bytes, got version ${
        page[0]
      } in ${page.length} bytes`,
    );
  }
}

/** Reads records back from a page or a stand-alone record. */
class Decoder {
  readonly view: DataView;
  position: number;
  readonly strings: string[] = [];

  constructor(readonly bytes: Uint8Array, start: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = start;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const byte = this.bytes[this.position++];
      if (byte === undefined) {
        throw new PageFormatError("message page: truncated number");
      }
      n += (byte & 127) * scale;
      if (byte < 128) return n;
      scale *= 128;
    }
  }

  text(): string {
    const length = this.varint();
    const end = this.position + length;
    if (end > this.bytes.length) {
      throw new PageFormatError("message page: truncated string");
    }
    const value = decoder.decode(this.bytes.subarray(this.position, end));
    this.position = end;
    return value;
  }

  ref(): string {
    const index = this.varint();
    if (index === 0) {
      const value = this.text();
      this.strings.push(value);
      return value;
    }
    const value = this.strings[index - 1];
    if (value === undefined) {
      throw new PageFormatError(
        `message page: string reference ${index} before its string`,
      );
    }
    return value;
  }

  /** Decodes the record at the position; `keep` false skips copying the payload (returned empty). */
  record(kindByte: number, keep: boolean): PageRecord {
    const kind = KINDS[kindByte];
    if (kind === undefined) {
      throw new PageFormatError(
        `message page: unknown record kind ${kindByte}`,
      );
    }
    const flags = this.bytes[this.position + 1]!;
    const t = this.view.getFloat64(this.position + 2, true);
    const wall = this.view.getFloat64(this.position + 10, true);
    this.position += 18;
    const client = this.ref();
    const topic = this.ref();
    const length = this.varint();
    const end = this.position + length;
    if (end > this.bytes.length) {
      throw new PageFormatError("message page: truncated payload");
    }
    const payload = keep
      ? this.bytes.slice(this.position, end)
      : new Uint8Array(0);
    this.position = end;
    const record: PageRecord = {
      t,
      wall,
      kind,
      client,
      topic,
      payload,
      qos: (flags & 3) as 0 | 1 | 2,
      retain: (flags & 4) !== 0,
    };
    if (flags & 8) record.note = this.text();
    return record;
  }
}

/** One entry of a page: a record, or a stub for a record stored stand-alone in chunks. */
export type PageEntry =
  | { index: number; record: PageRecord }
  | { index: number; external: { kind: RecordKind; length: number } };

/**
 * The entries of a page in order. Records whose kind `accept` rejects are parsed (the string table needs them) but
 * not yielded.
 */
export function* decodePage(
  page: Uint8Array,
  accept?: (kind: RecordKind) => boolean,
): Generator<PageEntry> {
  const count = pageCount(page);
  const decoder = new Decoder(page, HEADER_BYTES);
  for (let index = 0; index < count; index++) {
    const tag = page[decoder.position];
    if (tag === undefined) {
      throw new PageFormatError(
        `message page: ${count} records announced, ${index} found`,
      );
    }
    if (tag === EXTERNAL) {
      const kind = KINDS[page[decoder.position + 1]!];
      decoder.position += 2;
      const length = decoder.varint();
      if (kind === undefined) {
        throw new PageFormatError("message page: stub of an unknown kind");
      }
      if (accept === undefined || accept(kind)) {
        yield { index, external: { kind, length } };
      }
      continue;
    }
    const kind = KINDS[tag];
    const wanted = kind !== undefined && (accept === undefined || accept(kind));
    const record = decoder.record(tag, wanted);
    if (wanted) yield { index, record };
  }
}

/** Decodes a record written by {@linkcode encodeStandalone}. */
export function decodeStandalone(bytes: Uint8Array): PageRecord {
  const decoder = new Decoder(bytes, 0);
  const record = decoder.record(bytes[0] ?? EXTERNAL, true);
  if (decoder.position !== bytes.length) {
    throw new PageFormatError(
      `stand-alone record: ${bytes.length - decoder.position} bytes left over`,
    );
  }
  return record;
}

/** Cuts `bytes` into views of at most `size` bytes (no copy). */
export function chunks(
  bytes: Uint8Array,
  size: number = CHUNK_BYTES,
): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) {
    parts.push(bytes.subarray(start, start + size));
  }
  return parts;
}
