/**
 * What the replay page and its `Replay` island share: the island's props, the speeds offered, which records the
 * message log shows and how much of the run before the current time, and the URLs the island reads. Nothing here
 * touches the store or the DOM, so the browser bundles it.
 *
 * @module
 */

// Type-only: this module is bundled for the browser, and the store's module carries Deno KV.
import type { RecordKind } from "../store/mod.ts";
import type { RunSeries } from "../grader/mod.ts";
import type { TankView } from "./live_view.ts";
import type { MessageRow } from "./components/message_log.tsx";

/** Playback speeds offered, in simulated seconds per wall second. */
export const REPLAY_SPEEDS: readonly number[] = [60, 600, 3600];

/** Rows in the message log around the current time. */
export const LOG_ROWS = 20;

/**
 * The log shows every kind but `truth` (the simulator's full state at each step, shown by the charts instead). Kept
 * in step with the store's `RECORD_KINDS` by a test (`replay_routes_test.ts`).
 */
export const LOG_KINDS: readonly RecordKind[] = [
  "publish",
  "rejected",
  "connect",
  "disconnect",
  "subscribe",
  "unsubscribe",
  "output",
  "note",
];

/** One row of the message log, as `GET /api/runs/:id/messages` sends it. */
export type LogRow = MessageRow;

/** The tank at one simulated time, as `GET /api/runs/:id/replay?t=` sends it. */
export interface ReplayFrameJson {
  t: number;
  now: number;
  view: TankView;
  messages: number;
}

/** Props of the `Replay` island. */
export interface ReplayProps {
  runId: string;
  /** Scenario start, epoch ms (the tank's local clock stored as UTC). */
  start: number;
  /** Simulated seconds the scrub bar covers (`0 … end`). */
  end: number;
  /** Scrub bar step: the run's publishing period in simulated seconds. */
  step: number;
  /** The tank at the first paint's time. */
  frame: ReplayFrameJson;
  /** The message log at that time. */
  log: LogRow[];
  /** A small version of the run's series for the first paint of the charts. */
  fallback: RunSeries;
}

/** Where the log starts for time `t`: two publishing periods earlier, so the records just before it show. */
export function logFrom(t: number, step: number): number {
  return Math.max(0, t - 2 * step);
}

/** The message-log URL the island reads for time `t`. */
export function logUrl(runId: string, t: number, step: number): string {
  return `/api/runs/${encodeURIComponent(runId)}/messages?from=${
    logFrom(t, step)
  }&limit=${LOG_ROWS}&kind=${LOG_KINDS.join(",")}`;
}

/** The tank-state URL the island reads for time `t`. */
export function frameUrl(runId: string, t: number): string {
  return `/api/runs/${encodeURIComponent(runId)}/replay?t=${t}`;
}

/** The tank's wall clock at simulated time `t`, `HH:MM:SS` (the scenario start is stored as UTC). */
export function tankClock(start: number, t: number): string {
  return new Date(start + Math.round(t) * 1000).toISOString().slice(11, 19);
}
