/**
 * The worker pool: `workers` loops in this process that claim grading jobs from a {@linkcode JobQueue} and hand each
 * to a grading thread of their own ({@linkcode GradingThread}: a Web Worker with its own embedded broker, which
 * unpacks the submission's files into a private temporary folder and grades each scenario of the assignment as a
 * sealed run, as a NATS worker does). The runs and the grade come back to this thread, which stores them once per
 * job. The server's thread keeps only the queue's bookkeeping and the storing, so the pages and the API answer while
 * the class is graded.
 *
 * A job that loses its lease (cancelled, or requeued) is stopped at its next heartbeat; the runs of a claim that did
 * not end in a stored grade are removed, so that each graded attempt keeps exactly its scenarios' runs.
 *
 * @module
 */

import type { RunStore } from "../store/mod.ts";
import { withDefaults } from "../lib/mod.ts";
import type { ClassStore } from "./class_store.ts";
import type { Job, JobProgress, JobQueue } from "./job_queue.ts";
import {
  gradingJob,
  recordJobSeconds,
  storeGradedRuns,
} from "./grading_job.ts";
import {
  GradingThread,
  ThreadGradingError,
  type ThreadResult,
} from "./grading_thread.ts";

/** Options of {@linkcode WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Jobs graded at once. Default: one per core. */
  workers?: number;
  /** A job's lease, renewed every `heartbeatMs`. Default 30 s. */
  leaseMs?: number;
  heartbeatMs?: number;
  /** How long an idle worker waits before looking for a job again, ms. Default 200. */
  pollMs?: number;
  /** Wall ms a step waits for a controller the harness cannot follow. Default 100 (as `deno task grade`). */
  stepTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Where the private job folders go. Default the system's temporary folder. */
  tempDir?: string;
  /** The Node-RED runner (`examples/node-red/run.sh`) and `NODE_RED_DIR`, for flows. */
  nodeRed?: { runner: string; dir?: string };
  /** Told of each job that ended, for logs. */
  onJobEnd?: (job: Job, outcome: string) => void;
}

const defaults = {
  workers: navigator.hardwareConcurrency || 1,
  leaseMs: 30_000,
  heartbeatMs: 1_000,
  pollMs: 200,
  stepTimeoutMs: 100,
  connectTimeoutMs: 10_000,
  tempDir: "",
} satisfies Omit<Required<WorkerPoolOptions>, "nodeRed" | "onJobEnd">;

/** Grading jobs run in threads of this process. */
export class WorkerPool {
  readonly #classes: ClassStore;
  readonly #queue: JobQueue;
  readonly #runs: RunStore;
  readonly #options: typeof defaults & WorkerPoolOptions;
  readonly #threads: (GradingThread | undefined)[];
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #instance = crypto.randomUUID().slice(0, 8);
  #wake: (() => void)[] = [];

  private constructor(
    classes: ClassStore,
    runs: RunStore,
    threads: GradingThread[],
    options: WorkerPoolOptions,
  ) {
    this.#classes = classes;
    this.#queue = classes.queue;
    this.#runs = runs;
    this.#threads = threads;
    this.#options = { ...withDefaults(defaults, options), ...options };
  }

  /** Starts `workers` grading threads and their loops. */
  static async start(
    classes: ClassStore,
    runs: RunStore,
    options: WorkerPoolOptions = {},
  ): Promise<WorkerPool> {
    const size = Math.max(1, options.workers ?? defaults.workers);
    const threads = await Promise.all(
      Array.from({ length: size }, () => GradingThread.start()),
    );
    const pool = new WorkerPool(classes, runs, threads, options);
    for (let slot = 0; slot < pool.size; slot++) {
      pool.#loops.push(pool.#loop(slot));
    }
    return pool;
  }

  /** How many jobs it grades at once. */
  get size(): number {
    return this.#threads.length;
  }

  /** Wakes idle workers now (a job was just enqueued). */
  nudge(): void {
    const waiting = this.#wake;
    this.#wake = [];
    for (const wake of waiting) wake();
  }

  /** Stops claiming, stops the jobs in hand (they stay `running` and are requeued at the next start), closes. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.nudge();
    await Promise.allSettled(this.#loops);
    await Promise.allSettled(this.#threads.map((thread) => thread?.close()));
  }

  async #idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#options.pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake.push(done);
    });
  }

  async #loop(slot: number): Promise<void> {
    const worker = `${this.#instance}/${slot + 1}`;
    // The last job's result being stored while the thread grades the next one (one at a time per slot).
    let storing: Promise<void> = Promise.resolve();
    const ended = (job: Job, outcome: string) =>
      this.#options.onJobEnd?.(job, outcome);
    const failed = (job: Job, error: unknown) => {
      const outcome = `failed: ${
        error instanceof Error ? error.message : error
      }`;
      console.error(`worker ${worker}: job ${job.id}: ${outcome}`);
      ended(job, outcome);
    };
    while (!this.#stop.signal.aborted) {
      let job: Job | undefined;
      try {
        job = await this.#queue.claim(worker, this.#options.leaseMs);
      } catch (error) {
        console.error(`worker ${worker}: cannot claim a job: ${error}`);
      }
      if (job === undefined) {
        await this.#idle();
        continue;
      }
      const claimed = job;
      try {
        const outcome = await this.#grade(claimed, worker, slot);
        if (typeof outcome === "string") {
          ended(claimed, outcome);
          continue;
        }
        await storing;
        storing = outcome().then(
          (stored) => ended(claimed, stored),
          (error) => failed(claimed, error),
        );
      } catch (error) {
        failed(claimed, error);
      }
    }
    await storing;
  }

  /** The slot's thread, started again when the last one died. */
  async #thread(slot: number): Promise<GradingThread> {
    const thread = this.#threads[slot];
    if (thread?.alive) return thread;
    await thread?.close(0);
    this.#threads[slot] = undefined;
    const started = await GradingThread.start();
    this.#threads[slot] = started;
    return started;
  }

  /**
   * Grades `job` in the slot's thread. Returns how it ended, or, when it was graded, the storing of its result (the
   * runs imported, the grade stored, the job completed) for the loop to run beside the next job's grading.
   */
  async #grade(
    job: Job,
    worker: string,
    slot: number,
  ): Promise<string | (() => Promise<string>)> {
    const queue = this.#queue;
    const classes = this.#classes;
    // The runs of an abandoned claim of this job (a server killed mid-run) are partial: remove them first.
    await this.#removeRuns(job.runIds ?? []);
    let message;
    try {
      message = await gradingJob(classes, job);
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    if (typeof message === "string") {
      await this.#fail(job, worker, message);
      return `failed: ${message}`;
    }
    await classes.updateSubmission(
      job.submissionId,
      (s) =>
        s.attempt !== job.attempt || s.status === "cancelled"
          ? null
          : { ...s, status: "running" },
    );
    const lost = new AbortController();
    let runIds: string[] = [];
    let progress: JobProgress | undefined;
    const beat = async () => {
      if (lost.signal.aborted) return;
      try {
        const mine = await queue.heartbeat(job.id, worker, {
          leaseMs: this.#options.leaseMs,
          ...(progress ? { progress } : {}),
          runIds,
        });
        if (!mine) lost.abort();
      } catch (error) {
        console.error(`worker ${worker}: heartbeat of ${job.id}: ${error}`);
      }
    };
    const timer = setInterval(beat, this.#options.heartbeatMs);
    const signal = AbortSignal.any([lost.signal, this.#stop.signal]);
    let result: ThreadResult;
    try {
      const thread = await this.#thread(slot);
      let last = 0;
      let scenario = -1;
      result = await thread.grade(message, {
        tank: `tank${slot + 1}`,
        stepTimeoutMs: this.#options.stepTimeoutMs,
        connectTimeoutMs: this.#options.connectTimeoutMs,
        ...(this.#options.tempDir ? { tempDir: this.#options.tempDir } : {}),
        ...(this.#options.nodeRed ? { nodeRed: this.#options.nodeRed } : {}),
      }, {
        signal,
        progress: (p) => {
          progress = p;
          const now = performance.now();
          // At once when a scenario starts (the status page names it), then at most twice a second.
          if (p.scenario !== scenario || now - last > 500) {
            scenario = p.scenario;
            last = now;
            void beat();
          }
        },
      });
    } catch (error) {
      clearInterval(timer);
      if (this.#stop.signal.aborted) {
        return "stopped (requeued at the next start)";
      }
      if (lost.signal.aborted) return await this.#lost(job);
      const why = error instanceof ThreadGradingError || error instanceof Error
        ? error.message
        : String(error);
      await this.#fail(job, worker, why);
      return `failed: ${why}`;
    } finally {
      clearInterval(timer);
    }
    if (this.#stop.signal.aborted) {
      // The server is stopping: the job stays running and is requeued (and graded whole) at the next start.
      return "stopped (requeued at the next start)";
    }
    if (lost.signal.aborted) return await this.#lost(job);
    return async () => {
      // Named in the job before they are stored: a server killed while storing them removes them at the next claim.
      runIds = result.runs.map((run) => run.runId);
      await beat();
      if (lost.signal.aborted) return await this.#lost(job);
      const stored = await storeGradedRuns(
        classes,
        this.#runs,
        result,
        `grading thread ${worker}`,
      );
      await queue.complete(job.id, worker);
      await recordJobSeconds(classes, result.grade.seconds);
      return stored
        ? `graded ${result.grade.score} (${
          result.grade.pass ? "pass" : "fail"
        })`
        : "graded before: nothing stored";
    };
  }

  /** Marks a job this worker holds, and its submission, failed. */
  async #fail(job: Job, worker: string, why: string): Promise<void> {
    if (await this.#queue.fail(job.id, worker, why)) {
      await this.#classes.updateSubmission(
        job.submissionId,
        (s) =>
          s.attempt !== job.attempt ? null : {
            ...s,
            status: "failed",
            error: why,
          },
      );
    }
  }

  /** A job whose lease was lost: cancelled (its submission says so), or requeued for another worker. */
  async #lost(job: Job): Promise<string> {
    const now = await this.#queue.get(job.id);
    if (now?.state === "cancelled") {
      await this.#classes.updateSubmission(
        job.submissionId,
        (s) =>
          s.attempt !== job.attempt ? null : {
            ...s,
            status: "cancelled",
            error: now.error ?? "cancelled",
          },
      );
    }
    return "lost its lease (cancelled or requeued)";
  }

  async #removeRuns(runIds: string[]): Promise<void> {
    for (const runId of runIds) {
      try {
        await this.#runs.deleteRun(runId);
      } catch (error) {
        console.error(`cannot remove partial run ${runId}: ${error}`);
      }
    }
  }
}
