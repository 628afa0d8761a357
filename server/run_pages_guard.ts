/**
 * On a class server, the run pages and APIs of the web app (`/runs…`, `/api/runs…`, `/leaderboard…`,
 * `/api/live…`) show every stored run, hidden scenarios' included: they need the teacher's login there. One exception:
 * a signed-in student (session cookie or Bearer token) may open the report and replay of a run on their own score
 * cards (`/runs/:id`, `/runs/:id/replay`, `/api/runs/:id`, `/api/runs/:id/{series,messages,replay}`): a visible
 * scenario of their own submission, or a hidden one the teacher released. Any other run gets the same 404 whether it
 * exists or not, so that a refusal says nothing of the run (not even its scenario's name).
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { TeacherCheck } from "./class_api.ts";
import type { Student } from "./roster.ts";

/** The path prefixes only the teacher may open on a class server (save a student's own runs, see the module). */
export const TEACHER_ONLY_PREFIXES = [
  "/runs",
  "/api/runs",
  "/leaderboard",
  "/api/live",
] as const;

/** The run paths a student may open for their own runs; group 1 is the run id. */
const STUDENT_RUN_PATHS = [
  /^\/runs\/([^/]+)$/,
  /^\/runs\/([^/]+)\/replay$/,
  /^\/api\/runs\/([^/]+)$/,
  /^\/api\/runs\/([^/]+)\/(?:series|messages|replay)$/,
];

/** Options of {@linkcode guardRunPages}. */
export interface RunPagesGuardOptions {
  /** Who is the teacher. */
  teacher: TeacherCheck;
  /** Without it, every guarded page is the teacher's alone. */
  students?: {
    /** The student a request comes from (cookie or Bearer token), if any. */
    student: (c: Context) => Promise<Student | undefined>;
    /** Whether the student may open the run (see `ClassServer.studentMayOpenRun`). */
    mayOpenRun: (student: Student, runId: string) => Promise<boolean>;
  };
}

/** The run id of a path a student may be allowed, or undefined. */
export function studentRunId(path: string): string | undefined {
  for (const pattern of STUDENT_RUN_PATHS) {
    const raw = pattern.exec(path)?.[1];
    if (raw === undefined) continue;
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Registers the guard; call before the routes it guards. */
export function guardRunPages(app: Hono, options: RunPagesGuardOptions): void {
  const { teacher, students } = options;
  app.use("*", async (c, next) => {
    const path = c.req.path;
    const guarded = TEACHER_ONLY_PREFIXES.some((p) =>
      path === p || path.startsWith(`${p}/`)
    );
    if (!guarded || teacher(c) !== undefined) return await next();
    const html = !path.startsWith("/api/") &&
      (c.req.header("accept") ?? "").includes("html");
    const runId = studentRunId(path);
    const student = students && runId !== undefined && c.req.method === "GET"
      ? await students.student(c)
      : undefined;
    if (student !== undefined && runId !== undefined) {
      if (await students!.mayOpenRun(student, runId)) return await next();
      const error =
        "no such run among your submissions' score cards (hidden scenarios open once your teacher releases them)";
      return html
        ? c.html(
          `<!doctype html><meta charset="utf-8"><title>Run not found</title><p>${error}. <a href="/class">Back to my assignments</a></p>`,
          404,
        )
        : c.json({ error }, 404);
    }
    if (html) {
      const back = new URL(c.req.url);
      return c.redirect(
        `/login?next=${encodeURIComponent(back.pathname + back.search)}`,
        303,
      );
    }
    return c.json({ error: "teacher login needed: log in at /login" }, 401);
  });
}
