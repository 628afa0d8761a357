/**
 * Who may change things through the web app. Every state-changing request (any method but GET, HEAD and OPTIONS)
 * must come from the app's own pages: a browser's `Origin` (or, without one, `Sec-Fetch-Site`, then `Referer`) must
 * name this server, else 403; the API takes JSON bodies only (else 415), so a form on another site cannot post to it.
 * When the app is locked (`deno task sim --web --lock`, or `deno task web` with a broker user), changing anything
 * also needs the teacher's login: `POST /login` with the password sets a session cookie (HttpOnly, SameSite=Strict,
 * a random id kept in memory here, 12 hours), and every state-changing request must carry the session's CSRF token
 * (header `x-csrf-token`, or the form field `csrf`). When the server listens on a loopback address, a request whose
 * `Host` is not a loopback name is refused (a DNS-rebinding page gets nothing).
 *
 * @module
 */

import type { ComponentChildren } from "preact";
import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { renderToString } from "preact-render-to-string";
import type { WebContext } from "./app.ts";
import { Layout } from "./components/layout.tsx";
import type { EditAccess } from "./islands/RangeEditor.tsx";

export type { EditAccess };

/** The session cookie's name. */
export const SESSION_COOKIE = "fishtank_session";
/** The request header that carries the CSRF token. */
export const CSRF_HEADER = "x-csrf-token";
/** How long a login lasts, in milliseconds. */
export const SESSION_MS = 12 * 3600 * 1000;
/** Failed logins allowed per minute (in all), so a password cannot be guessed by trying. */
const FAILURES_PER_MINUTE = 10;

interface Session {
  csrf: string;
  expires: number;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}

/** Compares two strings in time that depends on their lengths only. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** The logins of one app, in memory (a restart logs everyone out). */
export class Sessions {
  readonly #sessions = new Map<string, Session>();
  #failures: number[] = [];

  /** Starts a session: its id (for the cookie) and CSRF token. */
  create(now = Date.now()): { id: string; csrf: string } {
    for (const [id, s] of this.#sessions) {
      if (s.expires <= now) this.#sessions.delete(id);
    }
    const id = randomToken();
    const csrf = randomToken();
    this.#sessions.set(id, { csrf, expires: now + SESSION_MS });
    return { id, csrf };
  }

  /** The live session with this id, if any. */
  get(id: string | undefined, now = Date.now()): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined || session.expires <= now) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Ends a session. */
  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  /** Counts a failed login; false when too many failed in the last minute. */
  allowAttempt(now = Date.now()): boolean {
    this.#failures = this.#failures.filter((t) => t > now - 60_000);
    return this.#failures.length < FAILURES_PER_MINUTE;
  }

  /** Records a failed login. */
  failed(now = Date.now()): void {
    this.#failures.push(now);
  }
}

const sessionsOf = new WeakMap<WebContext, Sessions>();

function sessionsFor(context: WebContext): Sessions {
  let sessions = sessionsOf.get(context);
  if (sessions === undefined) {
    sessions = new Sessions();
    sessionsOf.set(context, sessions);
  }
  return sessions;
}

/** What the page at this request may offer for range edits. */
export function editAccess(c: Context, context: WebContext): EditAccess {
  if (context.lock === undefined) return { locked: false };
  const session = sessionsFor(context).get(getCookie(c, SESSION_COOKIE));
  return session ? { locked: true, csrf: session.csrf } : { locked: true };
}

/** True for addresses only this machine reaches (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\./.test(bare);
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Why a browser's request did not come from this server's pages, or `undefined` when it did (or is no browser's). */
export function crossOrigin(request: Request): string | undefined {
  const own = new URL(request.url).origin;
  const origin = request.headers.get("origin");
  if (origin !== null) {
    return origin === own
      ? undefined
      : `Origin ${origin} is not this server (${own})`;
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    return site === "same-origin" || site === "none"
      ? undefined
      : `Sec-Fetch-Site is ${site}, not same-origin`;
  }
  const referer = request.headers.get("referer");
  if (referer !== null) {
    let from: string;
    try {
      from = new URL(referer).origin;
    } catch {
      return `Referer ${referer} is not a URL`;
    }
    return from === own ? undefined : `Referer ${referer} is not this server`;
  }
  // No browser sends a state-changing request without any of the three: this is a program, not a page on a site.
  return undefined;
}

function refuse(
  c: Context,
  status: 401 | 403 | 415 | 421 | 429,
  error: string,
) {
  const api = c.req.path.startsWith("/api/");
  const wantsHtml = !api && (c.req.header("accept") ?? "").includes("html");
  if (!wantsHtml) {
    return c.json({
      error,
      ...(status === 401 ? { login: "/login" } : {}),
    }, status);
  }
  return c.html(
    page(
      "Refused",
      <p class="error" role="alert" data-field="error">
        {error}. <a href="/">Back to the live page</a>
      </p>,
    ),
    status,
  );
}

function page(title: string, body: ComponentChildren): string {
  return "<!doctype html>" +
    renderToString(<Layout title={title}>{body}</Layout>);
}

/**
 * Where the login may send the teacher back to: a path on this server (`/runs/x?t=1`), else undefined. Absolute URLs,
 * `//host` and `/\\host` (which browsers read as another host), and control characters are refused, so that a link
 * to `/login?next=…` cannot send the teacher to another site after they log in (an open redirect).
 */
export function safeNext(next: string | undefined): string | undefined {
  if (
    next === undefined || !next.startsWith("/") || /^\/[\/\\]/.test(next) ||
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f\\]/.test(next) || next.length > 2000
  ) {
    return undefined;
  }
  const base = "http://this.invalid";
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return undefined;
  }
  // Back to the login or the logout would undo what the teacher just did.
  if (url.origin !== base || ["/login", "/logout"].includes(url.pathname)) {
    return undefined;
  }
  return `${url.pathname}${url.search}${url.hash}`;
}

/** `/login`, with the page to go back to after it when that is a path on this server. */
export function loginHref(next: string | undefined): string {
  const back = safeNext(next);
  return back === undefined || back === "/"
    ? "/login"
    : `/login?next=${encodeURIComponent(back)}`;
}

function loginPage(error?: string, next?: string): string {
  return page(
    "Teacher login",
    <form method="post" action="/login" class="inline" data-field="login">
      {next !== undefined && <input type="hidden" name="next" value={next} />}
      {error && (
        <p class="error" role="alert" data-field="error" style="width:100%">
          {error}
        </p>
      )}
      <label for="password">
        Teacher password{" "}
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
      </label>
      <button type="submit">Log in</button>
      <p class="muted" style="width:100%">
        The password printed when the simulator started (or set with
        FISHTANK_TEACHER_PASSWORD / --teacher-password-file). Changing a range
        needs it.
      </p>
    </form>,
  );
}

/** Registers the guard on every request, and `/login` and `/logout`. Call before any other route. */
export function registerAuth(app: Hono, context: WebContext): void {
  const sessions = sessionsFor(context);
  const loopbackOnly = context.listenHost !== undefined &&
    isLoopback(context.listenHost);

  app.use("*", async (c, next) => {
    if (loopbackOnly) {
      const host = new URL(c.req.url).hostname;
      if (!isLoopback(host)) {
        return refuse(
          c,
          421,
          `this server answers on its loopback address only, not on "${host}"`,
        );
      }
    }
    if (SAFE.has(c.req.method)) return await next();
    const why = crossOrigin(c.req.raw);
    if (why !== undefined) {
      return refuse(
        c,
        403,
        `cross-origin request refused: ${why}; change things from this server's own pages`,
      );
    }
    if (context.selfGuarded?.some((p) => c.req.path.startsWith(p))) {
      return await next();
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim()
      .toLowerCase();
    if (c.req.path.startsWith("/api/") && type !== "application/json") {
      return refuse(
        c,
        415,
        `expected a JSON body (Content-Type: application/json), got "${
          type || "none"
        }"`,
      );
    }
    if (context.lock === undefined || c.req.path === "/login") {
      return await next();
    }
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (session === undefined) {
      return refuse(
        c,
        401,
        "Teacher login needed to change ranges: log in at /login",
      );
    }
    let token = c.req.header(CSRF_HEADER);
    if (token === undefined && type === "application/x-www-form-urlencoded") {
      const field = (await c.req.parseBody())["csrf"];
      if (typeof field === "string") token = field;
    }
    if (token === undefined || !constantTimeEqual(token, session.csrf)) {
      return refuse(
        c,
        403,
        "missing or wrong CSRF token: reload the page and try again",
      );
    }
    return await next();
  });

  app.get("/login", (c) => {
    if (context.lock === undefined) return c.redirect("/", 303);
    return c.html(loginPage(undefined, safeNext(c.req.query("next"))));
  });

  app.post("/login", async (c) => {
    if (context.lock === undefined) return c.redirect("/", 303);
    if (!sessions.allowAttempt()) {
      return c.html(
        loginPage(
          "Too many wrong passwords: wait a minute and try again.",
          safeNext(c.req.query("next")),
        ),
        429,
      );
    }
    const body = await c.req.parseBody();
    const field = body["password"];
    const password = typeof field === "string" ? field : "";
    const nextField = body["next"] ?? c.req.query("next");
    const next = safeNext(
      typeof nextField === "string" ? nextField : undefined,
    );
    if (
      context.lock.password === "" ||
      !constantTimeEqual(password, context.lock.password)
    ) {
      sessions.failed();
      return c.html(loginPage("Wrong password.", next), 401);
    }
    const { id } = sessions.create();
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_MS / 1000,
    });
    return c.redirect(next ?? "/", 303);
  });

  const logout = (c: Context) => {
    sessions.delete(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  };
  // GET is harmless: the SameSite=Strict cookie is not sent when another site links here.
  app.get("/logout", logout);
  app.post("/logout", logout);
}
