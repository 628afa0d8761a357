/**
 * The embedded grading queue: {@linkcode JobQueue} on Deno KV, in the class server's store file. Each job is one
 * entry; waiting jobs also have an entry in an index ordered by enqueue time, and every change is one atomic commit
 * checked against the versionstamps read, so workers racing for a job get it once.
 *
 * Keys: `["jobq", "job", id]` → {@linkcode Job}; `["jobq", "waiting", enqueuedAt, id]` → id.
 *
 * @module
 */

import {
  type Job,
  type JobFilter,
  jobId,
  type JobProgress,
  type JobQueue,
} from "./job_queue.ts";
import type { Kv, KvAtomic } from "../store/mod.ts";

const JOB = "job";
const WAITING = "waiting";

/** {@linkcode JobQueue} on Deno KV. */
export class KvJobQueue implements JobQueue {
  readonly #kv: Kv;
  readonly #prefix: Deno.KvKey;

  /** A queue in `kv` under `prefix` (default `["jobq"]`). The caller closes `kv`. */
  constructor(kv: Kv, options: { prefix?: Deno.KvKey } = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["jobq"];
  }

  #jobKey(id: string): Deno.KvKey {
    return [...this.#prefix, JOB, id];
  }

  #waitingKey(job: Job): Deno.KvKey {
    return [...this.#prefix, WAITING, job.enqueuedAt, job.id];
  }

  async enqueue(submissionId: string, attempt: number): Promise<Job> {
    const id = jobId(submissionId, attempt);
    for (;;) {
      const existing = await this.#kv.get<Job>(this.#jobKey(id));
      if (existing.value !== null) return existing.value;
      const job: Job = {
        id,
        submissionId,
        attempt,
        state: "queued",
        enqueuedAt: Date.now(),
        claims: 0,
      };
      const result = await this.#kv.atomic()
        .check(existing)
        .set(this.#jobKey(id), job)
        .set(this.#waitingKey(job), id)
        .commit();
      if (result.ok) return job;
    }
  }

  async claim(worker: string, leaseMs: number): Promise<Job | undefined> {
    for (let tries = 0; tries < 20; tries++) {
      let raced = false;
      for await (
        const entry of this.#kv.list<string>({
          prefix: [...this.#prefix, WAITING],
        }, { limit: 8 })
      ) {
        const current = await this.#kv.get<Job>(this.#jobKey(entry.value));
        const job = current.value;
        if (job === null || job.state !== "queued") {
          // A leftover index entry (cancelled between the reads): drop it if it is still there.
          await this.#kv.atomic().check(entry).delete(entry.key).commit();
          continue;
        }
        const now = Date.now();
        const claimed: Job = {
          ...job,
          state: "running",
          worker,
          leaseUntil: now + leaseMs,
          startedAt: now,
          claims: job.claims + 1,
        };
        // `runIds` stays: the runs of an abandoned earlier claim, which the new worker removes before it starts.
        delete claimed.progress;
        const result = await this.#kv.atomic()
          .check(current)
          .check(entry)
          .set(current.key, claimed)
          .delete(entry.key)
          .commit();
        if (result.ok) return claimed;
        raced = true;
      }
      if (!raced) return undefined;
    }
    return undefined;
  }

  /** Claims job `id` only, when it waits (the NATS dispatcher: a worker there picked this job itself). */
  async claimById(
    id: string,
    worker: string,
    leaseMs: number,
  ): Promise<Job | undefined> {
    for (let tries = 0; tries < 20; tries++) {
      const current = await this.#kv.get<Job>(this.#jobKey(id));
      const job = current.value;
      if (job === null || job.state !== "queued") return undefined;
      const now = Date.now();
      const claimed: Job = {
        ...job,
        state: "running",
        worker,
        leaseUntil: now + leaseMs,
        startedAt: now,
        claims: job.claims + 1,
      };
      // `runIds` stays, as in claim(): the runs of an abandoned earlier claim are for its next grader to remove.
      delete claimed.progress;
      const result = await this.#kv.atomic()
        .check(current)
        .set(current.key, claimed)
        .delete(this.#waitingKey(job))
        .commit();
      if (result.ok) return claimed;
    }
    return undefined;
  }

  async #change(
    id: string,
    change: (job: Job) => Job | null,
    also?: (op: KvAtomic, before: Job) => void,
  ): Promise<boolean> {
    for (;;) {
      const current = await this.#kv.get<Job>(this.#jobKey(id));
      if (current.value === null) return false;
      const next = change(current.value);
      if (next === null) return false;
      const op = this.#kv.atomic().check(current).set(current.key, next);
      also?.(op, current.value);
      if ((await op.commit()).ok) return true;
    }
  }

  heartbeat(
    id: string,
    worker: string,
    update: { leaseMs: number; progress?: JobProgress; runIds?: string[] },
  ): Promise<boolean> {
    return this.#change(
      id,
      (job) =>
        job.state !== "running" || job.worker !== worker ? null : {
          ...job,
          leaseUntil: Date.now() + update.leaseMs,
          ...(update.progress ? { progress: update.progress } : {}),
          ...(update.runIds ? { runIds: update.runIds } : {}),
        },
    );
  }

  complete(id: string, worker: string): Promise<boolean> {
    return this.#change(id, (job) => {
      if (job.state !== "running" || job.worker !== worker) return null;
      const done: Job = { ...job, state: "done", endedAt: Date.now() };
      delete done.leaseUntil;
      return done;
    });
  }

  fail(id: string, worker: string, error: string): Promise<boolean> {
    return this.#change(id, (job) => {
      if (job.state !== "running" || job.worker !== worker) return null;
      const failed: Job = {
        ...job,
        state: "failed",
        endedAt: Date.now(),
        error,
      };
      delete failed.leaseUntil;
      return failed;
    });
  }

  cancel(id: string, why = "cancelled by the teacher"): Promise<boolean> {
    return this.#change(
      id,
      (job) =>
        job.state !== "queued" && job.state !== "running" ? null : {
          ...job,
          state: "cancelled",
          endedAt: Date.now(),
          error: why,
        },
      (op, before) => {
        if (before.state === "queued") op.delete(this.#waitingKey(before));
      },
    );
  }

  async get(id: string): Promise<Job | undefined> {
    return (await this.#kv.get<Job>(this.#jobKey(id))).value ?? undefined;
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    const jobs: Job[] = [];
    for await (
      const entry of this.#kv.list<Job>({ prefix: [...this.#prefix, JOB] })
    ) {
      const job = entry.value;
      if (filter.state !== undefined && job.state !== filter.state) continue;
      if (
        filter.submissionId !== undefined &&
        job.submissionId !== filter.submissionId
      ) continue;
      jobs.push(job);
    }
    return jobs.sort((a, b) =>
      a.enqueuedAt - b.enqueuedAt || a.id.localeCompare(b.id)
    );
  }

  async requeueRunning(
    options: { all?: boolean; now?: number } = {},
  ): Promise<Job[]> {
    const now = options.now ?? Date.now();
    const requeued: Job[] = [];
    for (const job of await this.list({ state: "running" })) {
      if (!options.all && (job.leaseUntil ?? 0) > now) continue;
      let back: Job | undefined;
      const ok = await this.#change(
        job.id,
        (current) => {
          if (current.state !== "running") return null;
          if (!options.all && (current.leaseUntil ?? 0) > now) return null;
          back = { ...current, state: "queued" };
          delete back.worker;
          delete back.leaseUntil;
          delete back.progress;
          return back;
        },
        (op, before) => op.set(this.#waitingKey(before), before.id),
      );
      // The abandoned claim's run ids stay on the returned job, so that the caller can remove its partial runs.
      if (ok && back) requeued.push(back);
    }
    return requeued;
  }
}
