/**
 * Time-of-day windows of range rules: which window holds at an hour, and whether a sensor's rules cover each moment
 * of the day exactly once.
 *
 * @module
 */

import { formatTimeOfDay } from "./duration.ts";

/** A window of the day, hours since midnight; `to <= from` runs across midnight, `{0, 24}` is the whole day. */
export interface DayWindow {
  readonly from: number;
  readonly to: number;
}

/** A problem with a list of rules, at a path relative to the list. */
export interface RuleProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

const EPSILON = 1e-9;

/** Whether `hour` (in [0, 24)) falls in the window; `from` is inclusive, `to` exclusive. */
export function inWindow(hour: number, window: DayWindow): boolean {
  const { from, to } = window;
  if (from === 0 && to === 24) return true;
  return from < to ? hour >= from && hour < to : hour >= from || hour < to;
}

function _show(window: DayWindow): string {
  return `${formatTimeOfDay(window.from)}–${formatTimeOfDay(window.to)}`;
}

/**
 * What is wrong with a sensor's list of rules: empty windows, windows that overlap, and moments of the day that no
 * rule covers. An empty list means the rules are fine. Gaps are errors rather than "no limits" so that a slip such as
 * `to: "21:00"` for `"20:00"` is caught; a rule with neither `min` nor `max` says "no limits" explicitly.
 */
export function rangeRulesProblems(rules: readonly DayWindow[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const pieces: { start: number; end: number; index: number }[] = [];
  rules.forEach((rule, index) => {
    const from = rule.from % 24;
    const to = rule.to === 0 ? 24 : rule.to;
    if (from === 0 && to === 24) {
      pieces.push({ start: 0, end: 24, index });
    } else if (from === to % 24) {
      problems.push({
        path: [index],
        message:
          `expected "from" and "to" to differ, got both ${
            formatTimeOfDay(from)
          } ` +
          `(for the whole day use "00:00" to "24:00")`,
      });
    } else if (from < to) {
      pieces.push({ start: from, end: to, index });
    } else {
      pieces.push({ start: from, end: 24, index }, {
        start: 0,
        end: to,
        index,
      });
    }
  });
  pieces.sort((a, b) => a.start - b.start || a.index - b.index);

  const gaps: DayWindow[] = [];
  let reached = 0;
  let owner = -1;
  for (const piece of pieces) {
    if (piece.start > reached + EPSILON) {
      gaps.push({ from: reached, to: piece.start });
    } else if (piece.start < reached - EPSILON && piece.index !== owner) {
      const other = rules[owner]!;
      problems.push({
        path: [piece.index],
        message: `overlaps rule [${owner}] (${
          _show(other)
        }); each moment of the day must have exactly one rule`,
      });
    }
    if (piece.end > reached) {
      reached = piece.end;
      owner = piece.index;
    }
  }
  if (reached < 24 - EPSILON) gaps.push({ from: reached, to: 24 });
  // A gap that runs through midnight is one gap for a reader: 20:00–08:00, not 20:00–24:00 and 00:00–08:00.
  if (gaps.length > 1 && gaps[0]!.from === 0 && gaps.at(-1)!.to === 24) {
    const first = gaps.shift()!;
    gaps.push({ from: gaps.pop()!.from, to: first.to });
  }
  if (gaps.length > 0) {
    problems.push({
      path: [],
      message:
        `the rules leave ${
          gaps.map(_show).join(", ")
        } uncovered; expected rules that cover the whole day ` +
        `(a rule with neither min nor max means "no limits")`,
    });
  }
  return problems;
}
