/**
 * When a tank's readings have gone stale, one rule for the terminal display and the web pages (no dependencies: the
 * browser bundles it too).
 *
 * @module
 */

/** Readings are fresh for at least this long, however fast the tank publishes. */
export const MIN_STALE_MS = 5_000;
/** Readings are stale once this many publishing intervals have passed without one. */
export const STALE_INTERVALS = 3;

/** What the rule reads: the last `sensors/all` batch, and the single readings. */
export interface ReadingTimes {
  batch?: { wallAt: number; interval?: number };
  readings: Partial<Record<string, { wallAt: number }>>;
}

/**
 * Wall milliseconds since the last batch (or, failing that, the newest single reading) at wall time `now`, and
 * whether that is stale; undefined before anything arrived.
 */
export function readingAgeMs(
  times: ReadingTimes,
  now: number,
): { ms: number; stale: boolean } | undefined {
  const at = times.batch?.wallAt ??
    Math.max(
      -Infinity,
      ...Object.values(times.readings).map((r) => r?.wallAt ?? -Infinity),
    );
  if (!Number.isFinite(at)) return undefined;
  const ms = Math.max(0, now - at);
  const interval = times.batch?.interval ?? 0;
  return { ms, stale: ms > Math.max(MIN_STALE_MS, STALE_INTERVALS * interval) };
}
