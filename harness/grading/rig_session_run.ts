/**
 * A rig's scored session (`deno task grade --rescore SESSION-ID --tank RIG`): the part of a recorded session where the
 * rig's own control system was in charge, stored as a run of its own (`SESSION-ID-RIG`) and graded like any run, so
 * that the runs list, the report page, the leaderboard and `--rescore` treat it as one. Scoring it again replaces it.
 *
 * @module
 */

import {
  describeRigSession,
  GRADING_VERSION,
  rigScenarioSource,
  type RigSession,
  rigSession,
  type RunGrade,
} from "../../grader/mod.ts";
import {
  loadScenario,
  parseScenario,
  type Scenario,
} from "../../scenarios/mod.ts";
import {
  emptyRunStats,
  type MessageRecord,
  type RunMeta,
  type RunStore,
} from "../../store/mod.ts";
import { digestStoredRun, summaryGrade } from "./run_digest.ts";

/** What {@linkcode scoreRigSession} needs besides the session's id. */
export interface RigSessionRunOptions {
  /** The rig's tank id. */
  rig: string;
  /**
   * The scenario the session's simulator played (a built-in id or a path); default the one the session recorded
   * from the simulator's status (a built-in one, at the version recorded).
   */
  scenario?: string;
  /** Who the scored run is for (the rig's controller's author); default the session's student. */
  student?: string;
}

/** A rig's session, scored and stored. */
export interface RigSessionRun {
  /** The stored run: `SESSION-ID-RIG`. */
  runId: string;
  grade: RunGrade;
  session: RigSession;
  /** The sentence saying which interval(s) of which session were scored. */
  scored: string;
}

async function sessionScenario(
  meta: RunMeta,
  option: string | undefined,
): Promise<{ scenario: Scenario; source: string }> {
  if (meta.scenario.source !== "" && option === undefined) {
    return {
      scenario: parseScenario(meta.scenario.source, { file: meta.scenario.id }),
      source: meta.scenario.source,
    };
  }
  const id = option ?? meta.scenario.id;
  if (option === undefined && meta.scenario.id === "recording") {
    throw new RangeError(
      `Run ${meta.runId} does not say which scenario its simulator played: give it with --scenario ID|PATH`,
    );
  }
  const scenario = await loadScenario(id);
  if (
    option === undefined && meta.scenario.version !== 0 &&
    scenario.version !== meta.scenario.version
  ) {
    throw new RangeError(
      `Run ${meta.runId} was recorded with ${meta.scenario.id} version ${meta.scenario.version}, but the built-in one is version ${scenario.version}: give the scenario file it played with --scenario PATH`,
    );
  }
  const path = /[\\/]|\.ya?ml$/i.test(id)
    ? id
    : new URL(`../../scenarios/builtin/${id}.yaml`, import.meta.url);
  return { scenario, source: await Deno.readTextFile(path) };
}

/**
 * Scores the rig over the intervals of the recorded session `sessionId` where its `control_source` named itself
 * (or, when none was recorded, from its first own command), stores that as the run `SESSION-ID-RIG` (replacing an
 * earlier scoring) and returns its grade.
 *
 * @throws {RangeError} when there is no such session, or the rig was never under its own control in it
 */
export async function scoreRigSession(
  store: RunStore,
  sessionId: string,
  options: RigSessionRunOptions,
): Promise<RigSessionRun> {
  const meta = await store.getRun(sessionId);
  if (!meta) {
    throw new RangeError(
      `No run "${sessionId}" in the data store ${store.path}`,
    );
  }
  const { scenario, source } = await sessionScenario(meta, options.scenario);
  const records: MessageRecord[] = [];
  for await (const record of store.messages(sessionId)) records.push(record);
  const simulated = records.find((r) =>
    r.topic === `${meta.root}/${options.rig}/status` &&
    /"scenario"\s*:\s*"/.test(new TextDecoder().decode(r.payload))
  );
  if (simulated !== undefined) {
    throw new RangeError(
      `${options.rig} is one of the simulator's own tanks in run ${sessionId} (its status names a scenario), not a rig: --tank scores a rig declared with deno task sim --rig`,
    );
  }
  const session = rigSession(records, {
    root: meta.root,
    rig: options.rig,
    scenario,
    sessionId,
  });
  if (session.intervals.length === 0 || session.samples === 0) {
    throw new RangeError(
      session.intervals.length === 0
        ? `${options.rig} was never under its own control in run ${sessionId}: no ${meta.root}/${options.rig}/control_source saying "self" (or "${options.rig}") was recorded, nor a command on its own control topics`
        : `${options.rig} reported no readings while under its own control in run ${sessionId}`,
    );
  }
  const scored = describeRigSession(session, sessionId);
  const rigSource = rigScenarioSource(source, scenario, session);
  const rigScenario = parseScenario(rigSource, {
    file: `${scenario.id}-rig`,
  });
  const runId = `${sessionId}-${options.rig}`;
  await store.deleteRun(runId);
  const runMeta: RunMeta = {
    runId,
    scenario: {
      id: rigScenario.id,
      version: rigScenario.version,
      title: rigScenario.title,
      hash: rigScenario.hash,
      source: rigSource,
    },
    seed: 0,
    simulatorVersion: "",
    controller: { command: null, exitCode: null, signal: null },
    student: options.student ?? meta.student,
    ...(meta.group !== undefined ? { group: meta.group } : {}),
    tank: options.rig,
    root: meta.root,
    mode: "record",
    ackMode: "none",
    startedAt: meta.startedAt,
    ...(meta.endedAt !== undefined ? { endedAt: meta.endedAt } : {}),
    outcome: "completed",
    outcomeMessage: scored,
    simulated: session.seconds,
    stats: { ...emptyRunStats(), messages: session.records.length },
    gradingVersion: GRADING_VERSION,
  };
  await store.createRun({ ...runMeta, outcome: "running" });
  const recorder = store.recorder(runId);
  for (const record of session.records) recorder.append(record);
  await recorder.close();
  const finished = await store.finishRun(runId, {
    outcome: "completed",
    outcomeMessage: scored,
  });
  const { grade } = await digestStoredRun(store, finished);
  await store.finishRun(runId, {
    grade: summaryGrade(grade),
  });
  return { runId, grade, session, scored };
}
