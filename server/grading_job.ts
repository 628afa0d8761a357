/**
 * A grading job as a grader away from the server's store receives it, and its result stored back: shared by the
 * NATS dispatcher (workers on other machines) and the embedded pool (grading threads of the server's process). A job
 * carries everything its grading needs (the submission's files, the assignment's scenarios as their YAML text); a
 * result carries the runs' records, and is stored once: its runs imported, then the grade by submission and attempt.
 *
 * @module
 */

import { importRun, type RunDigest } from "../harness/grading/mod.ts";
import { BUILTIN_DIR, loadScenario } from "../scenarios/mod.ts";
import type { RunStore } from "../store/mod.ts";
import type { ClassStore, SubmissionGrade } from "./class_store.ts";
import type { Job } from "./job_queue.ts";
import { type NatsJob, toBase64 } from "./nats_protocol.ts";

/**
 * The job message of a queued `job`, or why there is none (its submission or assignment is gone).
 *
 * @throws when a scenario of the assignment does not load (a broken scenario fails on the server, not on a worker)
 */
export async function gradingJob(
  classes: ClassStore,
  job: Job,
): Promise<NatsJob | string> {
  const submission = await classes.getSubmission(job.submissionId);
  const assignment = submission &&
    await classes.getAssignment(submission.assignmentId);
  if (submission === undefined || assignment === undefined) {
    return "submission or assignment missing";
  }
  const files = await classes.readFiles(submission);
  const scenarios = [];
  for (const spec of assignment.scenarios) {
    const scenario = await loadScenario(spec.scenario);
    const path = /[/\\]|\.ya?ml$/i.test(spec.scenario)
      ? spec.scenario
      : `${BUILTIN_DIR}/${scenario.id}.yaml`;
    scenarios.push({
      file: spec.scenario,
      text: await Deno.readTextFile(path),
    });
  }
  return {
    id: job.id,
    attempt: job.attempt,
    submission,
    assignment,
    files: files.map((f) => ({ path: f.path, data: toBase64(f.data) })),
    scenarios,
    publishedAt: Date.now(),
  };
}

/** A graded job's runs (as `deno task export` writes them, with their digests when the grader sent them) and grade. */
export interface GradedRuns {
  grade: SubmissionGrade;
  runs: { runId: string; lines: string[]; digest?: RunDigest | null }[];
}

/**
 * Imports the result's runs, then stores its grade. A run of the same id left by an earlier try (a result half
 * stored before a crash) is replaced. When the attempt was graded before, the runs just imported are removed again
 * and false is returned: a job graded twice is stored once.
 */
export async function storeGradedRuns(
  classes: ClassStore,
  runs: RunStore,
  result: GradedRuns,
  file: string,
): Promise<boolean> {
  const imported: string[] = [];
  for (const run of result.runs) {
    if (await runs.getRun(run.runId)) await runs.deleteRun(run.runId);
    await importRun(runs, run.lines, {
      file,
      ...(run.digest ? { digest: run.digest } : {}),
    });
    imported.push(run.runId);
  }
  const stored = await classes.storeGrade(result.grade);
  if (!stored) {
    for (const runId of imported) await runs.deleteRun(runId);
  }
  return stored;
}

/** Folds a job's grading seconds into the running estimate the queue's waiting times are told from. */
export async function recordJobSeconds(
  classes: ClassStore,
  seconds: number,
): Promise<void> {
  const before = await classes.getSetting<number>("job_seconds");
  await classes.setSetting(
    "job_seconds",
    before === undefined ? seconds : 0.8 * before + 0.2 * seconds,
  );
}
