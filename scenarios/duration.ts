/**
 * Durations (`"90s"`, `"1h30m"`) and times of day (`"08:00"`) as teachers write them in scenario files, and back.
 *
 * @module
 */

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1, ms: 0.001 } as const;
type Unit = keyof typeof UNIT_SECONDS;

/** Spellings accepted for each unit; the short ones are what the docs show. */
const UNIT_ALIASES: Readonly<Record<string, Unit>> = {
  d: "d",
  day: "d",
  days: "d",
  h: "h",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  m: "m",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  s: "s",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  ms: "ms",
};
const UNIT_ORDER: readonly Unit[] = ["d", "h", "m", "s", "ms"];

const DURATION_EXAMPLES = `a duration like "90s", "30m", "6h" or "2d"`;
const TIME_EXAMPLES = `a time of day like "08:00" or "19:30"`;
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;
const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;
const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

function _prefix(where: string | undefined): string {
  return where === undefined || where === "" ? "" : `${where}: `;
}

function _show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Parses a duration into seconds. Accepts a number of seconds (`90`, `"90"`) or one or more number–unit pairs from the
 * largest unit to the smallest: `"500ms"`, `"90s"`, `"30m"`, `"1.5h"`, `"1h30m"`, `"2d"` (`min`, `hours`, … also work).
 *
 * @param text what the file says
 * @param where where it was found, e.g. `events[2].at`, to start the error message with
 * @throws {SyntaxError} when `text` is not a duration, e.g. `expected a duration like "90s", "30m", "6h" or "2d", got "soon"`
 * @throws {RangeError} when `text` is a negative or non-finite number
 */
export function parseDuration(text: string | number, where?: string): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) {
      throw new RangeError(
        `${
          _prefix(where)
        }expected ${DURATION_EXAMPLES} (or a number of seconds ≥ 0), got ${text}`,
      );
    }
    return text;
  }
  const trimmed = typeof text === "string" ? text.trim() : "";
  if (PLAIN_NUMBER.test(trimmed)) return Number(trimmed);
  let seconds = 0;
  let position = 0;
  let lastUnit = -1;
  let problem = "";
  PART.lastIndex = 0;
  while (trimmed !== "" && position < trimmed.length) {
    PART.lastIndex = position;
    const match = PART.exec(trimmed);
    if (match === null) break;
    const unit = UNIT_ALIASES[match[2]!];
    const rank = unit === undefined ? -1 : UNIT_ORDER.indexOf(unit);
    if (unit === undefined) {
      problem = ` (unknown unit "${match[2]}")`;
      break;
    }
    if (rank <= lastUnit) {
      problem = " (units must go from the largest to the smallest, each once)";
      break;
    }
    lastUnit = rank;
    seconds += Number(match[1]) * UNIT_SECONDS[unit];
    position = PART.lastIndex;
  }
  if (trimmed === "" || position < trimmed.length || problem !== "") {
    throw new SyntaxError(
      `${_prefix(where)}expected ${DURATION_EXAMPLES}, got ${
        _show(text)
      }${problem}`,
    );
  }
  // Round to the microsecond so "0.1s" + "0.2s"-style sums do not leak float noise into step counts.
  return Math.round(seconds * 1e6) / 1e6;
}

/** Formats seconds the way {@linkcode parseDuration} reads them: `5400` → `"1h30m"`, `0.5` → `"500ms"`, `0` → `"0s"`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return "0s";
  let text = "";
  for (const unit of UNIT_ORDER) {
    const size = Math.round(UNIT_SECONDS[unit] * 1000);
    const count = Math.floor(ms / size);
    if (count > 0) text += `${count}${unit}`;
    ms -= count * size;
  }
  return text;
}

/**
 * Parses a time of day into hours since midnight: `"08:00"` → 8, `"19:30"` → 19.5, `"24:00"` → 24 (the end of a
 * day, for ranges that run to midnight). A number is taken as hours already (`5` → 5).
 *
 * @param text what the file says
 * @param where where it was found, e.g. `room.coldest_at`, to start the error message with
 * @throws {SyntaxError} when `text` is not a time of day between 00:00 and 24:00
 */
export function parseTimeOfDay(text: string | number, where?: string): number {
  const fail = () =>
    new SyntaxError(
      `${_prefix(where)}expected ${TIME_EXAMPLES}, got ${_show(text)}`,
    );
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0 || text > 24) throw fail();
    return text;
  }
  const match = TIME_OF_DAY.exec(typeof text === "string" ? text.trim() : "");
  if (match === null) throw fail();
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  const seconds = Number(match[3] ?? 0);
  if (
    hours > 24 || minutes > 59 || seconds > 59 ||
    (hours === 24 && minutes + seconds > 0)
  ) throw fail();
  return hours + minutes / 60 + seconds / 3600;
}

/** Formats hours since midnight as `"HH:MM"` (or `"HH:MM:SS"` when there are seconds): 19.5 → `"19:30"`. */
export function formatTimeOfDay(hours: number): string {
  const total = Math.round(hours * 3600);
  const pad = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return s === 0 ? `${pad(h)}:${pad(m)}` : `${pad(h)}:${pad(m)}:${pad(s)}`;
}
