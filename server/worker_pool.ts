/**
 * The worker pool: `workers` loops in this process that claim grading jobs from a {@linkcode JobQueue}, unpack the
 * submission's files into a private temporary folder, grade each scenario of the assignment as a sealed run through
 * `gradeScenario` (each worker on a tank of its own on one embedded broker), and store the submission's grade once
 * per job. A job that loses its lease (cancelled, or requeued) is stopped at its next heartbeat; the runs of a claim
 * that did not end in a stored grade are removed, so that each graded attempt keeps exactly its scenarios' runs.
 *
 * @module
 */

import { join } from "node:path";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { gradeScenario } from "../harness/grading/mod.ts";
import { loadScenario } from "../scenarios/mod.ts";
import { newRunId, type RunStore } from "../store/mod.ts";
import { withDefaults } from "../lib/mod.ts";
import { hiddenLabel } from "./assignment.ts";
import type { ClassStore, ScenarioResult } from "./class_store.ts";
import type { Job, JobProgress, JobQueue } from "./job_queue.ts";
import { scenarioResult, submissionGrade } from "./grade_submission.ts";
import { controllerCommand } from "./submission_files.ts";

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

/** Grading jobs run in this process. */
export class WorkerPool {
  readonly #classes: ClassStore;
  readonly #queue: JobQueue;
  readonly #runs: RunStore;
  readonly #options: typeof defaults & WorkerPoolOptions;
  readonly #broker: EmbeddedBroker;
  readonly #harness: LockstepHarness;
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #instance = crypto.randomUUID().slice(0, 8);
  #wake: (() => void)[] = [];

  private constructor(
    classes: ClassStore,
    runs: RunStore,
    broker: EmbeddedBroker,
    options: WorkerPoolOptions,
  ) {
    this.#classes = classes;
    this.#queue = classes.queue;
    this.#runs = runs;
    this.#broker = broker;
    this.#harness = new LockstepHarness(broker, new AedesBus(broker.aedes));
    this.#options = { ...withDefaults(defaults, options), ...options };
  }

  /** Starts an embedded broker and `workers` grading loops. */
  static async start(
    classes: ClassStore,
    runs: RunStore,
    options: WorkerPoolOptions = {},
  ): Promise<WorkerPool> {
    const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
    const pool = new WorkerPool(classes, runs, broker, options);
    for (let slot = 0; slot < pool.size; slot++) {
      pool.#loops.push(pool.#loop(slot));
    }
    return pool;
  }

  /** How many jobs it grades at once. */
  get size(): number {
    return Math.max(1, this.#options.workers);
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
    await this.#harness.bus.close();
    await this.#broker.close();
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
      let outcome: string;
      try {
        outcome = await this.#grade(job, worker, slot);
      } catch (error) {
        outcome = `failed: ${error instanceof Error ? error.message : error}`;
        console.error(`worker ${worker}: job ${job.id}: ${outcome}`);
      }
      this.#options.onJobEnd?.(job, outcome);
    }
  }

  async #grade(job: Job, worker: string, slot: number): Promise<string> {
    const queue = this.#queue;
    const classes = this.#classes;
    const submission = await classes.getSubmission(job.submissionId);
    const assignment = submission &&
      await classes.getAssignment(submission.assignmentId);
    if (submission === undefined || assignment === undefined) {
      await queue.fail(job.id, worker, "submission or assignment missing");
      return "failed: submission or assignment missing";
    }
    // The runs of an abandoned claim of this job (a server killed mid-run) are partial: remove them first.
    await this.#removeRuns(job.runIds ?? []);
    await classes.updateSubmission(
      submission.id,
      (s) =>
        s.attempt !== job.attempt || s.status === "cancelled"
          ? null
          : { ...s, status: "running" },
    );
    const lost = new AbortController();
    const runIds: string[] = [];
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
    const folder = await this.#unpack(submission.id, job.attempt);
    const started = performance.now();
    const results: ScenarioResult[] = [];
    try {
      const files = await classes.readFiles(submission);
      for (const file of files) {
        const path = join(folder, file.path);
        await Deno.mkdir(join(path, ".."), { recursive: true, mode: 0o755 });
        await Deno.writeFile(path, file.data, { mode: 0o644 });
        await Deno.chmod(path, 0o644);
      }
      const controller = controllerCommand(
        folder,
        submission.start,
        this.#options.nodeRed,
      );
      for (const [index, spec] of assignment.scenarios.entries()) {
        if (signal.aborted) break;
        const scenario = await loadScenario(spec.scenario);
        const label = spec.hidden
          ? hiddenLabel(assignment, index)
          : scenario.title;
        const runId = `${newRunId()}-${scenario.id}`;
        runIds.push(runId);
        progress = {
          scenario: index,
          scenarios: assignment.scenarios.length,
          label,
          t: 0,
          duration: scenario.duration,
          stepsPerSecond: 0,
        };
        await beat();
        let last = 0;
        const grade = await gradeScenario({
          options: {
            stepTimeoutMs: this.#options.stepTimeoutMs,
            connectTimeoutMs: this.#options.connectTimeoutMs,
            ...(submission.group ? { group: submission.group } : {}),
          },
          store: this.#runs,
          harness: this.#harness,
          scenario,
          student: submission.student,
          tank: `tank${slot + 1}`,
          controller,
          runId,
          signal,
          progress: (p) => {
            progress = {
              scenario: index,
              scenarios: assignment.scenarios.length,
              label,
              t: p.t,
              duration: p.duration,
              stepsPerSecond: Math.round(p.stepsPerSecond),
            };
            const now = performance.now();
            if (now - last > 500) {
              last = now;
              void beat();
            }
          },
        });
        results.push(scenarioResult(assignment, index, grade));
      }
    } catch (error) {
      clearInterval(timer);
      await this.#removeRuns(runIds);
      if (this.#stop.signal.aborted) {
        return "stopped (requeued at the next start)";
      }
      const message = error instanceof Error ? error.message : String(error);
      if (await queue.fail(job.id, worker, message)) {
        await classes.updateSubmission(
          submission.id,
          (s) =>
            s.attempt !== job.attempt ? null : {
              ...s,
              status: "failed",
              error: message,
            },
        );
      }
      return `failed: ${message}`;
    } finally {
      clearInterval(timer);
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
    if (this.#stop.signal.aborted) {
      // The server is stopping: the job stays running and is requeued (and graded whole) at the next start.
      await this.#removeRuns(runIds);
      return "stopped (requeued at the next start)";
    }
    if (lost.signal.aborted) {
      await this.#removeRuns(runIds);
      const now = await queue.get(job.id);
      if (now?.state === "cancelled") {
        await classes.updateSubmission(
          submission.id,
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
    const grade = submissionGrade({
      assignment,
      submission,
      attempt: job.attempt,
      results,
      seconds: (performance.now() - started) / 1000,
    });
    const stored = await classes.storeGrade(grade);
    // Graded before (a claim that completed just before a crash): this grading's runs are not the stored ones.
    if (!stored) await this.#removeRuns(runIds);
    await queue.complete(job.id, worker);
    await this.#recordDuration(grade.seconds);
    return stored
      ? `graded ${grade.score} (${grade.pass ? "pass" : "fail"})`
      : "graded before: nothing stored";
  }

  async #unpack(submissionId: string, attempt: number): Promise<string> {
    // A parent only root may list (0711), and in it a folder with a random name: the run's user can read its own
    // files (it runs as a uid of its own), and no other run can find them.
    const parent = join(
      this.#options.tempDir || Deno.env.get("TMPDIR") || "/tmp",
      "fishtank-class",
    );
    await Deno.mkdir(parent, { recursive: true, mode: 0o711 });
    await Deno.chmod(parent, 0o711).catch(() => {});
    const folder = await Deno.makeTempDir({
      dir: parent,
      prefix: `${submissionId}-${attempt}-`,
    });
    await Deno.chmod(folder, 0o755);
    return folder;
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

  async #recordDuration(seconds: number): Promise<void> {
    const before = await this.#classes.getSetting<number>("job_seconds");
    await this.#classes.setSetting(
      "job_seconds",
      before === undefined ? seconds : 0.8 * before + 0.2 * seconds,
    );
  }
}
