/**
 * On a class server, the run pages and APIs of the web app (`/runs…`, `/api/runs…`, `/leaderboard…`,
 * `/api/live…`) show every stored run, hidden scenarios' included: they need the teacher's login there.
 *
 * @module
 */

import type { Hono } from "hono";
import type { TeacherCheck } from "./class_api.ts";

/** The path prefixes only the teacher may open on a class server. */
export const TEACHER_ONLY_PREFIXES = [
  "/runs",
  "/api/runs",
  "/leaderboard",
  "/api/live",
] as const;

/** Registers the guard; call before the routes it guards. */
export function guardRunPages(app: Hono, teacher: TeacherCheck): void {
  app.use("*", async (c, next) => {
    const path = c.req.path;
    const guarded = TEACHER_ONLY_PREFIXES.some((p) =>
      path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`)
    );
    if (!guarded || teacher(c) !== undefined) return await next();
    if (
      !path.startsWith("/api/") &&
      (c.req.header("accept") ?? "").includes("html")
    ) {
      return c.redirect("/login", 303);
    }
    return c.json({ error: "teacher login needed: log in at /login" }, 401);
  });
}
