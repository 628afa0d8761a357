/**
 * The pure parts of a replay: reading `--speed`, the replayed topic, and when each recorded message is due.
 *
 * @module
 */

/**
 * `--speed`: a number of simulated seconds per wall second above 0, or `max` (returned as `Infinity`).
 *
 * @throws {RangeError} for anything else
 */
export function parseSpeed(text: string): number {
  const lower = text.trim().toLowerCase();
  if (lower === "max") return Infinity;
  const trimmed = lower.replace(/^[x×]|[x×]$/g, "");
  const speed = Number(trimmed);
  if (trimmed === "" || !Number.isFinite(speed) || speed <= 0) {
    throw new RangeError(
      `--speed: expected simulated seconds per wall second above 0 (e.g. 60) or "max", got "${text}"`,
    );
  }
  return speed;
}

/** A speed for people: `×60`, `as fast as possible`. */
export function formatSpeed(speed: number): string {
  return Number.isFinite(speed) ? `×${speed}` : "as fast as possible";
}

/** The topic a recorded message is replayed on: `replay` + `fishtank/tank1/…` → `replay/fishtank/tank1/…`. */
export function replayTopic(prefix: string, topic: string): string {
  return `${prefix}/${topic}`;
}

/**
 * Wall milliseconds to wait before sending a message recorded `since` simulated seconds after the first, when
 * `elapsedMs` have passed since the replay began; 0 when it is due (or late: a late replay catches up at once).
 */
export function pacedDelayMs(
  since: number,
  speed: number,
  elapsedMs: number,
): number {
  if (!Number.isFinite(speed)) return 0;
  return Math.max(0, (since / speed) * 1000 - elapsedMs);
}
