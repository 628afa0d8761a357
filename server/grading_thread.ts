/**
 * A grading thread seen from the class server's thread: a Web Worker running `_grading_thread.ts`, given one job at
 * a time. Grading there keeps the lockstep harness, its broker and the recorder off the thread that answers the
 * pages and the API; the runs come back as records and are stored by the server's thread (one Deno KV connection
 * per store file and process: a second one fails with "database is locked" under concurrent writes).
 *
 * An uncaught error in the thread fails the job in hand and ends the thread, never the server; the pool starts a
 * new one for its next job.
 *
 * @module
 */

import type {
  ThreadGradeOptions,
  ThreadReply,
  ThreadRequest,
} from "./_grading_thread.ts";
import type { JobProgress } from "./job_queue.ts";
import type { NatsJob, NatsResult } from "./nats_protocol.ts";

/** A job's result from a grading thread: the grade and the runs (with their digests). */
export type ThreadResult = Omit<NatsResult, "worker" | "host" | "delivery">;

/** A grading that did not end in a result: `stopped` when it was stopped on purpose. */
export class ThreadGradingError extends Error {
  readonly stopped: boolean;
  constructor(message: string, stopped: boolean) {
    super(message);
    this.name = "ThreadGradingError";
    this.stopped = stopped;
  }
}

/** One grading thread. */
export class GradingThread {
  readonly #worker: Worker;
  #listener: ((reply: ThreadReply) => void) | undefined;
  #dead: string | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<ThreadReply>) =>
      this.#listener?.(event.data);
    worker.onerror = (event: ErrorEvent) => {
      // Handled here: unhandled, a thread's error would end the whole process.
      event.preventDefault();
      this.#die(`the grading thread stopped: ${event.message}`);
    };
    worker.onmessageerror = () =>
      this.#die("the grading thread sent a message that does not read");
  }

  /** Starts a thread and waits until its broker listens. `module` replaces the thread's program (for tests). */
  static async start(
    module: string | URL = new URL("./_grading_thread.ts", import.meta.url),
  ): Promise<GradingThread> {
    const worker = new Worker(new URL(module).href, {
      type: "module",
      name: "fishtank grading",
    });
    const thread = new GradingThread(worker);
    await thread.#next((reply) => reply.kind === "ready");
    return thread;
  }

  /** Whether it can take a job (it has not failed). */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  /**
   * Grades `job`. `signal` stops it (the promise then rejects with a stopped {@linkcode ThreadGradingError}).
   *
   * @throws {ThreadGradingError} when the grading failed or was stopped, or the thread died
   */
  async grade(
    job: NatsJob,
    options: ThreadGradeOptions,
    hooks: { signal: AbortSignal; progress: (p: JobProgress) => void },
  ): Promise<ThreadResult> {
    const stop = () => this.#post({ kind: "stop" });
    hooks.signal.addEventListener("abort", stop, { once: true });
    try {
      this.#post({ kind: "grade", job, options });
      if (hooks.signal.aborted) stop();
      const reply = await this.#next((reply) => {
        if (reply.kind === "progress") hooks.progress(reply.progress);
        return reply.kind === "done" || reply.kind === "failed";
      });
      if (reply.kind === "done") return reply.result;
      const failed = reply as Extract<ThreadReply, { kind: "failed" }>;
      throw new ThreadGradingError(failed.message, failed.stopped);
    } finally {
      hooks.signal.removeEventListener("abort", stop);
    }
  }

  /** Stops the job in hand, closes the thread's broker, ends the thread (at once after `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.alive) {
      this.#post({ kind: "close" });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#next((reply) => reply.kind === "closed").catch(() => {}),
        new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
      ]);
      clearTimeout(timer);
    }
    this.#dead ??= "closed";
    this.#worker.terminate();
  }

  #post(request: ThreadRequest): void {
    if (this.alive) this.#worker.postMessage(request);
  }

  #die(why: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = why;
    this.#worker.terminate();
    this.#listener?.({ kind: "failed", message: why, stopped: false });
  }

  /** The first reply `until` accepts (each reply before it is shown to `until` too). */
  #next(until: (reply: ThreadReply) => boolean): Promise<ThreadReply> {
    return new Promise((resolve, reject) => {
      if (this.#dead !== undefined) {
        reject(new ThreadGradingError(this.#dead, false));
        return;
      }
      this.#listener = (reply) => {
        if (reply.kind === "failed" && this.#dead !== undefined) {
          this.#listener = undefined;
          reject(new ThreadGradingError(reply.message, false));
        } else if (until(reply)) {
          this.#listener = undefined;
          resolve(reply);
        }
      };
    });
  }
}
