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
  type RecordSink,
  runLockstep,
} from "../lockstep/mod.ts";
import { digestStoredRun, gradeRecords, summaryGrade } from "./run_digest.ts";
import {
  IncompleteRunError,
  incompleteRunMessage,
} from "./incomplete_run_error.ts";

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
  /** The new run's id (the class server names it before the run starts); default a fresh one. */
  runId?: string;
}

/**
 * Runs one scenario in lockstep, stores every message, grades the stored run and stores the grade.
 *
 * @throws {IncompleteRunError} when the store cannot be written during the run (a full disk): the run is stopped
 * through its normal end (the controller's process group killed, the tank stopped), and the error carries the run
 * graded from what is known, outcome `error`.
 */
export async function gradeScenario(
  context: GradeScenarioContext,
): Promise<RunGrade> {
  const { options, store, harness, scenario, student, tank, controller } =
    context;
  const runId = context.runId ?? `${newRunId()}-${scenario.id}`;
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
  try {
    await store.createRun(meta);
  } catch (cause) {
    throw await _incomplete(store, meta, cause, { stored: false });
  }
  const recorder = store.recorder(runId);
  // A write that fails ends the run the way an interrupt does, so the controller is stopped and the harness cleans
  // up; thrown from the broker's callbacks it would kill the process and leave the controller running.
  let failure: { cause: unknown } | undefined;
  const stop = new AbortController();
  const fail = (cause: unknown) => {
    failure ??= { cause };
    stop.abort();
  };
  const sink: RecordSink = {
    append(record) {
      if (failure !== undefined) return;
      try {
        recorder.append(record);
      } catch (cause) {
        fail(cause);
      }
    },
  };
  const signal = context.signal
    ? AbortSignal.any([context.signal, stop.signal])
    : stop.signal;
  const result = await runLockstep(harness, {
    scenario,
    ...(controller !== undefined ? { controller } : {}),
    tank,
    sink,
    stepTimeoutMs: options.stepTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.sandbox === false ? { sandbox: false } : {}),
    ...(context.progress ? { onProgress: context.progress } : {}),
    signal,
  });
  try {
    await recorder.close();
  } catch (cause) {
    fail(cause);
  }
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
  if (failure !== undefined) {
    throw await _incomplete(store, { ...meta, ...patch }, failure.cause, {
      stored: true,
    });
  }
  try {
    const { grade } = await digestStoredRun(
      store,
      await store.finishRun(runId, patch),
    );
    await store.finishRun(runId, {
      grade: summaryGrade(grade),
    });
    return grade;
  } catch (cause) {
    throw await _incomplete(store, { ...meta, ...patch }, cause, {
      stored: true,
    });
  }
}

/**
 * The error for a run the store could not take: the run graded from the records the store holds (none when even its
 * summary could not be written), outcome `error` with the message; the summary marked so too if the store still
 * takes that much (else the next start marks the run interrupted).
 */
async function _incomplete(
  store: RunStore,
  meta: RunMeta,
  cause: unknown,
  options: { stored: boolean },
): Promise<IncompleteRunError> {
  const message = incompleteRunMessage(store.path, cause);
  const failed: RunMeta = {
    ...meta,
    outcome: "error",
    outcomeMessage: message,
    endedAt: meta.endedAt ?? new Date().toISOString(),
  };
  const records: MessageRecord[] = [];
  if (options.stored) {
    try {
      for await (const record of store.messages(meta.runId)) {
        records.push(record);
      }
    } catch {
      // Unreadable too: grade what is known, nothing.
    }
    try {
      await store.finishRun(meta.runId, {
        outcome: "error",
        outcomeMessage: message,
        endedAt: failed.endedAt!,
      });
    } catch {
      // Expected on a full disk; the run stays "running" until the next start marks it interrupted.
    }
  }
  return new IncompleteRunError({
    storePath: store.path,
    cause,
    grade: gradeRecords(failed, records),
  });
}
