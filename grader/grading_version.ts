/**
 * The grader's formulas are versioned: a run is scored with the version it was recorded under, so rescoring a stored
 * run gives the score it had. `grader/README.md` lists what each version changed.
 *
 * @module
 */

import type { RunMeta } from "../store/mod.ts";

/**
 * The version new runs are recorded under. 2: alarms as fault-detection benchmarks count them, heater switching as the
 * total variation of its power, energy and fault-scenario ranges against the reference controller.
 */
export const GRADING_VERSION = 2;

/** The version a run is scored with: its own, or 1 for runs recorded before versions were stored. */
export function gradingVersionOf(
  meta: Pick<RunMeta, "gradingVersion">,
): number {
  return meta.gradingVersion ?? 1;
}
