/**
 * Grading one scenario end to end: run it in lockstep against a controller, store every message, grade the stored
 * run and store its digest. The same grading of stored records serves `deno task grade --rescore`.
 *
 * @module
 */

import { join } from "node:path";
import { BUILTIN_DIR, type Scenario } from "../../scenarios/mod.ts";
import { SIMULATOR_VERSION } from "../../sim/mod.ts";
import {
  GRADING_VERSION,
  referenceFigures,
  type RunGrade,
} from "../../grader/mod.ts";
import {
  emptyRunStats,
  type MessageRecord,
  newRunId,
  type RunMeta,
  type RunStore,
} from "../../store/mod.ts";
import {
  type LockstepHarness,
  type LockstepProgress,
  runLockstep,
} from "../lockstep/mod.ts";
import { digestStoredRun, gradeRecords } from "./run_digest.ts";

/** The run settings {@linkcode gradeScenario} takes from `deno task grade`'s options. */
export interface GradeScenarioOptions {
  /** Wall-clock wait for a controller's answer to one step, in ms. */
  stepTimeoutMs: number;
  /** Wall-clock wait for the controller to connect and subscribe, in ms. */
  connectTimeoutMs: number;
  /** The class or group stored with the run. */
  group?: string;
  /** False to run the controller without the sandbox (`--unsandboxed`). */
  sandbox?: boolean;
}

/** The text of a scenario file, stored with each run so that rescoring needs no file. */
async function scenarioSource(scenario: Scenario): Promise<string> {
  const path = /[\\/]|\.ya?ml$/i.test(scenario.file)
    ? scenario.file
    : join(BUILTIN_DIR, `${scenario.file}.yaml`);
  return await Deno.readTextFile(path);
}

/** Grades a stored run from its records: the same function for a fresh run and for `--rescore`. */
export async function gradeStoredRun(
  store: RunStore,
  runId: string,
): Promise<RunGrade> {
  const meta = await store.getRun(runId);
  if (!meta) {
    throw new RangeError(`No run "${runId}" in the data store ${store.path}`);
  }
  const records: MessageRecord[] = [];
  for await (const record of store.messages(runId)) records.push(record);
  return gradeRecords(meta, records);
}

/** What {@linkcode gradeScenario} needs. */
export interface GradeScenarioContext {
  options: GradeScenarioOptions;
  store: RunStore;
  harness: LockstepHarness;
  scenario: Scenario;
  student: string;
  tank: string;
  controller: string | undefined;
  progress?: (p: LockstepProgress) => void;
  signal?: AbortSignal;
}

/** Runs one scenario in lockstep, stores every message, grades the stored run and stores the grade. */
export async function gradeScenario(
  context: GradeScenarioContext,
): Promise<RunGrade> {
  const { options, store, harness, scenario, student, tank, controller } =
    context;
  const runId = `${newRunId()}-${scenario.id}`;
  const meta: RunMeta = {
    runId,
    scenario: {
      id: scenario.id,
      version: scenario.version,
      title: scenario.title,
      hash: scenario.hash,
      source: await scenarioSource(scenario),
    },
    seed: scenario.seed,
    simulatorVersion: SIMULATOR_VERSION,
    controller: { command: controller ?? null, exitCode: null, signal: null },
    student,
    ...(options.group !== undefined ? { group: options.group } : {}),
    tank,
    root: "fishtank",
    mode: "lockstep",
    ackMode: "none",
    startedAt: new Date().toISOString(),
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
    gradingVersion: GRADING_VERSION,
  };
  await store.createRun(meta);
  const recorder = store.recorder(runId);
  const result = await runLockstep(harness, {
    scenario,
    ...(controller !== undefined ? { controller } : {}),
    tank,
    sink: recorder,
    stepTimeoutMs: options.stepTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.sandbox === false ? { sandbox: false } : {}),
    ...(context.progress ? { onProgress: context.progress } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  await recorder.close();
  const patch: Partial<RunMeta> = {
    endedAt: new Date().toISOString(),
    outcome: result.outcome,
    outcomeMessage: result.outcomeMessage,
    ackMode: result.ackMode,
    simulated: result.simulated,
    stats: result.stats,
    controller: {
      command: controller ?? null,
      exitCode: result.exitCode,
      signal: result.signal,
      ...(result.sandbox !== undefined ? { sandbox: result.sandbox } : {}),
    },
    // Played once the run is over (half a second to a second of simulation), so the controller starts at once and
    // the run is in the store from its first moment; a run cut short by a killed harness is graded without it (its
    // energy against the budget, its ranges on their own).
    reference: referenceFigures(scenario),
  };
  const { grade } = await digestStoredRun(
    store,
    await store.finishRun(runId, patch),
  );
  await store.finishRun(runId, {
    grade: { score: grade.score, pass: grade.pass, passMark: grade.passMark },
  });
  return grade;
}
