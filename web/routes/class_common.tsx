/**
 * What the class server's pages share: calling the class JSON API in-process with the browser's cookies (so a page
 * shows a student exactly what the API gives that student, and nothing the API would not), the page frame with the
 * class navigation, and small formatting helpers.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import { Layout } from "../components/layout.tsx";

/** The class pages' path prefix: their routes check who may change things themselves (see `WebContext.selfGuarded`). */
export const CLASS_PAGES_PREFIX = "/class/";
/**
 * The cookie holding the student's CSRF token for the class API, so that forms can carry it (the API gives it once,
 * at sign-in). HttpOnly and SameSite=Strict: only this server's own pages put it in a form.
 */
export const STUDENT_CSRF_COOKIE = "fishtank_student_csrf";

/** An API answer: status, headers and the parsed JSON body (undefined when not JSON). */
export interface ApiAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Calls the class API on `app` in-process, as the browser behind `c` (its cookies), with `init`'s method, headers
 * and body. The request names this server's own origin, as the API's same-origin rule wants.
 */
export async function callApi<T>(
  app: Hono,
  c: Context,
  path: string,
  init: { method?: string; headers?: HeadersInit; body?: BodyInit } = {},
): Promise<ApiAnswer<T>> {
  const headers = new Headers(init.headers);
  const cookie = c.req.header("cookie");
  if (cookie !== undefined) headers.set("cookie", cookie);
  const url = new URL(path, c.req.url);
  const response = await app.fetch(
    new Request(url, {
      method: init.method ?? "GET",
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    }),
  );
  const type = response.headers.get("content-type") ?? "";
  const body = type.includes("json")
    ? await response.json()
    : (await response.body?.cancel(), undefined);
  return {
    status: response.status,
    headers: response.headers,
    body: body as T,
  };
}

/** The class pages' navigation, under the page title. */
function ClassNav({ who }: { who: "student" | "teacher" | "none" }) {
  return (
    <nav aria-label="Class" class="class-nav" data-field="class-nav">
      <a href="/class">My assignments</a>
      {" · "}
      <a href="/class/teacher">Teacher console</a>
      {who === "student" && (
        <>
          {" · "}
          <form method="post" action="/class/signout" class="class-signout">
            <button type="submit">Sign out</button>
          </form>
        </>
      )}
    </nav>
  );
}

const CLASS_CSS = `
.class-nav { margin: -.5rem 0 1rem; }
.class-signout { display: inline; }
.class-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 1rem; }
.class-status { font-size: 1.2rem; font-weight: 700; }
.class-bar { height: .6rem; background: #dde1e6; border-radius: .3rem; overflow: hidden; max-width: 30rem; }
.class-bar > span { display: block; height: 100%; background: var(--ok); }
.class-score { font-size: 2rem; font-weight: 700; }
.class-card-table td, .class-card-table th { vertical-align: top; }
form.class-form { display: grid; grid-template-columns: minmax(0, 1fr); gap: .6rem; max-width: 36rem; }
form.class-form label { display: grid; grid-template-columns: minmax(0, 1fr); gap: .2rem; overflow-wrap: anywhere; }
form.class-form input, form.class-form select { min-width: 0; max-width: 100%; }
`;

/** A whole class page as an HTML response. */
export function classPage(
  c: Context,
  title: string,
  who: "student" | "teacher" | "none",
  body: ComponentChildren,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 429 = 200,
): Response {
  return c.html(
    "<!doctype html>" +
      renderToString(
        <Layout title={title}>
          <style dangerouslySetInnerHTML={{ __html: CLASS_CSS }} />
          <ClassNav who={who} />
          {body}
        </Layout>,
      ),
    status,
  );
}

/** The API's `{error}` text of an answer, or a fallback. */
export function errorOf(answer: ApiAnswer<unknown>): string {
  const body = answer.body as { error?: unknown } | undefined;
  return typeof body?.error === "string"
    ? body.error
    : `the class API answered ${answer.status}`;
}

/** A time as "2026-12-02 14:53 UTC". */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** A score with one decimal, or a dash. */
export function score(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : value.toFixed(1);
}
