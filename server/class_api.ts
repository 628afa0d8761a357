/**
 * The class server's JSON API, mounted on the web app under `/api/class/`. Every response is JSON except the
 * status stream (`text/event-stream`) and the grade export (`text/csv`); errors are `{ "error": "…" }` with a 4xx.
 *
 * Students authenticate with their token, as `Authorization: Bearer <token>` (CLIs, CI) or by signing in
 * (`POST /api/class/signin {"token"}`), which sets an HttpOnly, SameSite=Strict session cookie and returns a CSRF
 * token that every state-changing request made with the cookie must send as `x-csrf-token`.
 *
 * | method and path                                   | who     | what                                                 |
 * | ------------------------------------------------- | ------- | ---------------------------------------------------- |
 * | `POST /api/class/signin` `{token}`                | student | session cookie; `{student, csrf}`                    |
 * | `POST /api/class/signout`                         | student | ends the session                                     |
 * | `GET /api/class/me`                               | student | `{student: {name, group}}`                           |
 * | `GET /api/class/assignments`                      | student | my assignments: scenarios (hidden ones as cases), attempts used, best, latest |
 * | `POST /api/class/submissions` (multipart)         | student | fields `assignment`, `file` (a file or a .zip), optional `kind` (python3, deno, node-red) and `entry`; 202 `{submission}` |
 * | `GET /api/class/submissions[?assignment=A]`       | student | my submissions                                       |
 * | `GET /api/class/submissions/:id`                  | student | one submission: status, queue position and estimate, progress, score card |
 * | `GET /api/class/submissions/:id/events`           | student | SSE: `status` events with the same JSON on each change, until graded, failed or cancelled |
 * | `GET /api/class/teacher/session`                  | teacher | `{csrf}` for the teacher's state-changing requests   |
 * | `GET /api/class/teacher/queue`                    | teacher | `{workers, waiting, running, failed}` jobs           |
 * | `POST /api/class/teacher/jobs/:id/cancel`         | teacher | cancels a waiting or running job                     |
 * | `POST /api/class/teacher/submissions/:id/regrade` | teacher | grades a submission again (new attempt)              |
 * | `GET /api/class/teacher/submissions/:id`          | teacher | the submission, its job and every grade (hidden names and run ids included) |
 * | `GET /api/class/teacher/assignments`              | teacher | every assignment in full                             |
 * | `POST /api/class/teacher/assignments` (JSON)      | teacher | adds or replaces an assignment (the YAML file's fields) |
 * | `POST /api/class/teacher/assignments/:id/regrade` | teacher | grades every submission of it again; `{queued}`      |
 * | `POST /api/class/teacher/assignments/:id/release` | teacher | releases its hidden scenarios to students            |
 * | `GET /api/class/teacher/assignments/:id/grades.csv` | teacher | grade export                                       |
 * | `GET /api/class/teacher/students`                 | teacher | the roster (no tokens)                               |
 * | `GET /api/class/teacher/students/:id/history`     | teacher | a student's submissions with grades                  |
 * | `GET /api/class/teacher/histories`                | teacher | every student's submissions with grades (one answer) |
 * | `POST /api/class/teacher/students/:id/token`      | teacher | a new sign-in token, shown once; the old one and its sessions end |
 *
 * The teacher is who holds the web app's teacher login (`/login`); the caller passes how to tell, so that this
 * module needs nothing of the web layer above it.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { parseAssignment } from "./assignment.ts";
import { ClassRequestError, type ClassServer } from "./class_server.ts";
import type { Student } from "./roster.ts";
import { SUBMISSION_LIMITS } from "./submission_files.ts";
import type { Kv } from "../store/mod.ts";

/** The student session cookie's name. */
export const STUDENT_COOKIE = "fishtank_student";
/** The path prefix of the class API; the web app's own login and JSON rules leave it to this module. */
export const CLASS_API_PREFIX = "/api/class/";
const SESSION_MS = 12 * 3600 * 1000;
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** How the API tells the teacher: their login's CSRF token, or undefined when the request is not the teacher's. */
export type TeacherCheck = (c: Context) => { csrf: string } | undefined;

/** One signed-in student's session. */
export interface StudentSession {
  studentId: string;
  csrf: string;
  expires: number;
}

/**
 * The students' sign-in sessions (cookie id → student), kept in the class store, so that a server restarted in the
 * middle of a lesson signs nobody out. The store keeps each cookie id's SHA-256 only, and each session expires with
 * KV's own expiry too. Shared by the API and the run pages' guard (`run_pages_guard.ts`), so that both know the same
 * students.
 */
export class StudentSessions {
  readonly #kv: Kv;

  /** Sessions on `kv` (the class store's connection). */
  constructor(kv: Kv) {
    this.#kv = kv;
  }

  /** Opens a session for a student; returns the cookie's id and the CSRF token. */
  async open(
    studentId: string,
    now = Date.now(),
  ): Promise<{ id: string; csrf: string }> {
    const id = randomId();
    const csrf = randomId();
    const session: StudentSession = {
      studentId,
      csrf,
      expires: now + SESSION_MS,
    };
    await this.#kv.set(await sessionKey(id), session, {
      expireIn: SESSION_MS,
    });
    return { id, csrf };
  }

  /** The live session of a cookie id; an expired one is dropped. */
  async get(
    id: string,
    now = Date.now(),
  ): Promise<StudentSession | undefined> {
    const key = await sessionKey(id);
    const session = (await this.#kv.get<StudentSession>(key)).value;
    if (session === null) return undefined;
    if (session.expires <= now) {
      await this.#kv.delete(key);
      return undefined;
    }
    return session;
  }

  /** Ends a session. */
  async close(id: string): Promise<void> {
    await this.#kv.delete(await sessionKey(id));
  }

  /** Ends every session of a student (their token was replaced); returns how many there were. */
  async closeStudent(studentId: string): Promise<number> {
    let n = 0;
    for await (
      const entry of this.#kv.list<StudentSession>({ prefix: SESSIONS })
    ) {
      if (entry.value.studentId === studentId) {
        await this.#kv.delete(entry.key);
        n++;
      }
    }
    return n;
  }
}

const SESSIONS: Deno.KvKey = ["class", "session"];

async function sessionKey(id: string): Promise<Deno.KvKey> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(id),
  );
  return [...SESSIONS, new Uint8Array(digest)];
}

/**
 * The student a read-only request comes from (a Bearer token, or the session cookie), or undefined. No CSRF check:
 * for GET requests only, such as the run pages'.
 */
export async function requestStudent(
  c: Context,
  server: ClassServer,
  sessions: StudentSessions,
): Promise<Student | undefined> {
  const auth = c.req.header("authorization");
  if (auth !== undefined) {
    const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    return token ? await server.store.studentByToken(token) : undefined;
  }
  const id = getCookie(c, STUDENT_COOKIE);
  const session = id === undefined ? undefined : await sessions.get(id);
  return session && await server.store.getStudent(session.studentId);
}

/** Options of {@linkcode classApiRoutes}. */
export interface ClassApiOptions {
  server: ClassServer;
  teacher: TeacherCheck;
  /** The students' sessions; give the same to the run pages' guard. Default: the API's own. */
  sessions?: StudentSessions;
  /** How often the status stream looks for a change, ms. Default 250. */
  pollMs?: number;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}

function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** Registers the class API on `app`. */
export function classApiRoutes(app: Hono, options: ClassApiOptions): void {
  const { server, teacher } = options;
  const pollMs = options.pollMs ?? 250;
  const sessions = options.sessions ?? new StudentSessions(server.store.kv);
  let failures: number[] = [];

  const fail = (
    c: Context,
    status: 400 | 401 | 403 | 404 | 409 | 413 | 429,
    error: string,
  ) => c.json({ error }, status);

  /** The student making the request, or a response refusing it. */
  const studentOf = async (
    c: Context,
  ): Promise<Student | Response> => {
    const auth = c.req.header("authorization");
    if (auth !== undefined) {
      const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
      const student = token
        ? await server.store.studentByToken(token)
        : undefined;
      return student ??
        fail(c, 401, "unknown token: ask your teacher for yours");
    }
    const id = getCookie(c, STUDENT_COOKIE);
    const session = id === undefined ? undefined : await sessions.get(id);
    if (session === undefined) {
      return fail(
        c,
        401,
        "sign in first: POST /api/class/signin with your token, or send Authorization: Bearer <token>",
      );
    }
    if (!SAFE.has(c.req.method)) {
      const csrf = c.req.header("x-csrf-token");
      if (csrf === undefined || !sameText(csrf, session.csrf)) {
        return fail(c, 403, "missing or wrong CSRF token (x-csrf-token)");
      }
    }
    const student = await server.store.getStudent(session.studentId);
    return student ?? fail(c, 401, "this student is no longer on the roster");
  };

  const teacherOf = (c: Context): Response | undefined => {
    const login = teacher(c);
    if (login === undefined) {
      return fail(c, 401, "teacher login needed: log in at /login");
    }
    if (!SAFE.has(c.req.method)) {
      const csrf = c.req.header("x-csrf-token");
      if (csrf === undefined || !sameText(csrf, login.csrf)) {
        return fail(
          c,
          403,
          "missing or wrong CSRF token (x-csrf-token; GET /api/class/teacher/session gives it)",
        );
      }
    }
    return undefined;
  };

  const refusal = (c: Context, error: unknown) => {
    if (error instanceof ClassRequestError) {
      return fail(c, error.status, error.message);
    }
    throw error;
  };

  // Students

  app.post("/api/class/signin", async (c) => {
    const now = Date.now();
    failures = failures.filter((t) => t > now - 60_000);
    if (failures.length >= 20) {
      return fail(c, 429, "too many wrong tokens: wait a minute");
    }
    let token: unknown;
    try {
      token = (await c.req.json<{ token?: unknown }>()).token;
    } catch {
      return fail(c, 400, 'expected a JSON body {"token": "ft_…"}');
    }
    const student = typeof token === "string"
      ? await server.store.studentByToken(token)
      : undefined;
    if (student === undefined) {
      failures.push(now);
      return fail(c, 401, "unknown token: ask your teacher for yours");
    }
    const { id, csrf } = await sessions.open(student.id, now);
    setCookie(c, STUDENT_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_MS / 1000,
    });
    return c.json({
      student: { name: student.name, group: student.group },
      csrf,
    });
  });

  app.post("/api/class/signout", async (c) => {
    const id = getCookie(c, STUDENT_COOKIE);
    if (id !== undefined) await sessions.close(id);
    deleteCookie(c, STUDENT_COOKIE, { path: "/" });
    return c.json({ signedOut: true });
  });

  app.get("/api/class/me", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    return c.json({ student: { name: student.name, group: student.group } });
  });

  app.get("/api/class/assignments", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    return c.json({ assignments: await server.assignmentsFor(student) });
  });

  app.post("/api/class/submissions", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > SUBMISSION_LIMITS.uploadBytes + 64 * 1024) {
      return fail(
        c,
        413,
        `upload too large: at most ${SUBMISSION_LIMITS.uploadBytes} bytes`,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody();
    } catch {
      return fail(
        c,
        400,
        "expected a multipart/form-data body with fields assignment and file",
      );
    }
    const file = body["file"];
    const assignment = body["assignment"];
    if (!(file instanceof File) || typeof assignment !== "string") {
      return fail(
        c,
        400,
        'expected the fields "assignment" (text) and "file" (a file)',
      );
    }
    const text = (name: string) =>
      typeof body[name] === "string" && body[name] !== ""
        ? body[name] as string
        : undefined;
    try {
      const kind = text("kind");
      const entry = text("entry");
      const submission = await server.submit(student, {
        assignment,
        fileName: file.name,
        bytes: new Uint8Array(await file.arrayBuffer()),
        ...(kind ? { kind } : {}),
        ...(entry ? { entry } : {}),
      });
      return c.json(
        { submission: await server.studentView(student, submission.id) },
        202,
      );
    } catch (error) {
      return refusal(c, error);
    }
  });

  app.get("/api/class/submissions", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    const assignment = c.req.query("assignment");
    return c.json({
      submissions: await server.studentSubmissions(student, assignment),
    });
  });

  app.get("/api/class/submissions/:id", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    const view = await server.studentView(student, c.req.param("id"));
    return view
      ? c.json({ submission: view })
      : fail(c, 404, `no submission "${c.req.param("id")}" of yours`);
  });

  app.get("/api/class/submissions/:id/events", async (c) => {
    const student = await studentOf(c);
    if (student instanceof Response) return student;
    const id = c.req.param("id");
    const first = await server.studentView(student, id);
    if (first === undefined) {
      return fail(c, 404, `no submission "${id}" of yours`);
    }
    return streamSSE(c, async (stream) => {
      let last = "";
      let quiet = 0;
      let n = 0;
      let closed = false;
      stream.onAbort(() => {
        closed = true;
      });
      while (!closed) {
        const view = await server.studentView(student, id);
        if (view === undefined) break;
        const text = JSON.stringify(view);
        if (text !== last) {
          last = text;
          quiet = 0;
          await stream.writeSSE({
            event: "status",
            data: text,
            id: String(n++),
          });
          if (["graded", "failed", "cancelled"].includes(view.status)) break;
        } else if (++quiet * pollMs >= 15_000) {
          quiet = 0;
          await stream.write(": keep-alive\n\n");
        }
        await stream.sleep(pollMs);
      }
    });
  });

  // Teacher

  app.get("/api/class/teacher/session", (c) => {
    const login = teacher(c);
    return login
      ? c.json({ csrf: login.csrf })
      : fail(c, 401, "teacher login needed: log in at /login");
  });

  app.get(
    "/api/class/teacher/queue",
    async (c) => teacherOf(c) ?? c.json(await server.teacherQueue()),
  );

  app.post("/api/class/teacher/jobs/:id/cancel", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const ok = await server.cancel(c.req.param("id"));
    return ok
      ? c.json({ cancelled: c.req.param("id") })
      : fail(c, 409, `job "${c.req.param("id")}" is not waiting or running`);
  });

  app.post("/api/class/teacher/submissions/:id/regrade", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const s = await server.regrade(c.req.param("id"));
    return s
      ? c.json({ submission: s }, 202)
      : fail(c, 404, `no submission "${c.req.param("id")}"`);
  });

  app.post("/api/class/teacher/students/:id/token", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const id = c.req.param("id");
    const token = await server.store.resetToken(id);
    if (token === undefined) return fail(c, 404, `no student "${id}"`);
    // The old token no longer signs in, and whoever signed in with it is signed out.
    const signedOut = await sessions.closeStudent(id);
    return c.json({ token, signedOut });
  });

  app.get("/api/class/teacher/submissions/:id", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const s = await server.teacherSubmission(c.req.param("id"));
    return s ? c.json(s) : fail(c, 404, `no submission "${c.req.param("id")}"`);
  });

  app.get(
    "/api/class/teacher/assignments",
    async (c) =>
      teacherOf(c) ??
        c.json({ assignments: await server.store.listAssignments() }),
  );

  app.post("/api/class/teacher/assignments", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    try {
      const a = parseAssignment(await c.req.json());
      return c.json({ assignment: await server.putAssignment(a) }, 201);
    } catch (error) {
      return fail(
        c,
        400,
        error instanceof Error ? error.message : String(error),
      );
    }
  });

  app.post("/api/class/teacher/assignments/:id/regrade", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const a = await server.store.getAssignment(c.req.param("id"));
    if (a === undefined) {
      return fail(c, 404, `no assignment "${c.req.param("id")}"`);
    }
    return c.json({ queued: await server.regradeAssignment(a.id) }, 202);
  });

  app.post("/api/class/teacher/assignments/:id/release", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const a = await server.release(c.req.param("id"));
    return a
      ? c.json({ assignment: a })
      : fail(c, 404, `no assignment "${c.req.param("id")}"`);
  });

  app.get("/api/class/teacher/assignments/:id/grades.csv", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const csv = await server.gradesCsv(c.req.param("id"));
    if (csv === undefined) {
      return fail(c, 404, `no assignment "${c.req.param("id")}"`);
    }
    return c.body(csv, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${
        c.req.param("id")
      }-grades.csv"`,
    });
  });

  app.get("/api/class/teacher/students", async (c) =>
    teacherOf(c) ?? c.json({
      students: (await server.store.listStudents()).map((s) => ({
        id: s.id,
        name: s.name,
        group: s.group,
      })),
    }));

  app.get(
    "/api/class/teacher/histories",
    async (c) =>
      teacherOf(c) ?? c.json({ histories: await server.histories() }),
  );

  app.get("/api/class/teacher/students/:id/history", async (c) => {
    const refused = teacherOf(c);
    if (refused) return refused;
    const h = await server.history(c.req.param("id"));
    return h ? c.json(h) : fail(c, 404, `no student "${c.req.param("id")}"`);
  });
}
