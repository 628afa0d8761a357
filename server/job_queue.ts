/**
 * The grading queue's interface: what the class server needs of a durable queue of grading jobs. The embedded
 * implementation is {@linkcode KvJobQueue} (Deno KV, in the store's file); the next one puts it on NATS JetStream
 * (issue 17) behind the same methods, and `job_queue_test.ts` runs one conformance suite against every
 * implementation.
 *
 * @module
 */

/** Where a job is: waiting for a worker, held by one, or finished one way or another. */
export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

/** What a running job reports while it grades (the student's status stream shows it). */
export interface JobProgress {
  /** 0-based index of the scenario being played, of `scenarios`. */
  scenario: number;
  scenarios: number;
  /** The scenario's label as a student may see it: its title, or `hidden case N`. */
  label: string;
  /** Simulated seconds played of `duration`. */
  t: number;
  duration: number;
  stepsPerSecond: number;
}

/** One grading job: grade submission `submissionId` for the `attempt`-th time (1, then 2 after a re-grade, …). */
export interface Job {
  /** `${submissionId}#${attempt}`: enqueueing the same pair twice gives one job. */
  id: string;
  submissionId: string;
  attempt: number;
  state: JobState;
  /** Wall-clock ms when enqueued (orders the queue). */
  enqueuedAt: number;
  /** How many times a worker claimed it (more than one after a restart or an expired lease). */
  claims: number;
  /** The worker holding it while `running`, and until when its lease lasts (ms). */
  worker?: string;
  leaseUntil?: number;
  startedAt?: number;
  endedAt?: number;
  progress?: JobProgress;
  /**
   * Run ids the current claim created in the run store; after a requeue, those of the abandoned claim (the next
   * worker removes them before it grades).
   */
  runIds?: string[];
  /** Why it failed or was cancelled. */
  error?: string;
}

/** The jobs {@linkcode JobQueue.list} returns. */
export interface JobFilter {
  state?: JobState;
  submissionId?: string;
}

/** A durable queue of grading jobs, safe for several workers of one process (and, by implementation, many). */
export interface JobQueue {
  /** Adds the job for this submission and attempt, or returns the existing one (idempotent by id). */
  enqueue(submissionId: string, attempt: number): Promise<Job>;
  /** The oldest waiting job, now `running` and leased to `worker` for `leaseMs`; undefined when none waits. */
  claim(worker: string, leaseMs: number): Promise<Job | undefined>;
  /**
   * Extends `worker`'s lease and stores its progress (and the run ids it created). False when the job is no longer
   * this worker's (cancelled, requeued): the worker must stop.
   */
  heartbeat(
    id: string,
    worker: string,
    update: { leaseMs: number; progress?: JobProgress; runIds?: string[] },
  ): Promise<boolean>;
  /**
   * Marks the job done. False when it was not `worker`'s any more. The grade itself is stored before, once per job
   * id (see `ClassStore.storeGrade`), so a crash between the two grades again and stores nothing twice.
   */
  complete(id: string, worker: string): Promise<boolean>;
  /** Marks the job failed with `error` (a harness error, not a bad grade). False when it was not `worker`'s. */
  fail(id: string, worker: string, error: string): Promise<boolean>;
  /** Cancels a waiting or running job; its worker learns at its next heartbeat. False when it had already ended. */
  cancel(id: string, why?: string): Promise<boolean>;
  get(id: string): Promise<Job | undefined>;
  /** Jobs, oldest first. */
  list(filter?: JobFilter): Promise<Job[]>;
  /**
   * Puts back every `running` job whose lease has expired, or every running job with `all` (at the start of the
   * only process that runs workers on this queue: whatever was running died with the last one). Returns them.
   */
  requeueRunning(options?: { all?: boolean; now?: number }): Promise<Job[]>;
}

/** The id of the job that grades `submissionId` for the `attempt`-th time. */
export function jobId(submissionId: string, attempt: number): string {
  return `${submissionId}#${attempt}`;
}
