/**
 * How the grader writes numbers, durations and times for students: `1,240`, `2.3 h`, `2 h 10 min`, `14:20` (or
 * `Sat 14:20` in a run longer than a day). Locale-independent, so reports are the same on every machine.
 *
 * @module
 */

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

/** `value` rounded to `digits` decimals (half away from zero), without float noise; -0 becomes 0. */
export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  const rounded = Math.sign(value) * Math.round(Math.abs(value) * factor) /
    factor;
  return rounded === 0 ? 0 : Number(rounded.toFixed(digits));
}

/** `1,240.5`: thousands separated by commas, exactly `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = round(value, digits).toFixed(digits);
  const [whole, fraction] = fixed.split(".");
  const sign = whole!.startsWith("-") ? "-" : "";
  const digitsOnly = sign ? whole!.slice(1) : whole!;
  const grouped = digitsOnly.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${grouped}${fraction === undefined ? "" : `.${fraction}`}`;
}

/**
 * A figure with as many decimals as it needs to show: `0.35`, `1.9`, `12`, `1,240` (two significant decimals below 1,
 * one below 100, none above).
 */
export function formatFigure(value: number): string {
  const size = Math.abs(value);
  if (size === 0) return "0";
  if (size < 1) return formatNumber(value, size < 0.01 ? 3 : 2);
  if (size < 100) return formatNumber(value, 1).replace(/\.0$/, "");
  return formatNumber(value, 0);
}

/** A length of simulated time: `45 s`, `12 min`, `2 h 10 min`, `1 d 3 h`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(Math.max(0, seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 24) return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours === 0 ? `${days} d` : `${days} d ${restHours} h`;
}

/** Seconds as hours with one decimal: `2.3 h`. */
export function formatHours(seconds: number): string {
  return `${formatNumber(seconds / 3600, 1)} h`;
}

/**
 * The tank's wall-clock time `t` seconds after a start at `startMs` (local time stored as UTC, as scenarios do):
 * `14:20`, or `Sat 14:20` when `withDay`.
 */
export function clockAt(startMs: number, t: number, withDay: boolean): string {
  const date = new Date(startMs + Math.round(t) * 1000);
  const hh = String(date.getUTCHours()).padStart(2, "0");
  const mm = String(date.getUTCMinutes()).padStart(2, "0");
  return withDay ? `${WEEKDAYS[date.getUTCDay()]} ${hh}:${mm}` : `${hh}:${mm}`;
}

/** `1 message`, `3 messages`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}
