/**
 * The class server's student pages, on top of the class JSON API (called in-process with the student's cookies, so
 * a page holds only what the API gives that student):
 *
 * - `/class`: sign in with the token; then my assignments (open or due, attempts left, best and latest score) and my
 *   submissions.
 * - `/class/assignments/:id`: the assignment (visible scenarios by name, hidden ones as cases), the submission form
 *   (one file, or a zip with a start command from the teacher's list) and my submissions to it.
 * - `/class/submissions/:id`: the submission's status, live (the `class_status` island on the API's status stream).
 * - `POST /class/signin`, `POST /class/signout`, `POST /class/assignments/:id/submit`: the forms, passed on to the
 *   API (the submission with the CSRF token the page put in the form). They work without JavaScript.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { RouteModule } from "../app.ts";
import { Island } from "../components/island.tsx";
import ClassStatus from "../islands/class_status.tsx";
import type { StudentSubmissionView } from "../../server/mod.ts";
import {
  callApi,
  classPage,
  errorOf,
  score,
  shortTime,
  STUDENT_CSRF_COOKIE,
} from "./class_common.tsx";

/** An assignment as `GET /api/class/assignments` gives it to a student. */
interface StudentAssignment {
  id: string;
  title: string;
  passMark: number;
  opens: string | null;
  due: string | null;
  maxAttempts: number | null;
  attemptsUsed: number;
  commands: string[];
  released: boolean;
  scenarios: (
    | { case: number; hidden: true; label: string; weight: number }
    | { case: number; hidden: boolean; scenario: string; weight: number }
  )[];
  best: number | null;
  latest: number | null;
}

type Me = { student: { name: string; group: string } };

const COMMAND_WORDS: Record<string, string> = {
  python3: "python3 FILE (a Python controller)",
  deno: "a .ts or .js file, run by Deno",
  "node-red": "a Node-RED flow (.json)",
};

function openState(a: StudentAssignment, now = Date.now()): string {
  if (a.opens && now < Date.parse(a.opens)) {
    return `opens ${shortTime(a.opens)}`;
  }
  if (a.due && now > Date.parse(a.due)) {
    return `was due ${shortTime(a.due)} (late submissions are marked late)`;
  }
  return a.due ? `open, due ${shortTime(a.due)}` : "open, no due date";
}

function attemptsLeft(a: StudentAssignment): string {
  return a.maxAttempts === null
    ? `${a.attemptsUsed} used, no limit`
    : `${Math.max(0, a.maxAttempts - a.attemptsUsed)} of ${a.maxAttempts} left`;
}

function SignIn({ error }: { error?: string }) {
  return (
    <form
      method="post"
      action="/class/signin"
      class="class-form"
      data-field="signin"
    >
      {error && <p class="error" role="alert" data-field="error">{error}</p>}
      <label for="token">
        Your token (from your teacher, starts with <code>ft_</code>)
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
        />
      </label>
      <p>
        <button type="submit">Sign in</button>
      </p>
      <p class="muted">
        Teachers:{" "}
        <a href="/login?next=%2Fclass%2Fteacher">log in</a>, then open the{" "}
        <a href="/class/teacher">teacher console</a>.
      </p>
    </form>
  );
}

function SubmissionRows(
  { submissions }: { submissions: StudentSubmissionView[] },
) {
  if (submissions.length === 0) {
    return <p class="muted" data-field="no-submissions">No submission yet.</p>;
  }
  return (
    <div class="table-scroll">
      <table data-field="submissions">
        <thead>
          <tr>
            <th>#</th>
            <th>Assignment</th>
            <th>Submitted</th>
            <th>Status</th>
            <th>Score</th>
          </tr>
        </thead>
        <tbody>
          {[...submissions].reverse().map((s) => (
            <tr data-submission={s.id}>
              <td>
                <a href={`/class/submissions/${encodeURIComponent(s.id)}`}>
                  {s.number}
                </a>
              </td>
              <td>{s.assignment}</td>
              <td>
                {shortTime(s.createdAt)}
                {s.late ? " (late)" : ""}
              </td>
              <td>{s.status}</td>
              <td>
                {s.grade
                  ? (
                    <>
                      {score(s.grade.score)}{" "}
                      <span class={s.grade.pass ? "pass" : "fail"}>
                        {s.grade.pass ? "✓ pass" : "✗ fail"}
                      </span>
                    </>
                  )
                  : "–"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Ends with the sign-in page when the API does not know the student. */
async function signedIn(
  app: Hono,
  c: Context,
): Promise<Me["student"] | undefined> {
  const me = await callApi<Me>(app, c, "/api/class/me");
  return me.status === 200 ? me.body.student : undefined;
}

function signInPage(c: Context, error?: string, status: 200 | 401 | 429 = 200) {
  return classPage(
    c,
    "Sign in",
    "none",
    <SignIn {...(error ? { error } : {})} />,
    status,
  );
}

async function assignmentPage(
  app: Hono,
  c: Context,
  id: string,
  error?: { text: string; status: 400 | 403 | 404 | 409 | 413 | 429 },
): Promise<Response> {
  const student = await signedIn(app, c);
  if (student === undefined) return signInPage(c);
  const list = await callApi<{ assignments: StudentAssignment[] }>(
    app,
    c,
    "/api/class/assignments",
  );
  const a = list.body.assignments.find((x) => x.id === id);
  if (a === undefined) {
    return classPage(
      c,
      "Not found",
      "student",
      <p class="error" role="alert">
        No assignment "{id}". <a href="/class">Back to my assignments</a>
      </p>,
      404,
    );
  }
  const subs = await callApi<{ submissions: StudentSubmissionView[] }>(
    app,
    c,
    `/api/class/submissions?assignment=${encodeURIComponent(id)}`,
  );
  const csrf = getCookie(c, STUDENT_CSRF_COOKIE) ?? "";
  const noneLeft = a.maxAttempts !== null && a.attemptsUsed >= a.maxAttempts;
  return classPage(
    c,
    a.title,
    "student",
    <>
      <p data-field="assignment-state">
        {openState(a)} · pass mark {a.passMark} · attempts {attemptsLeft(a)}
        {" "}
        · best {score(a.best)} · latest {score(a.latest)}
      </p>
      <h2>Scenarios</h2>
      <ul data-field="scenarios">
        {a.scenarios.map((s) => (
          <li>
            {"label" in s
              ? <>{s.label} (hidden until your teacher releases it)</>
              : <>{s.scenario}</>} · weight {s.weight}
          </li>
        ))}
      </ul>
      <h2>Submit</h2>
      {error && (
        <p class="error" role="alert" data-field="error">{error.text}</p>
      )}
      {noneLeft
        ? (
          <p data-field="no-attempts">
            No attempts left for this assignment.
          </p>
        )
        : (
          <form
            method="post"
            action={`/class/assignments/${encodeURIComponent(a.id)}/submit`}
            enctype="multipart/form-data"
            class="class-form"
            data-field="submit-form"
          >
            <input type="hidden" name="csrf" value={csrf} />
            <label for="file">
              Your controller: one file, or a .zip of a folder
              <input id="file" name="file" type="file" required />
            </label>
            <label for="kind">
              Start it with
              <select id="kind" name="kind">
                <option value="">guess from the file name</option>
                {a.commands.map((k) => (
                  <option value={k}>{COMMAND_WORDS[k] ?? k}</option>
                ))}
              </select>
            </label>
            <label for="entry">
              In a zip: the file to start (e.g.{" "}
              <code>src/controller.py</code>; empty: the only candidate)
              <input id="entry" name="entry" type="text" />
            </label>
            <p>
              <button type="submit">Submit for grading</button>
            </p>
          </form>
        )}
      <h2>My submissions</h2>
      <SubmissionRows submissions={subs.body.submissions ?? []} />
    </>,
    error?.status ?? 200,
  );
}

/** Registers the student pages. */
export const classStudentRoutes: RouteModule = (app) => {
  app.get("/class", async (c) => {
    const student = await signedIn(app, c);
    if (student === undefined) return signInPage(c);
    const list = await callApi<{ assignments: StudentAssignment[] }>(
      app,
      c,
      "/api/class/assignments",
    );
    const subs = await callApi<{ submissions: StudentSubmissionView[] }>(
      app,
      c,
      "/api/class/submissions",
    );
    return classPage(
      c,
      "My assignments",
      "student",
      <>
        <p data-field="student">
          Signed in as <strong>{student.name}</strong>
          {student.group ? ` (${student.group})` : ""}.
        </p>
        <div class="table-scroll">
          <table data-field="assignments">
            <thead>
              <tr>
                <th>Assignment</th>
                <th>When</th>
                <th>Attempts</th>
                <th>Best</th>
                <th>Latest</th>
              </tr>
            </thead>
            <tbody>
              {list.body.assignments.map((a) => (
                <tr data-assignment={a.id}>
                  <td>
                    <a href={`/class/assignments/${encodeURIComponent(a.id)}`}>
                      {a.title}
                    </a>
                  </td>
                  <td>{openState(a)}</td>
                  <td>{attemptsLeft(a)}</td>
                  <td>{score(a.best)}</td>
                  <td>{score(a.latest)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h2>My submissions</h2>
        <SubmissionRows submissions={subs.body.submissions ?? []} />
      </>,
    );
  });

  app.post("/class/signin", async (c) => {
    const field = (await c.req.parseBody())["token"];
    const token = typeof field === "string" ? field.trim() : "";
    const answer = await callApi<{ csrf: string }>(
      app,
      c,
      "/api/class/signin",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token }),
      },
    );
    if (answer.status !== 200) {
      return signInPage(c, errorOf(answer), answer.status === 429 ? 429 : 401);
    }
    const session = answer.headers.get("set-cookie");
    if (session) c.header("set-cookie", session, { append: true });
    setCookie(c, STUDENT_CSRF_COOKIE, answer.body.csrf, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/class",
      maxAge: 12 * 3600,
    });
    return c.redirect("/class", 303);
  });

  app.post("/class/signout", async (c) => {
    const answer = await callApi(app, c, "/api/class/signout", {
      method: "POST",
    });
    const cleared = answer.headers.get("set-cookie");
    if (cleared) c.header("set-cookie", cleared, { append: true });
    deleteCookie(c, STUDENT_CSRF_COOKIE, { path: "/class" });
    return c.redirect("/class", 303);
  });

  app.get(
    "/class/assignments/:id",
    (c) => assignmentPage(app, c, c.req.param("id")),
  );

  app.post("/class/assignments/:id/submit", async (c) => {
    const id = c.req.param("id");
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody();
    } catch {
      return await assignmentPage(app, c, id, {
        text: "expected the form's fields (a file and a start command)",
        status: 400,
      });
    }
    const file = body["file"];
    if (!(file instanceof File) || file.size === 0) {
      return await assignmentPage(app, c, id, {
        text: "choose your controller's file first",
        status: 400,
      });
    }
    const form = new FormData();
    form.set("assignment", id);
    form.set("file", file, file.name);
    for (const name of ["kind", "entry"]) {
      const value = body[name];
      if (typeof value === "string" && value.trim() !== "") {
        form.set(name, value.trim());
      }
    }
    const csrf = typeof body["csrf"] === "string" ? body["csrf"] : "";
    const answer = await callApi<{ submission: StudentSubmissionView }>(
      app,
      c,
      "/api/class/submissions",
      { method: "POST", headers: { "x-csrf-token": csrf }, body: form },
    );
    if (answer.status === 202) {
      return c.redirect(
        `/class/submissions/${encodeURIComponent(answer.body.submission.id)}`,
        303,
      );
    }
    if (answer.status === 401) {
      return signInPage(c, errorOf(answer), 401);
    }
    const status = ([400, 403, 404, 409, 413, 429] as const).find((s) =>
      s === answer.status
    ) ?? 400;
    return await assignmentPage(app, c, id, { text: errorOf(answer), status });
  });

  app.get("/class/submissions/:id", async (c) => {
    const id = c.req.param("id");
    const answer = await callApi<{ submission: StudentSubmissionView }>(
      app,
      c,
      `/api/class/submissions/${encodeURIComponent(id)}`,
    );
    if (answer.status === 401) return signInPage(c);
    if (answer.status !== 200) {
      return classPage(
        c,
        "Not found",
        "student",
        <p class="error" role="alert">
          {errorOf(answer)}. <a href="/class">Back to my assignments</a>
        </p>,
        404,
      );
    }
    const view = answer.body.submission;
    return classPage(
      c,
      `Submission ${view.number} to ${view.assignment}`,
      "student",
      <>
        <p class="muted" data-field="submission-meta">
          Submitted {shortTime(view.createdAt)}
          {view.late ? " (after the due date)" : ""} · files{" "}
          {view.files.join(", ")} · started as <code>{view.start.kind}</code>
          {" "}
          <code>{view.start.entry}</code> ·{" "}
          <a href={`/class/assignments/${encodeURIComponent(view.assignment)}`}>
            the assignment
          </a>
        </p>
        <Island
          name="class_status"
          component={ClassStatus}
          props={{ view, runLinks: true }}
        />
      </>,
    );
  });
};
