/**
 * The live classroom mode's pace-keeper: advances tanks so that simulated time follows the wall clock times a speed
 * factor. Simulated time moves only in whole physics steps, so it stays exact whatever the wall clock does; when the
 * machine falls behind, the tanks catch up in bigger chunks and the drift is reported.
 *
 * @module
 */

/** Something the runner can advance: a {@linkcode TankNode} or a test double. */
export interface Advanceable {
  /** Simulated seconds since the start. */
  readonly time: number;
  readonly finished: boolean;
  advance(seconds: number): void;
}

/** Options of {@linkcode runLive}. */
export interface LiveOptions {
  /** Simulated seconds per wall second, or `"max"` for as fast as the machine goes. */
  speed: number | "max";
  /** Wall milliseconds between ticks. */
  tickMs?: number;
  /** With speed `"max"`: simulated seconds each tank advances per tick before yielding to I/O. */
  maxChunk?: number;
  /** Stops the run early (Ctrl-C). */
  signal?: AbortSignal;
  /** Called after every tick, e.g. to refresh a progress line. */
  onTick?: (stats: LiveStats) => void;
  /** Monotonic wall clock in milliseconds; injectable for tests. */
  now?: () => number;
}

const defaults = {
  tickMs: 20,
  maxChunk: 600,
  now: () => performance.now(),
} satisfies Partial<LiveOptions>;

/** How the run went. */
export interface LiveStats {
  /** Wall seconds since the start. */
  wall: number;
  /** Simulated seconds of the slowest tank. */
  simulated: number;
  /** Simulated seconds the slowest tank is behind (positive) or ahead (negative) of speed × wall time. */
  drift: number;
  /** The largest lateness seen so far (before catching up at a tick), simulated seconds. */
  worstDrift: number;
  ticks: number;
  aborted: boolean;
}

/** Runs the tanks until every one has finished its scenario or the signal aborts. */
export async function runLive(
  tanks: readonly Advanceable[],
  options: LiveOptions,
): Promise<LiveStats> {
  const { speed, tickMs, maxChunk, signal, onTick, now } = {
    ...defaults,
    ...options,
  };
  if (speed !== "max" && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(
      `speed: expected a positive number or "max", got ${speed}`,
    );
  }
  const start = now();
  const startTimes = tanks.map((tank) => tank.time);
  const stats: LiveStats = {
    wall: 0,
    simulated: 0,
    drift: 0,
    worstDrift: 0,
    ticks: 0,
    aborted: false,
  };
  while (tanks.some((tank) => !tank.finished)) {
    if (signal?.aborted) {
      stats.aborted = true;
      break;
    }
    const wall = (now() - start) / 1000;
    if (speed !== "max") {
      // How late the slowest tank is before catching up: what a subscriber waiting for readings experiences.
      const late = Math.max(
        ...tanks.map((tank, i) =>
          tank.finished ? 0 : startTimes[i]! + speed * wall - tank.time
        ),
      );
      stats.worstDrift = Math.max(stats.worstDrift, late);
    }
    tanks.forEach((tank, i) => {
      if (tank.finished) return;
      const behind = speed === "max"
        ? maxChunk
        : startTimes[i]! + speed * wall - tank.time;
      if (behind > 0) tank.advance(behind);
    });
    stats.ticks++;
    stats.wall = wall;
    const lagging = tanks.map((tank, i) => tank.time - startTimes[i]!);
    stats.simulated = Math.min(...lagging);
    if (speed !== "max") {
      stats.drift = speed * wall - stats.simulated;
    }
    onTick?.(stats);
    // Yield to the event loop: commands from controllers arrive between ticks.
    await new Promise((resolve) =>
      setTimeout(resolve, speed === "max" ? 0 : tickMs)
    );
  }
  return stats;
}
