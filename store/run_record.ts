/**
 * What a run leaves behind: its metadata and every message, as stored in the data store and read by the grader.
 * Scoring is a pure function of these records (and the scenario text stored with the run), so a run can be rescored
 * years later.
 *
 * @module
 */

/** How a run ended. */
export type RunOutcome =
  /** Still being written (or the harness died before it could say: see `interrupted`). */
  | "running"
  /** The scenario ran to its end with a controller that answered. */
  | "completed"
  /** The controller process exited before the end (or crashed). */
  | "crashed"
  /** The controller stopped answering: steps timed out one after another, the run finished without it. */
  | "unresponsive"
  /** No MQTT client connected for the controller within the connect timeout: the tank ran uncontrolled. */
  | "no_connect"
  /** The controller connected but never subscribed to the tank's readings. */
  | "no_subscribe"
  /** The controller sent more messages than the rate cap allows; it was cut off and the tank ran on without it. */
  | "flooding"
  /** The harness was stopped (Ctrl-C) or killed before the end; a later start marks such runs. */
  | "interrupted"
  /** The harness itself failed; `error` says how. */
  | "error";

/**
 * How the lockstep runner knew the controller had dealt with each batch of readings: its own acks on `…/ack`
 * (`explicit`), its client library's report that the message callbacks returned (`library`, from the preloads the
 * harness injects), PUBACKs of QoS 1 readings (`puback`), its processes found idle with the readings read
 * (`process`, read from Linux's /proc), or only a wall-clock window per step (`timeout`).
 */
export type AckMode =
  | "explicit"
  | "library"
  | "puback"
  | "process"
  | "timeout"
  | "none";

/** What kind of event a record is. */
export type RecordKind =
  /** A PUBLISH as the broker received it: from a client, or from the harness itself (`client` = `$harness`). */
  | "publish"
  /** A publish the harness refused or the tank rejected (`note` says why); the payload is kept. */
  | "rejected"
  | "connect"
  | "disconnect"
  | "subscribe"
  | "unsubscribe"
  /**
   * The simulator's true state at a publish period (JSON payload, never sent on the broker): the grader scores what
   * the fish lived through, not what a faulty sensor said.
   */
  | "truth"
  /** A line of the controller's stdout or stderr (`topic` = `$stdout` / `$stderr`). */
  | "output"
  /** Something the harness noted (a step timeout, a late command, the ack mode chosen); `note` says what. */
  | "note";

/**
 * Every record kind, in a fixed order: the data store encodes a kind as its index here (`_kv_pages.ts`), so new kinds
 * are appended, never inserted.
 */
export const RECORD_KINDS: readonly RecordKind[] = [
  "publish",
  "rejected",
  "connect",
  "disconnect",
  "subscribe",
  "unsubscribe",
  "truth",
  "output",
  "note",
];

/** One recorded event of a run. */
export interface MessageRecord {
  runId: string;
  /** 0, 1, 2, … in the order the harness saw the events. */
  seq: number;
  /** Simulated seconds since the scenario's start when the event happened. */
  t: number;
  /** Wall-clock time, epoch milliseconds. Not part of the determinism guarantee. */
  wall: number;
  kind: RecordKind;
  /**
   * Who: `$harness` for the simulator and harness, `controller-1`, `controller-2`, … for the controller's connections
   * in the order they connected (stable across runs), `$broker`, or the raw id for other clients (displays).
   */
  client: string;
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** Why a publish was rejected, the raw client id of a connect, or a harness note. */
  note?: string;
}

/** The volatile fields of a record: left out when runs are compared for determinism. */
export const VOLATILE_FIELDS = ["runId", "wall"] as const;

/** A controller's stdout/stderr and exit, kept with the run. */
export interface ControllerInfo {
  /** The command line as given to `--controller`, or null when the harness waited for an external client. */
  command: string | null;
  exitCode: number | null;
  signal: string | null;
  /** How the controller was confined (Deno permissions or resource limits), when it was. */
  sandbox?: string;
}

/** Everything known about a run apart from its messages. */
export interface RunMeta {
  runId: string;
  /** Scenario id, version, title, content hash (sha256 hex), and the file's text so rescoring needs no file. */
  scenario: {
    id: string;
    version: number;
    title: string;
    hash: string;
    source: string;
  };
  seed: number;
  /** The simulator's version (the project's version plus the model's), bumped when dynamics change. */
  simulatorVersion: string;
  controller: ControllerInfo;
  /** `--name`, else git's user.name, else the login name. */
  student: string;
  /** Optional class or group, for the leaderboard. */
  group?: string;
  tank: string;
  root: string;
  /** `lockstep`, `live` or `record` (a recording of any broker's traffic). */
  mode: "lockstep" | "live" | "record";
  ackMode: AckMode;
  /** Wall-clock start and end, ISO. */
  startedAt: string;
  endedAt?: string;
  outcome: RunOutcome;
  /** A sentence for people: why the run ended the way it did. */
  outcomeMessage?: string;
  /** Simulated seconds covered. */
  simulated: number;
  /** Counts the grader and the report use. */
  stats: RunStats;
  /** The grade as computed when the run ended (rescoring recomputes it from the records). */
  grade?: {
    score: number;
    pass: boolean;
    passMark: number;
    /** Another client commanded the tank (see the grade's interference); absent on runs graded before it was kept. */
    interference?: boolean;
  };
  /**
   * The grader's formulas the run is scored with (absent: 1, the first). Set when the run is recorded, so a stored
   * run keeps the score of its version when it is rescored.
   */
  gradingVersion?: number;
  /** What the grader's reference controller achieved on the same scenario and seed, when the run was recorded. */
  reference?: ReferenceFigures;
}

/** A reference controller's figures on one scenario and seed: what the grader judges a run against. */
export interface ReferenceFigures {
  /** Heat the heater gave, not counting heat given while stuck on, Wh. */
  energyWh: number;
  /** Per measurement with a range: its area outside the range (unit·h) and its fraction of time in range. */
  measurements: Record<string, { areaOutside: number; timeInRange: number }>;
}

/** Counters kept while a run goes. */
export interface RunStats {
  messages: number;
  steps: number;
  /** Steps whose barrier was the wall-clock deadline rather than an ack. */
  timedOutSteps: number;
  /** Commands that arrived after their step had been closed by the deadline. */
  lateCommands: number;
  rejected: number;
  /** Median and 95th-percentile wall time from publishing readings to the controller's answer, ms. */
  medianResponseMs: number | null;
  p95ResponseMs: number | null;
  /** Wall seconds from the first step to the last (the controller's start-up left out); wall-clock, not simulated. */
  loopSeconds?: number;
}

/**
 * The payload of a `truth` record (JSON): the simulator's true state at a publish period, what the controller was
 * applying, and what was in force. The grader scores runs from these samples.
 */
export interface TruthSample {
  /** Simulated seconds since the start. */
  t: number;
  /** True values, named as the sensors are (°C, pH, mg/L, lux, cm). */
  values: {
    temperature: number;
    room_temperature: number;
    ph: number;
    oxygen: number;
    light: number;
    level: number;
  };
  /** What the tank applies from the controller's commands (heater as a fraction 0–1). */
  inputs: { heater: number; light: boolean; pump: boolean; topup: boolean };
  /** Heat the heater really gave since the start, joules (faults included: a failed heater gives none). */
  heaterEnergy: number;
  /** Times each actuator changed state since the start, counted at every accepted command. */
  switches: { heater: number; light: number; pump: number; topup: number };
  /** The controller's alarm at this instant. */
  alarm: boolean;
  /** Types of the scenario events in force now (`heater_failure`, `sensor_stuck`, …). */
  events: string[];
  /** The target ranges in force now, per measurement. */
  ranges: Partial<
    Record<keyof TruthSample["values"], { min?: number; max?: number }>
  >;
}

/** The counters of a run that has not started yet. */
export function emptyRunStats(): RunStats {
  return {
    messages: 0,
    steps: 0,
    timedOutSteps: 0,
    lateCommands: 0,
    rejected: 0,
    medianResponseMs: null,
    p95ResponseMs: null,
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A payload as text, or base64 when it is not UTF-8 (for JSON: the API, exports). */
export function payloadText(
  payload: Uint8Array,
): { payload: string; encoding: "utf8" | "base64" } {
  try {
    return { payload: utf8.decode(payload), encoding: "utf8" };
  } catch {
    let binary = "";
    for (const byte of payload) binary += String.fromCharCode(byte);
    return { payload: btoa(binary), encoding: "base64" };
  }
}

/** The bytes of a payload written by {@linkcode payloadText}. @throws {SyntaxError} for bad base64 */
export function payloadBytes(
  text: string,
  encoding: "utf8" | "base64",
): Uint8Array {
  if (encoding === "utf8") return new TextEncoder().encode(text);
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
