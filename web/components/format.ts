/**
 * How the web pages write numbers, times and outcomes: locale-independent, so pages read the same everywhere.
 *
 * @module
 */

import type { RunOutcome } from "../../store/mod.ts";

/** `1,240.5` with `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  const [whole, fraction] = value.toFixed(digits).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** The tank's clock `t` seconds after a start at `startMs` (local time stored as UTC): `14:20`, `Sat 14:20` if `withDay`. */
export function clockAt(startMs: number, t: number, withDay = false): string {
  const date = new Date(startMs + Math.round(t) * 1000);
  const hh = String(date.getUTCHours()).padStart(2, "0");
  const mm = String(date.getUTCMinutes()).padStart(2, "0");
  const day =
    ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][date.getUTCDay()];
  return withDay ? `${day} ${hh}:${mm}` : `${hh}:${mm}`;
}

/** `2 h 10 min`, `3 d 4 h`. */
export function duration(seconds: number): string {
  const minutes = Math.round(Math.max(0, seconds) / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  }
  return hours % 24
    ? `${Math.floor(hours / 24)} d ${hours % 24} h`
    : `${hours / 24} d`;
}

/** A wall-clock instant for tables: `2026-03-10 14:20` (UTC). */
export function when(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

/** How a run ended, in words. */
export const OUTCOME_WORDS: Readonly<Record<RunOutcome, string>> = {
  running: "running",
  completed: "completed",
  crashed: "controller crashed",
  unresponsive: "controller stopped answering",
  no_connect: "controller never connected",
  no_subscribe: "controller never subscribed",
  flooding: "controller flooded the broker",
  interrupted: "interrupted",
  error: "harness error",
};

/**
 * How a run ended, in words, with a clean exit (code 0 before the run was over) told apart from a crash: the program
 * ended early, most often because it forgot its network loop.
 */
export function outcomeWords(outcome: RunOutcome, endedEarly: boolean): string {
  return endedEarly
    ? "controller ended early (exit code 0)"
    : OUTCOME_WORDS[outcome];
}

/** `h:mm`, `h:mm:ss` or seconds → seconds; undefined when it is none of these. */
export function parseElapsed(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const match = /^(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(trimmed);
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 +
    Number(match[3] ?? 0);
}
