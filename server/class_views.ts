/**
 * What a student and a teacher see of a submission, as JSON. The student's view is built here and nowhere else, so
 * that a hidden scenario's name, id, run, events and advice cannot reach a student by another path: until the
 * teacher releases them, hidden scenarios appear as `hidden case N` with a score and a weight only.
 *
 * @module
 */

import { type Assignment, hiddenLabel, isSecret } from "./assignment.ts";
import type { Submission, SubmissionGrade } from "./class_store.ts";
import type { Job } from "./job_queue.ts";

/** Where a waiting submission stands in the queue. */
export interface QueueInfo {
  /** 1 for the next job to be claimed. */
  position: number;
  /** Seconds until it is graded, from the recent grading times; null before any was graded. */
  estimateSeconds: number | null;
}

/** One scenario row of a student's score card. */
export type StudentScenarioCard =
  | {
    case: number;
    hidden: false;
    scenario: string;
    title: string;
    weight: number;
    score: number;
    pass: boolean;
    outcome: string;
    outcomeMessage: string | null;
    components: { name: string; score: number; weight: number }[];
    advice: string[];
    runId: string;
  }
  | {
    case: number;
    hidden: true;
    label: string;
    weight: number;
    score: number;
  };

/** A submission as its student sees it. */
export interface StudentSubmissionView {
  id: string;
  assignment: string;
  number: number;
  createdAt: string;
  late: boolean;
  status: Submission["status"];
  error?: string;
  files: string[];
  start: { kind: string; entry: string };
  queue?: QueueInfo;
  progress?: {
    label: string;
    scenario: number;
    scenarios: number;
    t: number;
    duration: number;
    stepsPerSecond: number;
  };
  grade?: {
    score: number;
    pass: boolean;
    passMark: number;
    late: boolean;
    gradedAt: string;
    scenarios: StudentScenarioCard[];
  };
}

/** The student's view of a submission. */
export function studentSubmissionView(
  input: {
    submission: Submission;
    assignment: Assignment;
    grade?: SubmissionGrade | undefined;
    job?: Job | undefined;
    queue?: QueueInfo | undefined;
  },
): StudentSubmissionView {
  const { submission: s, assignment: a, grade, job } = input;
  const view: StudentSubmissionView = {
    id: s.id,
    assignment: s.assignmentId,
    number: s.number,
    createdAt: s.createdAt,
    late: s.late,
    status: s.status,
    files: s.files.map((f) => f.path),
    start: s.start,
  };
  if (s.status === "failed") {
    // A harness error's message may name a scenario file: students get the fact, the teacher the details.
    view.error =
      "grading failed because of a harness error, not your controller; your teacher sees the details and can grade it again";
  } else if (s.status === "cancelled") {
    view.error = "grading was cancelled by the teacher";
  }
  if (s.status === "queued" && input.queue) view.queue = input.queue;
  if (s.status === "running" && job?.progress) {
    const p = job.progress;
    view.progress = {
      // Recomputed here rather than trusted from the job: a release changes what the label may say.
      label: isSecret(a, p.scenario) ? hiddenLabel(a, p.scenario) : p.label,
      scenario: p.scenario + 1,
      scenarios: p.scenarios,
      t: Math.round(p.t),
      duration: p.duration,
      stepsPerSecond: p.stepsPerSecond,
    };
  }
  if (grade) {
    view.grade = {
      score: grade.score,
      pass: grade.pass,
      passMark: grade.passMark,
      late: grade.late,
      gradedAt: grade.gradedAt,
      scenarios: grade.scenarios.map((r): StudentScenarioCard =>
        isSecret(a, r.index)
          ? {
            case: r.index + 1,
            hidden: true,
            label: hiddenLabel(a, r.index),
            weight: r.weight,
            score: r.score,
          }
          : {
            case: r.index + 1,
            hidden: false,
            scenario: r.scenario.id,
            title: r.scenario.title,
            weight: r.weight,
            score: r.score,
            pass: r.pass,
            outcome: r.outcome,
            outcomeMessage: r.outcomeMessage,
            components: r.components,
            advice: r.advice,
            runId: r.runId,
          }
      ),
    };
  }
  return view;
}

/** An assignment as its students see it: hidden scenarios counted, not named, until released. */
export function studentAssignmentView(
  a: Assignment,
  mine: { attempts: number; best?: number; latest?: number },
) {
  return {
    id: a.id,
    title: a.title,
    passMark: a.passMark,
    opens: a.opens ?? null,
    due: a.due ?? null,
    maxAttempts: a.maxAttempts ?? null,
    attemptsUsed: mine.attempts,
    commands: a.commands,
    released: a.released,
    scenarios: a.scenarios.map((s, i) =>
      isSecret(a, i)
        ? {
          case: i + 1,
          hidden: true,
          label: hiddenLabel(a, i),
          weight: s.weight,
        }
        : {
          case: i + 1,
          hidden: s.hidden,
          scenario: s.scenario.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/i, ""),
          weight: s.weight,
        }
    ),
    best: mine.best ?? null,
    latest: mine.latest ?? null,
  };
}
