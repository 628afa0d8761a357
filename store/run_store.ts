/**
 * `RunStore`: runs and their messages in Deno KV (a SQLite file, `./data/fishtank.kv` by default). A run's summary
 * and its index entries change together in one atomic commit; messages are written in pages by a
 * {@linkcode RunRecorder}; runs left `running` by a harness that died are found by their stale heartbeat and marked
 * `interrupted`. The key layout is in `_run_keys.ts`, the page format in `_kv_pages.ts`.
 *
 * ```ts
 * const store = await RunStore.open(":memory:");
 * await store.createRun(meta);
 * const recorder = store.recorder(meta.runId);
 * recorder.append({ t: 0, wall: Date.now(), kind: "note", client: "$harness", topic: "", payload: new Uint8Array(), qos: 0, retain: false, note: "hello" });
 * await recorder.close();
 * await store.finishRun(meta.runId, { outcome: "completed", stats: { ...meta.stats, messages: recorder.count } });
 * for await (const record of store.messages(meta.runId)) console.log(record.seq, record.topic);
 * store.close();
 * ```
 *
 * @module
 */

import { dirname } from "node:path";
import { commitRetrying } from "./_kv_commit.ts";
import { withDefaults } from "../lib/mod.ts";
import { listRuns, type RunFilter } from "./_run_queries.ts";
import { hostname, type Owner, ownerGone } from "./_run_owner.ts";
import { keepPrivate, openRetrying } from "./_store_file.ts";
import {
  attachmentHeader,
  readAttachment,
  writeAttachment,
} from "./_run_attachments.ts";
import {
  attachmentKey,
  chunkKey,
  indexPrefix,
  ownerKey,
  pageKey,
  runKey,
  sourceKey,
} from "./_run_keys.ts";
import {
  countMessages,
  type MessagesOptions,
  readMessages,
} from "./_run_messages.ts";
import {
  checkMeta,
  indexEntries,
  type IndexValue,
  readMeta,
  type StoredRun,
  writeSummary,
} from "./_run_summary.ts";
import type { MessageRecord, RunMeta } from "./run_record.ts";
import { RunRecorder, type RunRecorderOptions } from "./run_recorder.ts";
import { RunStoreError } from "./run_store_error.ts";
import type { Kv, KvAtomic } from "./kv.ts";
import type { PgKv } from "./pg_kv.ts";

export { RunRecorder, type RunRecorderOptions } from "./run_recorder.ts";
export { RunStoreError } from "./run_store_error.ts";
export { MAX_ATTACHMENT_BYTES } from "./_run_attachments.ts";
export type { RunFilter } from "./_run_queries.ts";
export type { MessagesOptions } from "./_run_messages.ts";

/** Where the store lives when no path is given. */
export const DEFAULT_STORE_PATH = "./data/fishtank.kv";

/** Options for {@linkcode RunStore.open}. */
export interface RunStoreOptions {
  /** How often this process tells the store its running runs are alive, ms. Default 1000. */
  heartbeatMs?: number;
  /** A running run whose owner has not been heard of for this long is the leftover of a dead harness, ms. Default 5000. */
  staleAfterMs?: number;
}

const defaults = {
  heartbeatMs: 1000,
  staleAfterMs: 5000,
} satisfies Required<RunStoreOptions>;

const DELETE_BATCH = 500;

/** A new run id: sortable by start time and readable, like `20260115-103000-4f9a2c`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-")
    .slice(0, 15);
  return `${stamp}-${crypto.randomUUID().slice(0, 6)}`;
}

/** Whether `path` names a PostgreSQL database (`postgres://…`, `postgresql://…`) rather than a file. */
export function isDatabaseUrl(path: string): boolean {
  return /^postgres(ql)?:\/\//i.test(path);
}

/** Runs and their messages in Deno KV. Open with {@linkcode RunStore.open}; close when done. */
export class RunStore {
  /** The file (or `:memory:`) the store was opened on. */
  readonly path: string;
  /** This opened store's id, written as the owner of the runs it creates. */
  readonly instance: string = crypto.randomUUID();
  readonly #kv: Kv;
  readonly #options: Required<RunStoreOptions>;
  /** Running runs this store created, with the versionstamp of their owner entry. */
  readonly #owned = new Map<string, string>();
  readonly #recorders = new Map<string, RunRecorder>();
  readonly #host = hostname();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #beating = false;
  #closed = false;

  private constructor(kv: Kv, path: string, options: RunStoreOptions) {
    this.#kv = kv;
    this.path = path;
    this.#options = withDefaults(defaults, options);
  }

  /**
   * The store's open Deno KV connection, for a package that keeps data of its own in the same file under its own key
   * prefix (the class server). One connection per file: a second one to the same SQLite file would make each one's
   * writes fail with "database is locked" while the other writes.
   */
  get kv(): Kv {
    this.#checkOpen();
    return this.#kv;
  }

  /**
   * Opens (and creates) the store at `path`; `":memory:"` for a throwaway one. The folder is created if needed. A
   * `postgres://` (or `postgresql://`) URL opens the store on that PostgreSQL database instead ({@linkcode PgKv}).
   *
   * @throws {RunStoreError} naming the path when it cannot be opened
   */
  static async open(
    path: string = DEFAULT_STORE_PATH,
    options: RunStoreOptions = {},
  ): Promise<RunStore> {
    try {
      if (isDatabaseUrl(path)) {
        // Loaded only when asked for, so a program that never uses a database server needs no PostgreSQL client.
        const { PgKv } = await import("./pg_kv.ts");
        return new RunStore(await PgKv.connect(path), path, options);
      }
      if (path !== ":memory:") {
        await Deno.mkdir(dirname(path), { recursive: true });
      }
      const kv = await openRetrying(path);
      if (path !== ":memory:") await keepPrivate(path);
      return new RunStore(kv, path, options);
    } catch (error) {
      throw new RunStoreError(
        `Cannot open the data store "${path}": ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }

  /**
   * Stores a new run. A `running` run is owned by this store, which keeps its heartbeat until it is finished.
   *
   * @throws {RunStoreError} when a run with this id exists
   * @throws {TypeError} {RangeError} for a summary that cannot be stored (no id, bad start time, key fields too long)
   */
  async createRun(meta: RunMeta): Promise<void> {
    this.#checkOpen();
    checkMeta(meta);
    const atomic = this.#kv.atomic().check({
      key: runKey(meta.runId),
      versionstamp: null,
    });
    writeSummary(atomic, meta);
    if (meta.outcome === "running") {
      atomic.set(ownerKey(meta.runId), this.#owner());
    }
    const result = await this.#commit(atomic, `create run "${meta.runId}"`);
    if (!result.ok) {
      throw new RunStoreError(
        `Cannot create run "${meta.runId}": a run with this id exists in ${this.path}`,
      );
    }
    if (meta.outcome === "running") {
      this.#owned.set(meta.runId, result.versionstamp);
      this.#startHeartbeat();
    }
  }

  /** The run's summary, or null when there is no such run. */
  async getRun(runId: string): Promise<RunMeta | null> {
    this.#checkOpen();
    const entry = await this.#kv.get<StoredRun>(runKey(runId));
    return entry.value === null ? null : await readMeta(this.#kv, entry.value);
  }

  /** Runs matching `filter`, newest first (by `startedAt`), read through the index of the most selective field. */
  listRuns(filter: RunFilter = {}): Promise<RunMeta[]> {
    this.#checkOpen();
    return listRuns(this.#kv, filter);
  }

  /**
   * Applies `patch` to the run's summary and rewrites its index entries, all in one atomic commit (retried if the run
   * changed meanwhile). A run that leaves `running` gets `endedAt` (now, unless given) and loses its heartbeat.
   * Returns the new summary.
   *
   * @throws {RunStoreError} when there is no such run
   * @throws {TypeError} when the patch changes `runId`
   */
  async finishRun(runId: string, patch: Partial<RunMeta>): Promise<RunMeta> {
    this.#checkOpen();
    if (patch.runId !== undefined && patch.runId !== runId) {
      throw new TypeError(
        `finishRun("${runId}"): the patch must not change runId (got "${patch.runId}")`,
      );
    }
    const updated = await this.#update(runId, () => patch);
    if (updated === null) {
      throw new RunStoreError(
        `Cannot finish run "${runId}": no such run in ${this.path}`,
      );
    }
    return updated;
  }

  /**
   * Marks `interrupted` every run left `running` by a harness that is gone: its owner's heartbeat is older than
   * `staleAfterMs` (or missing), or its owner was a process on this machine that no longer exists. Runs of this store and of live processes are left alone. Returns the ids marked.
   * Call it at startup.
   */
  async markInterrupted(): Promise<string[]> {
    this.#checkOpen();
    const marked: string[] = [];
    const running: string[] = [];
    for await (
      const entry of this.#kv.list<IndexValue>({
        prefix: indexPrefix("outcome", "running"),
      })
    ) running.push(entry.key.at(-1) as string);
    for (const runId of running) {
      if (this.#owned.has(runId)) continue;
      const owner = await this.#kv.get<Owner>(ownerKey(runId));
      const now = Date.now();
      if (
        owner.value !== null &&
        now - owner.value.seen < this.#options.staleAfterMs &&
        !ownerGone(owner.value, this.#host)
      ) continue;
      const messages = await this.countMessages(runId);
      let lastT = 0;
      if (messages > 0) {
        for await (
          const record of this.messages(runId, { fromSeq: messages - 1 })
        ) {
          lastT = record.t;
        }
      }
      const who = owner.value === null
        ? "a harness that left no heartbeat"
        : `the harness (pid ${owner.value.pid}${
          owner.value.host ? ` on ${owner.value.host}` : ""
        }) last heard of at ${new Date(owner.value.seen).toISOString()}`;
      const updated = await this.#update(
        runId,
        (before) =>
          before.outcome !== "running" ? null : {
            outcome: "interrupted",
            endedAt: new Date(owner.value?.seen ?? now).toISOString(),
            outcomeMessage:
              `The run was left unfinished by ${who}; marked interrupted by pid ${Deno.pid}.`,
            simulated: Math.max(before.simulated, lastT),
            stats: {
              ...before.stats,
              messages: Math.max(before.stats.messages, messages),
            },
          },
        // If the owner's heartbeat moved meanwhile, it is alive after all.
        [owner],
      );
      if (updated !== null) marked.push(runId);
    }
    return marked;
  }

  /**
   * Deletes a run: its summary and index entries in one commit (it vanishes from listings at once), then its messages.
   * Returns false when there was no such run.
   *
   * @throws {RunStoreError} while a recorder of the run is open
   */
  async deleteRun(runId: string): Promise<boolean> {
    this.#checkOpen();
    if (this.#recorders.has(runId)) {
      throw new RunStoreError(
        `Cannot delete run "${runId}": its recorder is still open`,
      );
    }
    for (;;) {
      const entry = await this.#kv.get<StoredRun>(runKey(runId));
      if (entry.value === null) return false;
      const atomic = this.#kv.atomic().check(entry).delete(runKey(runId))
        .delete(ownerKey(runId));
      for (const [key] of indexEntries(entry.value.meta)) atomic.delete(key);
      for (let i = 0; i < entry.value.sourceChunks; i++) {
        atomic.delete(sourceKey(runId, i));
      }
      if ((await this.#commit(atomic, `delete run "${runId}"`)).ok) break;
    }
    this.#owned.delete(runId);
    for (
      const prefix of [pageKey(runId), chunkKey(runId), attachmentKey(runId)]
    ) {
      let keys: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list({ prefix })) {
        keys.push(entry.key);
        if (keys.length === DELETE_BATCH) {
          await this.#deleteKeys(keys);
          keys = [];
        }
      }
      await this.#deleteKeys(keys);
    }
    return true;
  }

  /**
   * Stores `value` (JSON) as the run's attachment `name`, replacing any: a value derived from the run's records, such
   * as its grade and chart digest, kept so that pages need not read every record again.
   *
   * @throws {RunStoreError} when there is no such run
   * @throws {RangeError} when the value is too big to store (see `MAX_ATTACHMENT_BYTES`)
   */
  async putAttachment(
    runId: string,
    name: string,
    value: unknown,
  ): Promise<void> {
    this.#checkOpen();
    for (let attempt = 0; attempt < 20; attempt++) {
      const run = await this.#kv.get(runKey(runId));
      if (run.value === null) {
        throw new RunStoreError(
          `Cannot attach "${name}" to run "${runId}": no such run in ${this.path}`,
        );
      }
      const { entry, slices } = await attachmentHeader(this.#kv, runId, name);
      const atomic = this.#kv.atomic().check(run).check(entry);
      await writeAttachment(atomic, runId, name, value, slices);
      const what = `attach "${name}" to run "${runId}"`;
      if ((await this.#commit(atomic, what)).ok) return;
    }
    throw new RunStoreError(
      `Cannot attach "${name}" to run "${runId}": it kept changing meanwhile`,
    );
  }

  /** Removes the run's attachment `name`; false when it had none. */
  async deleteAttachment(runId: string, name: string): Promise<boolean> {
    this.#checkOpen();
    const { entry, slices } = await attachmentHeader(this.#kv, runId, name);
    if (entry.value === null) return false;
    const atomic = this.#kv.atomic().check(entry);
    for (let i = 0; i < slices; i++) {
      atomic.delete(attachmentKey(runId, name, i));
    }
    atomic.delete(attachmentKey(runId, name));
    return (await this.#commit(atomic, `detach "${name}" from "${runId}"`)).ok;
  }

  /** The run's attachment `name` as stored by {@linkcode putAttachment}, or null when it has none. */
  async getAttachment(runId: string, name: string): Promise<unknown> {
    this.#checkOpen();
    return await readAttachment(this.#kv, runId, name);
  }

  /**
   * A batching writer for the run's messages, numbering them from 0. One recorder per run at a time; close it (or
   * the store) to store the last records.
   *
   * @throws {RunStoreError} when the run already has an open recorder in this store
   */
  recorder(runId: string, options: RunRecorderOptions = {}): RunRecorder {
    this.#checkOpen();
    if (this.#recorders.has(runId)) {
      throw new RunStoreError(`Run "${runId}" already has an open recorder`);
    }
    const recorder = new RunRecorder(
      this.#kv,
      runId,
      options,
      () => this.#recorders.delete(runId),
    );
    this.#recorders.set(runId, recorder);
    return recorder;
  }

  /** The run's records in seq order, read page by page. */
  async *messages(
    runId: string,
    options: MessagesOptions = {},
  ): AsyncIterable<MessageRecord> {
    this.#checkOpen();
    yield* readMessages(this.#kv, runId, options);
  }

  /** How many records the run has stored (read from its last page). */
  async countMessages(runId: string): Promise<number> {
    this.#checkOpen();
    return await countMessages(this.#kv, runId);
  }

  /**
   * Closes the open recorders (storing what they hold), stops the heartbeat and closes the database. With no recorder
   * open the database is closed before this returns, so callers that do not await it leak nothing.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const recorders = [...this.#recorders.values()];
    if (recorders.length === 0) {
      this.#shutdown();
      return this.#ended();
    }
    return Promise.all(recorders.map((recorder) => recorder.close())).then(
      () => {},
    ).finally(() => this.#shutdown()).then(() => this.#ended());
  }

  /** A database server's connections end after `close()` returns (PostgreSQL); a file's are gone at once. */
  #ended(): Promise<void> {
    return "closed" in this.#kv ? (this.#kv as PgKv).closed : Promise.resolve();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#kv.close();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new RunStoreError(`The data store "${this.path}" is closed`);
    }
  }

  #owner(): Owner {
    return {
      pid: Deno.pid,
      instance: this.instance,
      host: this.#host,
      seen: Date.now(),
    };
  }

  async #commit(
    atomic: KvAtomic,
    what: string,
  ): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    try {
      return await commitRetrying(atomic);
    } catch (error) {
      throw new RunStoreError(
        `Cannot ${what} in ${this.path}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }

  async #deleteKeys(keys: Deno.KvKey[]): Promise<void> {
    if (keys.length === 0) return;
    const atomic = this.#kv.atomic();
    for (const key of keys) atomic.delete(key);
    await this.#commit(atomic, "delete messages");
  }

  /**
   * Reads, patches and writes a run's summary and indexes atomically, retrying when it changed meanwhile. `change`
   * returns the patch, or null to leave the run alone. Returns the new summary, or null (no run, or left alone, or a
   * `checks` entry changed).
   */
  async #update(
    runId: string,
    change: (before: RunMeta) => Partial<RunMeta> | null,
    checks: Deno.AtomicCheck[] = [],
  ): Promise<RunMeta | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#kv.get<StoredRun>(runKey(runId));
      if (entry.value === null) return null;
      const before = await readMeta(this.#kv, entry.value);
      const patch = change(before);
      if (patch === null) return null;
      const after: RunMeta = { ...before, ...patch, runId };
      if (after.outcome !== "running" && after.endedAt === undefined) {
        after.endedAt = new Date().toISOString();
      }
      checkMeta(after);
      const atomic = this.#kv.atomic().check(entry, ...checks);
      writeSummary(atomic, after, entry.value);
      if (after.outcome !== "running") atomic.delete(ownerKey(runId));
      const result = await this.#commit(atomic, `update run "${runId}"`);
      if (result.ok) {
        if (after.outcome !== "running") this.#owned.delete(runId);
        return after;
      }
      // A failed check on an entry other than the summary means the caller's premise no longer holds.
      if (checks.length > 0) {
        const now = await this.#kv.getMany(checks.map((c) => c.key));
        if (now.some((e, i) => e.versionstamp !== checks[i]!.versionstamp)) {
          return null;
        }
      }
    }
    throw new RunStoreError(
      `Cannot update run "${runId}" in ${this.path}: it kept changing under 20 attempts`,
    );
  }

  #startHeartbeat(): void {
    if (this.#heartbeat !== undefined) return;
    const timer = setInterval(
      () => void this.#beat(),
      this.#options.heartbeatMs,
    );
    Deno.unrefTimer(timer);
    this.#heartbeat = timer;
  }

  /** Refreshes the owner entry of each running run of this store; one that was taken over is dropped. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    try {
      for (const [runId, versionstamp] of this.#owned) {
        const key = ownerKey(runId);
        const result = await commitRetrying(
          this.#kv.atomic().check({ key, versionstamp }).set(
            key,
            this.#owner(),
          ),
        );
        if (result.ok) this.#owned.set(runId, result.versionstamp);
        else this.#owned.delete(runId);
      }
    } catch {
      // The database was closed under the heartbeat; nothing to keep alive any more.
    } finally {
      this.#beating = false;
      if (this.#owned.size === 0) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
      }
    }
  }
}
