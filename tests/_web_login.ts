/**
 * The teacher's login on a locked web app, as a program does it: `POST /login`, then the live page for the session's
 * CSRF token (the page embeds it in the range editor's props).
 *
 * @module
 */

/** A logged-in session: the cookie to send and the CSRF token for state-changing requests. */
export interface WebLogin {
  /** `fishtank_session=…`, for a `cookie` header. */
  cookie: string;
  csrf: string;
  /** The whole `set-cookie` header the login answered. */
  setCookie: string;
}

/** Logs in at `web` with `password`; throws when the server refuses. */
export async function teacherLogin(
  web: string,
  password: string,
): Promise<WebLogin> {
  const response = await fetch(`${web}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const setCookie = response.headers.get("set-cookie") ?? "";
  if (response.status !== 303 || setCookie === "") {
    throw new Error(
      `login refused: ${response.status}, set-cookie "${setCookie}"`,
    );
  }
  const cookie = setCookie.split(";")[0]!;
  const page = await (await fetch(web, { headers: { cookie } })).text();
  const csrf = /csrf&quot;:&quot;([A-Za-z0-9_-]+)&quot;/.exec(page)?.[1];
  if (csrf === undefined) throw new Error("no CSRF token on the live page");
  return { cookie, csrf, setCookie };
}
