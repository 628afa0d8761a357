/**
 * Lockstep runs: the virtual clock advances only when the controller has dealt with the latest readings, so a run
 * takes as long as the controller needs and gives the same result every time. The broker is embedded, so the harness
 * sees when a controller has answered without any change to student code:
 *
 * - explicit: the controller publishes on `…/ack`;
 * - PUBACK: the controller subscribed to the readings with QoS 1, and acknowledges each `sensors/all` after its
 *   message handler returned, so whatever it published in the handler arrived first;
 * - otherwise a per-step wall-clock deadline.
 *
 * Every message of the run is handed to a {@linkcode RecordSink} in an order that does not depend on timing: the
 * controller's publishes as the broker accepts them, the tank's own when it decides to send them (its reactions wait
 * for the next step), and the true state behind every batch of readings.
 *
 * @module
 */

import type { SandboxLimits } from "./sandbox.ts";
import type { Scenario } from "../../scenarios/mod.ts";
import { LockstepRun } from "./_lockstep_run.ts";
import type { LockstepHarness } from "./lockstep_harness.ts";
import type {
  AckMode,
  MessageRecord,
  RunOutcome,
  RunStats,
} from "../../store/mod.ts";

export { type HarnessRun, LockstepHarness } from "./lockstep_harness.ts";

/** Where a run's records go (the data store's recorder, or an array in tests). */
export interface RecordSink {
  append(record: Omit<MessageRecord, "runId" | "seq">): unknown;
}

/** Options of {@linkcode runLockstep}. */
export interface LockstepOptions {
  scenario: Scenario;
  /** The controller's command line (run through `sh -c`); omit to wait for an external client. */
  controller?: string;
  /** Topic root and tank id of this run. */
  root?: string;
  tank?: string;
  sink: RecordSink;
  /** Wall milliseconds a step waits for a controller that neither acks nor subscribed with QoS 1. */
  stepTimeoutMs?: number;
  /**
   * Wall milliseconds a step waits for an ack, the library's report or a PUBACK before calling the step timed out
   * (three in a row: unresponsive); also how long a controller may stay disconnected.
   */
  ackTimeoutMs?: number;
  /** Wall milliseconds to wait for the controller to connect and subscribe. */
  connectTimeoutMs?: number;
  /**
   * Messages a controller may publish within `floodWindow` consecutive steps before it is cut off as flooding. Counted
   * in steps, not wall time, so the verdict does not depend on how fast the machine runs the steps.
   */
  floodLimit?: number;
  /** Steps the flood limit counts over. */
  floodWindow?: number;
  /** Called about ten times a second with the run's progress. */
  onProgress?: (progress: LockstepProgress) => void;
  /** Called with each line the controller prints. */
  onOutput?: (stream: "stdout" | "stderr", line: string) => void;
  /** Stops the run early (Ctrl-C); the run ends as `interrupted`. */
  signal?: AbortSignal;
  /** Confine the controller (see `sandbox.ts`): limits to change, or false to run it as given. Default: confined. */
  sandbox?: Partial<SandboxLimits> | false;
}

const defaults = {
  root: "fishtank",
  tank: "tank1",
  stepTimeoutMs: 100,
  ackTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  floodLimit: 1_000,
  floodWindow: 100,
} satisfies Partial<LockstepOptions>;

/** How far a run has got. */
export interface LockstepProgress {
  t: number;
  duration: number;
  steps: number;
  stepsPerSecond: number;
  ackMode: AckMode;
  /** A word on the controller's state: `waiting`, `answering`, `uncontrolled`. */
  phase: string;
}

/** How a lockstep run went. */
export interface LockstepResult {
  outcome: RunOutcome;
  outcomeMessage: string;
  ackMode: AckMode;
  stats: RunStats;
  simulated: number;
  exitCode: number | null;
  signal: string | null;
  /** How the controller was confined, when it was. */
  sandbox?: string;
  /** Wall seconds the run took. */
  wallSeconds: number;
  /** Wall seconds from the first step to the last: the run without the controller's start-up. */
  loopSeconds: number;
}

/** Runs one scenario against one controller on the harness's broker. */
export async function runLockstep(
  harness: LockstepHarness,
  options: LockstepOptions,
): Promise<LockstepResult> {
  const run = new LockstepRun(harness, { ...defaults, ...options });
  harness.add(run);
  try {
    return await run.run();
  } finally {
    harness.remove(run);
  }
}
