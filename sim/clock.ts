/**
 * Simulated time: a scenario start on the calendar plus an integer count of simulated milliseconds, advanced only
 * when the simulation says so. Nothing here reads the wall clock.
 *
 * @module
 */

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** What readers of a clock may see; only the owner of the {@linkcode VirtualClock} advances it. */
export interface ReadonlyClock {
  /** Scenario start, epoch milliseconds (UTC). */
  readonly startMs: number;
  /** Simulated milliseconds since the start (an integer, so long runs do not drift). */
  readonly elapsedMs: number;
  /** Simulated seconds since the start. */
  readonly seconds: number;
  /** Current simulated time, epoch milliseconds (UTC). */
  now(): number;
  /** Current simulated time as an ISO 8601 string in UTC, e.g. `2026-01-15T06:00:00.000Z`. */
  iso(): string;
  /** Fractional hour of the day in UTC, 0 ≤ h < 24: the tank's room keeps UTC, so a 06:00Z start is 6 o'clock. */
  hourOfDay(): number;
}

/**
 * A clock that moves only when told to. Time is kept as whole milliseconds since the start, so ten million one-second
 * steps land exactly on 10 000 000 s.
 *
 * @example
 * ```ts
 * const clock = VirtualClock.fromIso("2026-01-15T06:00:00Z");
 * clock.advance(5400);
 * clock.iso(); // "2026-01-15T07:30:00.000Z"
 * clock.hourOfDay(); // 7.5
 * ```
 */
export class VirtualClock implements ReadonlyClock {
  readonly #startMs: number;
  #elapsedMs = 0;

  /**
   * A clock at `startMs`, with no simulated time elapsed.
   *
   * @param startMs Scenario start, epoch milliseconds (UTC); default 0 (1970-01-01T00:00:00Z).
   * @throws {RangeError} When `startMs` is not a safe integer.
   */
  constructor(startMs = 0) {
    if (!Number.isSafeInteger(startMs)) {
      throw new RangeError(
        `VirtualClock: startMs: expected whole epoch milliseconds, got ${startMs}`,
      );
    }
    this.#startMs = startMs;
  }

  /**
   * A clock starting at an ISO 8601 date-time that names its offset (`Z` or `±hh:mm`), so the start does not depend
   * on the machine's time zone.
   *
   * @throws {RangeError} When `iso` has no offset or is not a date-time.
   */
  static fromIso(iso: string): VirtualClock {
    const ms =
      /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(iso)
        ? Date.parse(iso)
        : NaN;
    if (!Number.isFinite(ms)) {
      throw new RangeError(
        `VirtualClock.fromIso: expected a date-time like "2026-01-15T06:00:00Z", got "${iso}"`,
      );
    }
    return new VirtualClock(ms);
  }

  get startMs(): number {
    return this.#startMs;
  }

  get elapsedMs(): number {
    return this.#elapsedMs;
  }

  get seconds(): number {
    return this.#elapsedMs / 1000;
  }

  now(): number {
    return this.#startMs + this.#elapsedMs;
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  hourOfDay(): number {
    const ms = ((this.now() % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
    return ms / MS_PER_HOUR;
  }

  /**
   * Moves the clock forward by `seconds`, which must be a whole number of milliseconds.
   *
   * @throws {RangeError} When `seconds` is negative, not finite or not whole milliseconds.
   */
  advance(seconds: number): void {
    const ms = Math.round(seconds * 1000);
    if (
      !(seconds >= 0) || !Number.isFinite(seconds) ||
      Math.abs(ms - seconds * 1000) > 1e-6 * Math.max(1, ms)
    ) {
      throw new RangeError(
        `VirtualClock.advance: expected a whole number of milliseconds ≥ 0, got ${seconds} s`,
      );
    }
    this.advanceMs(ms);
  }

  /**
   * Moves the clock forward by `ms` milliseconds.
   *
   * @throws {RangeError} When `ms` is not a non-negative safe integer.
   */
  advanceMs(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new RangeError(
        `VirtualClock.advanceMs: expected whole milliseconds ≥ 0, got ${ms}`,
      );
    }
    this.#elapsedMs += ms;
  }
}
