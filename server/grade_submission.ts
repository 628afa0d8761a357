/**
 * A submission's grade from its scenarios' run grades: the weighted mean of the scenario scores (partial credit per
 * scenario, 0–100 each), passed when it reaches the assignment's pass mark and every scenario was played to its end
 * without interference (a controller that crashes or stops answering cannot pass, whatever it scored before).
 *
 * @module
 */

import type { RunGrade } from "../grader/mod.ts";
import type { Assignment } from "./assignment.ts";
import type {
  ScenarioResult,
  Submission,
  SubmissionGrade,
} from "./class_store.ts";

/** One scenario's result from its run's grade. */
export function scenarioResult(
  assignment: Assignment,
  index: number,
  grade: RunGrade,
): ScenarioResult {
  const spec = assignment.scenarios[index]!;
  return {
    index,
    scenario: grade.scenario,
    weight: spec.weight,
    hidden: spec.hidden,
    score: grade.score,
    pass: grade.pass,
    outcome: grade.outcome,
    outcomeMessage: grade.outcomeMessage,
    runId: grade.runId,
    components: grade.components.map((c) => ({
      name: c.name,
      score: c.score,
      weight: c.weight,
    })),
    advice: grade.advice,
    interference: grade.interference !== null,
  };
}

/** The submission's grade: weighted score, pass against the assignment's pass mark, the late flag. */
export function submissionGrade(
  input: {
    assignment: Assignment;
    submission: Submission;
    attempt: number;
    results: ScenarioResult[];
    seconds: number;
    now?: Date;
  },
): SubmissionGrade {
  const { assignment, submission, results } = input;
  const total = results.reduce((sum, r) => sum + r.weight, 0);
  const weighted = total === 0
    ? 0
    : results.reduce((sum, r) => sum + r.weight * r.score, 0) / total;
  const score = Math.round(weighted * 10) / 10;
  return {
    submissionId: submission.id,
    attempt: input.attempt,
    score,
    // As a run's pass: the mark reached, and every scenario played to its end by the student's own controller.
    pass: score >= assignment.passMark &&
      results.every((r) => r.outcome === "completed" && !r.interference),
    passMark: assignment.passMark,
    late: submission.late,
    scenarios: results,
    gradedAt: (input.now ?? new Date()).toISOString(),
    seconds: Math.round(input.seconds * 10) / 10,
  };
}
