/**
 * `toJson`: the grades as JSON for tools and archives, with a stable key order (keys sorted at every level), so that
 * the same grades always give the same bytes and diffs between two reports show only what changed.
 *
 * @module
 */

import { overallScore, type RunGrade } from "./score.ts";

/** Objects with their keys sorted, at every level; arrays keep their order, `undefined` fields are dropped. */
function _sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(_sorted);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = _sorted(field);
  }
  return out;
}

/**
 * The report: `extra` (e.g. when and for whom it was made), `overall` (the mean score, runs, passed, failed) and
 * `grades`, every key sorted, two-space indented, with a final newline. `overall` and `grades` win over keys of the
 * same name in `extra`; numbers that are not finite become `null`, as JSON has no other way to say so.
 */
export function toJson(
  grades: readonly RunGrade[],
  extra: Readonly<Record<string, unknown>> = {},
): string {
  const passed = grades.filter((grade) => grade.pass).length;
  const report = {
    ...extra,
    overall: {
      score: overallScore(grades),
      runs: grades.length,
      passed,
      failed: grades.length - passed,
    },
    grades,
  };
  return `${JSON.stringify(_sorted(report), null, 2)}\n`;
}
