/**
 * A NATS worker's grading of one job: the submission's files unpacked in a private folder, each scenario of the
 * assignment (parsed from the text the job carries) graded as a sealed run into the worker's own scratch store, and
 * the result: the runs as JSON Lines (as `deno task export` writes them) and the grade, by the same formula as the
 * embedded pool ({@linkcode scenarioResult}, {@linkcode submissionGrade}). The scratch runs are removed afterwards:
 * the server's store is the only one that keeps them.
 *
 * @module
 */

import { join } from "node:path";
import {
  DIGEST_ATTACHMENT,
  exportRun,
  gradeScenario,
  type RunDigest,
} from "../harness/grading/mod.ts";
import type { LockstepHarness } from "../harness/lockstep/mod.ts";
import { parseScenario } from "../scenarios/mod.ts";
import { newRunId, type RunStore } from "../store/mod.ts";
import { hiddenLabel } from "./assignment.ts";
import type { ScenarioResult } from "./class_store.ts";
import { scenarioResult, submissionGrade } from "./grade_submission.ts";
import type { JobProgress } from "./job_queue.ts";
import { fromBase64, type NatsJob, type NatsResult } from "./nats_protocol.ts";
import { controllerCommand } from "./submission_files.ts";

/** What {@linkcode gradeNatsJob} grades with. */
export interface NatsGradeContext {
  harness: LockstepHarness;
  /** The worker's scratch store (the runs are exported from it, then removed). */
  scratch: RunStore;
  /** The tank this slot plays on (one per slot on the worker's broker). */
  tank: string;
  signal: AbortSignal;
  progress: (p: JobProgress) => void;
  stepTimeoutMs: number;
  connectTimeoutMs: number;
  tempDir?: string;
  nodeRed?: { runner: string; dir?: string };
}

/** A graded job: its result but `worker`, `host` and `delivery`, with the runs still to export. */
export interface GradedJob
  extends Omit<NatsResult, "worker" | "host" | "delivery" | "runs"> {
  /**
   * Exports the runs from the scratch store (JSON Lines and digests) and removes them there; call it once. Apart
   * from the grading so that a worker can export and send them while it grades its next job.
   */
  runs: () => Promise<NatsResult["runs"]>;
}

/** Grades `job`. Throws when the harness fails. */
export async function gradeNatsJob(
  job: NatsJob,
  context: NatsGradeContext,
): Promise<GradedJob> {
  const { submission, assignment } = job;
  const folder = await unpackFolder(job, context.tempDir);
  let runIds: string[] = [];
  const results: ScenarioResult[] = [];
  const started = performance.now();
  try {
    for (const file of job.files) {
      const path = join(folder, file.path);
      await Deno.mkdir(join(path, ".."), { recursive: true, mode: 0o755 });
      await Deno.writeFile(path, fromBase64(file.data), { mode: 0o644 });
      await Deno.chmod(path, 0o644);
    }
    const controller = controllerCommand(
      folder,
      submission.start,
      context.nodeRed,
    );
    for (const [index, spec] of job.scenarios.entries()) {
      if (context.signal.aborted) throw new Error("stopped");
      const scenario = parseScenario(spec.text, { file: spec.file });
      const label = assignment.scenarios[index]?.hidden
        ? hiddenLabel(assignment, index)
        : scenario.title;
      const runId = `${newRunId()}-${scenario.id}`;
      runIds.push(runId);
      const base = {
        scenario: index,
        scenarios: job.scenarios.length,
        label,
        duration: scenario.duration,
      };
      context.progress({ ...base, t: 0, stepsPerSecond: 0 });
      const grade = await gradeScenario({
        options: {
          stepTimeoutMs: context.stepTimeoutMs,
          connectTimeoutMs: context.connectTimeoutMs,
          ...(submission.group ? { group: submission.group } : {}),
        },
        store: context.scratch,
        harness: context.harness,
        scenario,
        student: submission.student,
        tank: context.tank,
        controller,
        runId,
        signal: context.signal,
        progress: (p) =>
          context.progress({
            ...base,
            t: p.t,
            stepsPerSecond: Math.round(p.stepsPerSecond),
          }),
      });
      results.push(scenarioResult(assignment, index, grade));
    }
    if (context.signal.aborted) throw new Error("stopped");
    const grade = submissionGrade({
      assignment,
      submission,
      attempt: job.attempt,
      results,
      seconds: (performance.now() - started) / 1000,
    });
    const exported = runIds;
    runIds = [];
    return {
      job: job.id,
      submissionId: submission.id,
      attempt: job.attempt,
      grade,
      runs: () => exportRuns(context.scratch, exported),
    };
  } finally {
    // Runs of a grading that failed: not waited for, the store takes the next job's records beside the removal.
    removeRuns(context.scratch, runIds);
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  }
}

/** Exports `runIds` from `scratch` with their digests, then removes them there (the server's store keeps them). */
async function exportRuns(
  scratch: RunStore,
  runIds: string[],
): Promise<NatsResult["runs"]> {
  try {
    const runs = [];
    for (const runId of runIds) {
      const lines: string[] = [];
      for await (const line of exportRun(scratch, runId)) lines.push(line);
      // The digest made here goes along, so that the server stores it rather than grading the run again.
      runs.push({
        runId,
        lines,
        digest: await scratch.getAttachment(
          runId,
          DIGEST_ATTACHMENT,
        ) as RunDigest | null,
      });
    }
    return runs;
  } finally {
    removeRuns(scratch, runIds);
  }
}

function removeRuns(scratch: RunStore, runIds: string[]): void {
  for (const runId of runIds) void scratch.deleteRun(runId).catch(() => {});
}

async function unpackFolder(job: NatsJob, tempDir?: string): Promise<string> {
  // As the embedded pool: a parent only root may list, and in it a folder with a random name.
  const parent = join(
    tempDir || Deno.env.get("TMPDIR") || "/tmp",
    "fishtank-class",
  );
  await Deno.mkdir(parent, { recursive: true, mode: 0o711 });
  await Deno.chmod(parent, 0o711).catch(() => {});
  const folder = await Deno.makeTempDir({
    dir: parent,
    prefix: `${job.submission.id}-${job.attempt}-`,
  });
  await Deno.chmod(folder, 0o755);
  return folder;
}
