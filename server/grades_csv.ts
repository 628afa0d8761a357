/**
 * The grade export of one assignment: one row per student on the roster, with the best and the latest graded
 * submission (weighted score, pass, late) and each scenario's score in both, the number of attempts, and whether any
 * submission was late.
 *
 * @module
 */

import type { Assignment } from "./assignment.ts";
import type { Submission, SubmissionGrade } from "./class_store.ts";
import type { Student } from "./roster.ts";

/** One student's submissions for the export. */
export interface GradeRow {
  student: Pick<Student, "name" | "group">;
  attempts: number;
  /** Whether any of the student's submissions (graded or not) came after the due date. */
  anyLate: boolean;
  /** Graded submissions, oldest first. */
  graded: { submission: Submission; grade: SubmissionGrade }[];
}

function cell(value: string | number | boolean | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV text (a header line, then one line per student; `\n` line ends). */
export function gradesCsv(a: Assignment, rows: GradeRow[]): string {
  const names = a.scenarios.map((s, i) =>
    `${i + 1}:${s.scenario.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/i, "")}`
  );
  const header = [
    "student",
    "group",
    "attempts",
    "any_late",
    "best_score",
    "best_pass",
    "best_late",
    "best_submission",
    ...names.map((n) => `best ${n}`),
    "latest_score",
    "latest_pass",
    "latest_late",
    "latest_submission",
    ...names.map((n) => `latest ${n}`),
  ];
  const lines = [header.map(cell).join(",")];
  for (const row of rows) {
    let best: GradeRow["graded"][number] | undefined;
    for (const g of row.graded) {
      if (best === undefined || g.grade.score > best.grade.score) best = g;
    }
    const latest = row.graded.at(-1);
    const part = (g: GradeRow["graded"][number] | undefined) => [
      g?.grade.score ?? null,
      g ? g.grade.pass : null,
      g ? g.grade.late : null,
      g?.submission.id ?? null,
      ...a.scenarios.map((_, i) =>
        g?.grade.scenarios.find((r) => r.index === i)?.score ?? null
      ),
    ];
    lines.push(
      [
        row.student.name,
        row.student.group,
        row.attempts,
        row.anyLate,
        ...part(best),
        ...part(latest),
      ].map(cell).join(","),
    );
  }
  return lines.join("\n") + "\n";
}
