/**
 * The class server's teacher pages, behind the teacher's login (`/login`, as `web/auth.tsx` does it), on top of the
 * class JSON API's teacher routes (called in-process with the teacher's cookie):
 *
 * - `/class/teacher`: the console (the `class_console` island): queue, leaderboards, latest submissions, roster.
 * - `/class/teacher/console.json`: what the console shows, for its refreshes.
 * - `/class/teacher/submissions/:id`: one submission with every grade, hidden scenarios named, each run linked to
 *   its report and replay; re-grade and cancel.
 * - `/class/teacher/students/:id`: a student's history.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { RouteModule, WebContext } from "../app.ts";
import { editAccess, loginHref } from "../auth.tsx";
import { Island } from "../components/island.tsx";
import ClassActions from "../islands/class_actions.tsx";
import ClassConsole, {
  type ConsoleData,
  type ConsoleJob,
  type ConsoleRank,
  type ConsoleSubmission,
} from "../islands/class_console.tsx";
import type {
  Assignment,
  Submission,
  SubmissionGrade,
} from "../../server/mod.ts";
import {
  callApi,
  classPage,
  errorOf,
  score,
  shortTime,
} from "./class_common.tsx";

const REFRESH_MS = 1000;
const LATEST = 20;
const enc = encodeURIComponent;

type History = {
  student: { id: string; name: string; group: string };
  submissions: { submission: Submission; grade: SubmissionGrade | null }[];
};

/** The teacher's CSRF token, or undefined when this request is not the teacher's. */
function teacherCsrf(c: Context, context: WebContext): string | undefined {
  const access = editAccess(c, context);
  return access.locked ? access.csrf : undefined;
}

function loginFirst(c: Context): Response {
  return classPage(
    c,
    "Teacher console",
    "none",
    <p data-field="login-needed">
      The teacher console needs the teacher's login:{" "}
      <a href={loginHref(c.req.path)} data-field="login-link">log in</a>{" "}
      (it brings you back here).
    </p>,
    401,
  );
}

/** Everything the console shows, from the teacher API. */
async function consoleData(app: Hono, c: Context): Promise<ConsoleData> {
  const queue = await callApi<
    {
      workers: number;
      waiting: ConsoleJob[];
      running: ConsoleJob[];
      failed: ConsoleJob[];
    }
  >(app, c, "/api/class/teacher/queue");
  const assignments = await callApi<{ assignments: Assignment[] }>(
    app,
    c,
    "/api/class/teacher/assignments",
  );
  const histories = (await callApi<{ histories: History[] }>(
    app,
    c,
    "/api/class/teacher/histories",
  )).body.histories ?? [];
  const boards = (assignments.body.assignments ?? []).map((a) => {
    const board: ConsoleRank[] = histories.map((h) => {
      const mine = h.submissions.filter((x) =>
        x.submission.assignmentId === a.id
      );
      let best: (typeof mine)[number] | undefined;
      for (const x of mine) {
        if (x.grade && (!best || x.grade.score > best.grade!.score)) best = x;
      }
      const latest = mine.filter((x) => x.grade).at(-1);
      return {
        studentId: h.student.id,
        student: h.student.name,
        group: h.student.group,
        attempts: mine.length,
        best: best?.grade?.score ?? null,
        bestPass: best?.grade?.pass ?? null,
        bestSubmission: best?.submission.id ?? null,
        latest: latest?.grade?.score ?? null,
        late: mine.some((x) => x.submission.late),
      };
    });
    // Graded first, by best score (then passing first); the ungraded by name.
    board.sort((x, y) =>
      (y.best ?? -1) - (x.best ?? -1) ||
      Number(y.bestPass ?? 0) - Number(x.bestPass ?? 0) ||
      x.student.localeCompare(y.student)
    );
    return {
      id: a.id,
      title: a.title,
      passMark: a.passMark,
      hidden: a.scenarios.filter((s) => s.hidden).length,
      released: a.released,
      due: a.due ?? null,
      board,
    };
  });
  const latest: ConsoleSubmission[] = histories.flatMap((h) =>
    h.submissions.map(({ submission: s, grade }) => ({
      id: s.id,
      studentId: h.student.id,
      student: h.student.name,
      assignment: s.assignmentId,
      number: s.number,
      createdAt: s.createdAt,
      status: s.status,
      score: grade?.score ?? null,
      pass: grade?.pass ?? null,
      late: s.late,
    }))
  ).sort((x, y) => y.createdAt.localeCompare(x.createdAt)).slice(0, LATEST);
  return {
    workers: queue.body.workers ?? 0,
    waiting: queue.body.waiting ?? [],
    running: queue.body.running ?? [],
    failed: queue.body.failed ?? [],
    assignments: boards,
    latest,
    students: histories.map(({ student: s }) => ({
      id: s.id,
      name: s.name,
      group: s.group,
    })),
    at: new Date().toISOString(),
  };
}

function GradeTable({ grade }: { grade: SubmissionGrade }) {
  return (
    <div class="table-scroll">
      <table class="class-card-table" data-field="grade">
        <thead>
          <tr>
            <th>Case</th>
            <th>Scenario</th>
            <th>Weight</th>
            <th>Score</th>
            <th>Outcome</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {grade.scenarios.map((r) => (
            <tr>
              <td>{r.index + 1}</td>
              <td>
                {r.scenario.title} <span class="muted">({r.scenario.id})</span>
                {r.hidden ? " · hidden" : ""}
              </td>
              <td>{r.weight}</td>
              <td>
                {r.score.toFixed(1)}{" "}
                <span class={r.pass ? "pass" : "fail"}>
                  {r.pass ? "✓ pass" : "✗ fail"}
                </span>
              </td>
              <td>
                {r.outcome}
                {r.outcomeMessage ? `: ${r.outcomeMessage}` : ""}
                {r.interference ? " (interference)" : ""}
              </td>
              <td>
                <a href={`/runs/${enc(r.runId)}`} data-field="report-link">
                  report
                </a>{" "}
                ·{" "}
                <a
                  href={`/runs/${enc(r.runId)}/replay`}
                  data-field="replay-link"
                >
                  replay
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Registers the teacher pages. */
export const classTeacherRoutes: RouteModule = (app, context) => {
  app.get("/class/teacher", async (c) => {
    const csrf = teacherCsrf(c, context);
    if (csrf === undefined) return loginFirst(c);
    const data = await consoleData(app, c);
    return classPage(
      c,
      "Teacher console",
      "teacher",
      <>
        <p class="muted">
          Updates live. <a href="/logout">Log out</a>
        </p>
        <Island
          name="class_console"
          component={ClassConsole}
          props={{ data, csrf, refreshMs: REFRESH_MS }}
        />
      </>,
    );
  });

  app.get("/class/teacher/console.json", async (c) => {
    if (teacherCsrf(c, context) === undefined) {
      return c.json({ error: "teacher login needed: log in at /login" }, 401);
    }
    return c.json(await consoleData(app, c));
  });

  app.get("/class/teacher/submissions/:id", async (c) => {
    const csrf = teacherCsrf(c, context);
    if (csrf === undefined) return loginFirst(c);
    const id = c.req.param("id");
    const answer = await callApi<
      {
        submission: Submission;
        job: ConsoleJob & { state: string } | null;
        grades: SubmissionGrade[];
      }
    >(app, c, `/api/class/teacher/submissions/${enc(id)}`);
    if (answer.status !== 200) {
      return classPage(
        c,
        "Not found",
        "teacher",
        <p class="error" role="alert">
          {errorOf(answer)}. <a href="/class/teacher">Back to the console</a>
        </p>,
        404,
      );
    }
    const { submission: s, job, grades } = answer.body;
    const live = job && (job.state === "queued" || job.state === "running");
    return classPage(
      c,
      `${s.student}: submission ${s.number} to ${s.assignmentId}`,
      "teacher",
      <>
        <p data-field="submission-meta">
          <code>{s.id}</code> · submitted {shortTime(s.createdAt)}
          {s.late ? " (late)" : ""} · files{" "}
          {s.files.map((f) => f.path).join(", ")} · started as{" "}
          <code>{s.start.kind}</code> <code>{s.start.entry}</code> · attempt
          {" "}
          {s.attempt} · status <strong data-field="status">{s.status}</strong>
          {s.error ? `: ${s.error}` : ""}
          {job?.error ? ` (job: ${job.error})` : ""} ·{" "}
          <a href={`/class/teacher/students/${enc(s.studentId)}`}>
            {s.student}'s history
          </a>
        </p>
        <Island
          name="class_actions"
          component={ClassActions}
          props={{
            csrf,
            actions: [
              {
                label: "Re-grade",
                url: `/api/class/teacher/submissions/${enc(s.id)}/regrade`,
              },
              ...(live
                ? [{
                  label: "Cancel",
                  url: `/api/class/teacher/jobs/${enc(job.id)}/cancel`,
                }]
                : []),
            ],
          }}
        />
        {grades.length === 0 && <p class="muted">Not graded yet.</p>}
        {[...grades].reverse().map((g) => (
          <section data-attempt={g.attempt}>
            <h2>
              Attempt {g.attempt}: {score(g.score)}{" "}
              <span class={g.pass ? "pass" : "fail"}>
                {g.pass ? "✓ pass" : "✗ fail"}
              </span>
            </h2>
            <p class="muted">
              graded {shortTime(g.gradedAt)} in {Math.round(g.seconds)}{" "}
              s · pass mark {g.passMark}
              {g.late ? " · late" : ""}
            </p>
            <GradeTable grade={g} />
          </section>
        ))}
      </>,
    );
  });

  app.get("/class/teacher/students/:id", async (c) => {
    const csrf = teacherCsrf(c, context);
    if (csrf === undefined) return loginFirst(c);
    const answer = await callApi<History>(
      app,
      c,
      `/api/class/teacher/students/${enc(c.req.param("id"))}/history`,
    );
    if (answer.status !== 200) {
      return classPage(
        c,
        "Not found",
        "teacher",
        <p class="error" role="alert">
          {errorOf(answer)}. <a href="/class/teacher">Back to the console</a>
        </p>,
        404,
      );
    }
    const { student, submissions } = answer.body;
    return classPage(
      c,
      `${student.name}${student.group ? ` (${student.group})` : ""}`,
      "teacher",
      <>
        <Island
          name="class_actions"
          component={ClassActions}
          props={{
            csrf,
            actions: [{
              label: "New sign-in token",
              url: `/api/class/teacher/students/${enc(student.id)}/token`,
              confirm:
                `Give ${student.name} a new token? The old one stops working and signs them out.`,
              reload: false,
            }],
          }}
        />
        {submissions.length === 0
          ? <p class="muted">No submission yet.</p>
          : (
            <div class="table-scroll">
              <table data-field="history">
                <thead>
                  <tr>
                    <th>Submission</th>
                    <th>Assignment</th>
                    <th>When</th>
                    <th>Status</th>
                    <th>Score</th>
                    <th>Per scenario</th>
                  </tr>
                </thead>
                <tbody>
                  {[...submissions].reverse().map((
                    { submission: s, grade },
                  ) => (
                    <tr data-submission={s.id}>
                      <td>
                        <a href={`/class/teacher/submissions/${enc(s.id)}`}>
                          {s.assignmentId} #{s.number}
                        </a>
                      </td>
                      <td>{s.assignmentId}</td>
                      <td>
                        {shortTime(s.createdAt)}
                        {s.late ? " (late)" : ""}
                      </td>
                      <td>{s.status}</td>
                      <td>
                        {grade
                          ? (
                            <>
                              {score(grade.score)}{" "}
                              <span class={grade.pass ? "pass" : "fail"}>
                                {grade.pass ? "✓ pass" : "✗ fail"}
                              </span>
                            </>
                          )
                          : "–"}
                      </td>
                      <td>
                        {grade?.scenarios.map((r) => (
                          <>
                            <a href={`/runs/${enc(r.runId)}`}>
                              {r.scenario.id}
                            </a>{" "}
                            {r.score.toFixed(1)}
                            <br />
                          </>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </>,
    );
  });
};
