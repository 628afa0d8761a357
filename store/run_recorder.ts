/**
 * `RunRecorder`: writes a run's messages into Deno KV in pages, fast enough to keep up with a busy broker, and often
 * enough that a crash loses at most the last second. Get one from `RunStore.recorder(runId)`.
 *
 * @module
 */

import { commitRetrying } from "./_kv_commit.ts";
import {
  chunks,
  encodeStandalone,
  PAGE_BYTES,
  type PageRecord,
  PageWriter,
} from "./_kv_pages.ts";
import { withDefaults } from "../lib/mod.ts";
import { chunkKey, pageKey } from "./_run_keys.ts";
import type { MessageRecord } from "./run_record.ts";
import { RunStoreError } from "./run_store_error.ts";
import type { Kv } from "./kv.ts";

/** Options for `RunStore.recorder`. */
export interface RunRecorderOptions {
  /** Commit what was appended at least this often, ms: a crash loses at most this much. Default 1000. */
  commitEveryMs?: number;
  /** Bytes per page (one KV value), at most 64 KiB. Default 60 KiB. */
  pageBytes?: number;
  /** Commit as soon as this many bytes of full pages wait. Default 720 KiB (one atomic commit holds 800 KiB). */
  batchBytes?: number;
  /** From this many bytes waiting for the store, {@linkcode RunRecorder.overloaded} is true. Default 8 MiB. */
  highWaterBytes?: number;
  /** Beyond this many bytes waiting, `append` throws instead of growing without bound. Default 256 MiB. */
  maxQueueBytes?: number;
}

const defaults = {
  commitEveryMs: 1000,
  pageBytes: PAGE_BYTES,
  batchBytes: 720 * 1024,
  highWaterBytes: 8 * 1024 * 1024,
  maxQueueBytes: 256 * 1024 * 1024,
} satisfies Required<RunRecorderOptions>;

/** KV's limits for one atomic commit (Deno 2: 1000 mutations, 800 KiB of keys and values), with a margin. */
const MAX_MUTATIONS = 900;
const MAX_COMMIT_BYTES = 780 * 1024;

interface Pending {
  key: Deno.KvKey;
  value: Uint8Array;
  /** Records before this seq are stored once this value is (0 for a chunk). */
  upTo: number;
}

/**
 * A batching writer for one run's messages. {@linkcode append} is synchronous: it numbers the record, encodes it into
 * the open page and returns at once; pages are committed in the background, many per atomic commit, when a commit's
 * worth is waiting and at the latest `commitEveryMs` after a record was appended. Await {@linkcode flush} to know
 * everything appended so far is stored; await it too when {@linkcode overloaded} says the store is behind.
 */
export class RunRecorder {
  /** The run the records belong to. */
  readonly runId: string;
  readonly #kv: Kv;
  readonly #options: Required<RunRecorderOptions>;
  readonly #keyBytes: number;
  readonly #onClose: () => void;
  #page: PageWriter;
  #pageFirst = 0;
  /** Bytes of the open page already stored by a snapshot. */
  #pageStored = 0;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  #seq = 0;
  #stored = 0;
  #snapshotWanted = false;
  #lastCut = 0;
  #committing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #error: unknown;
  #closing: Promise<void> | undefined;

  /** Use `RunStore.recorder(runId)`. */
  constructor(
    kv: Kv,
    runId: string,
    options: RunRecorderOptions = {},
    onClose: () => void = () => {},
  ) {
    this.#kv = kv;
    this.runId = runId;
    this.#options = withDefaults(defaults, options);
    if (!(this.#options.pageBytes > 64 && this.#options.pageBytes <= 65536)) {
      throw new RangeError(
        `pageBytes: expected 65 to 65536, got ${this.#options.pageBytes}`,
      );
    }
    // A generous estimate of an encoded key (["msg_chunks", runId, seq, i]) for the commit-size budget.
    this.#keyBytes = 64 + 3 * runId.length;
    this.#onClose = onClose;
    this.#page = new PageWriter(this.#options.pageBytes);
  }

  /** Records appended so far (the next record's seq). */
  get count(): number {
    return this.#seq;
  }

  /** Records appended but not yet stored: the queue length. */
  get pending(): number {
    return this.#seq - this.#stored;
  }

  /** Bytes waiting for the store (full pages and chunks, plus the open page). */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#page.byteLength - this.#pageStored;
  }

  /** True while more than `highWaterBytes` wait for the store: await {@linkcode flush} before appending more. */
  get overloaded(): boolean {
    return this.pendingBytes >= this.#options.highWaterBytes;
  }

  /**
   * Adds a record; returns it with its `runId` and `seq` (0, 1, 2, …). The payload is copied, so the caller may reuse
   * its buffer.
   *
   * @throws {TypeError} for a record that is not one (payload not bytes, unknown kind)
   * @throws {RunStoreError} after the recorder was closed, after a commit failed, or when `maxQueueBytes` wait
   */
  append(record: PageRecord): MessageRecord {
    this.#checkOpen();
    if (!(record.payload instanceof Uint8Array)) {
      throw new TypeError(
        `append: payload must be a Uint8Array, got ${typeof record.payload}`,
      );
    }
    if (this.#queuedBytes > this.#options.maxQueueBytes) {
      throw new RunStoreError(
        `Cannot record run "${this.runId}": ${
          Math.round(this.#queuedBytes / 1048576)
        } MiB wait for the store (limit ${
          Math.round(this.#options.maxQueueBytes / 1048576)
        } MiB); await flush() when overloaded is true`,
      );
    }
    const seq = this.#seq;
    if (!this.#page.fitsEmpty(record)) {
      const bytes = encodeStandalone(record);
      for (const [i, part] of chunks(bytes).entries()) {
        this.#push({ key: chunkKey(this.runId, seq, i), value: part, upTo: 0 });
      }
      if (!this.#page.appendStub(record, bytes.length)) {
        this.#seal();
        this.#page.appendStub(record, bytes.length);
      }
    } else if (!this.#page.append(record)) {
      this.#seal();
      this.#page.append(record);
    }
    this.#seq++;
    if (this.#timer === undefined && this.#committing === undefined) {
      this.#arm(this.#options.commitEveryMs);
    }
    if (this.#queuedBytes >= this.#options.batchBytes) this.#commit(false);
    return { ...record, runId: this.runId, seq };
  }

  /** Resolves once every record appended before the call is stored. */
  async flush(): Promise<void> {
    const target = this.#seq;
    while (this.#stored < target) {
      this.#throwIfFailed();
      this.#commit(true);
      await this.#committing;
    }
    this.#throwIfFailed();
  }

  /** Stores what is left, stops the timer; further appends throw. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.flush();
      } finally {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#onClose();
      }
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) {
      throw new RunStoreError(
        `Cannot record run "${this.runId}": the recorder is closed`,
      );
    }
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error === undefined) return;
    const error = this.#error;
    throw new RunStoreError(
      `Cannot record run "${this.runId}": ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }

  #push(item: Pending): void {
    this.#queue.push(item);
    this.#queuedBytes += item.value.length + this.#keyBytes;
  }

  #seal(): void {
    const count = this.#page.count;
    this.#push({
      key: pageKey(this.runId, this.#pageFirst),
      value: this.#page.seal(),
      upTo: this.#pageFirst + count,
    });
    this.#pageFirst += count;
    this.#pageStored = 0;
    this.#page = new PageWriter(this.#options.pageBytes);
  }

  #arm(delay: number): void {
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.#commit(true);
    }, Math.max(0, delay));
    // An open recorder must not keep a finished program alive; close() is what stores the rest.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Starts the commit loop unless it runs; `snapshot` also stores the open page. */
  #commit(snapshot: boolean): void {
    if (snapshot) this.#snapshotWanted = true;
    if (this.#committing !== undefined || this.#error !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#committing = this.#commitLoop().finally(() => {
      this.#committing = undefined;
      if (
        this.pending > 0 && this.#timer === undefined &&
        this.#error === undefined
      ) {
        // The oldest record not stored was appended after the last cut: keep the once-a-period promise for it.
        this.#arm(this.#options.commitEveryMs - (Date.now() - this.#lastCut));
      }
    });
  }

  async #commitLoop(): Promise<void> {
    try {
      for (;;) {
        const batch: Pending[] = [];
        let bytes = 0;
        while (this.#queue.length > 0 && batch.length < MAX_MUTATIONS) {
          const size = this.#queue[0]!.value.length + this.#keyBytes;
          if (batch.length > 0 && bytes + size > MAX_COMMIT_BYTES) break;
          batch.push(this.#queue.shift()!);
          bytes += size;
        }
        const queued = bytes;
        const open = this.#page.count;
        let snapshot: { page: PageWriter; bytes: number } | undefined;
        if (this.#queue.length === 0 && this.#snapshotWanted) {
          if (open === 0 || this.#pageFirst + open <= this.#stored) {
            this.#snapshotWanted = false;
            this.#lastCut = Date.now();
          } else if (
            bytes + this.#page.byteLength + this.#keyBytes <= MAX_COMMIT_BYTES
          ) {
            snapshot = { page: this.#page, bytes: this.#page.byteLength };
            batch.push({
              key: pageKey(this.runId, this.#pageFirst),
              value: this.#page.snapshot(),
              upTo: this.#pageFirst + open,
            });
            this.#snapshotWanted = false;
            this.#lastCut = Date.now();
          }
        }
        if (batch.length === 0) return;
        const atomic = this.#kv.atomic();
        for (const item of batch) atomic.set(item.key, item.value);
        // A failure ends the recorder (append and flush throw it from now on), so the batch need not go back.
        await commitRetrying(atomic);
        this.#queuedBytes -= queued;
        if (snapshot !== undefined && snapshot.page === this.#page) {
          this.#pageStored = snapshot.bytes;
        }
        for (const item of batch) {
          if (item.upTo > this.#stored) this.#stored = item.upTo;
        }
      }
    } catch (error) {
      this.#error = error;
    }
  }
}
