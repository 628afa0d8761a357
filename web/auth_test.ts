import assert from "node:assert/strict";
import { RunStore } from "../store/mod.ts";
import { createApp, type WebContext } from "./app.ts";
import {
  constantTimeEqual,
  crossOrigin,
  isLoopback,
  loginHref,
  safeNext,
} from "./auth.tsx";

function post(url: string, headers: Record<string, string> = {}): Request {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  });
}

Deno.test("crossOrigin() accepts this server's pages and programs, refuses other origins by Origin, Sec-Fetch-Site or Referer", () => {
  const url = "http://127.0.0.1:8000/api/x";
  assert.equal(crossOrigin(post(url)), undefined);
  assert.equal(
    crossOrigin(post(url, { origin: "http://127.0.0.1:8000" })),
    undefined,
  );
  assert.equal(
    crossOrigin(post(url, { "sec-fetch-site": "same-origin" })),
    undefined,
  );
  assert.equal(
    crossOrigin(post(url, { referer: "http://127.0.0.1:8000/" })),
    undefined,
  );
  assert.match(
    crossOrigin(post(url, { origin: "http://127.0.0.1:8001" }))!,
    /Origin http:\/\/127\.0\.0\.1:8001 is not this server/,
  );
  assert.ok(crossOrigin(post(url, { origin: "null" })));
  assert.ok(crossOrigin(post(url, { "sec-fetch-site": "cross-site" })));
  assert.ok(crossOrigin(post(url, { referer: "http://evil.example/" })));
});

Deno.test("constantTimeEqual() and isLoopback()", () => {
  assert.ok(constantTimeEqual("abc", "abc"));
  assert.ok(!constantTimeEqual("abc", "abd"));
  assert.ok(!constantTimeEqual("abc", "abcd"));
  assert.ok(!constantTimeEqual("", "a"));
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "192.168.1.10", "evil.example"]) {
    assert.ok(!isLoopback(host), host);
  }
});

Deno.test("on a loopback address a request naming another host (DNS rebinding) gets 421; a locked app's POST needs a login", async () => {
  const store = await RunStore.open(":memory:");
  try {
    const context: WebContext = {
      store,
      islands: new Map(),
      listenHost: "127.0.0.1",
      lock: { password: "pw" },
    };
    const app = await createApp(context, []);
    const rebound = await app.fetch(new Request("http://evil.example:8000/"));
    assert.equal(rebound.status, 421);
    await rebound.body?.cancel();
    const own = await app.fetch(new Request("http://localhost:8000/login"));
    assert.equal(own.status, 200);
    assert.match(await own.text(), /Teacher password/);
    const anonymous = await app.fetch(post("http://127.0.0.1:8000/api/x"));
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const form = await app.fetch(
      new Request("http://127.0.0.1:8000/api/x", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "a=1",
      }),
    );
    assert.equal(form.status, 415);
    await form.body?.cancel();
  } finally {
    await store.close();
  }
});

Deno.test("safeNext() keeps paths on this server and refuses absolute URLs, //host, /\\host and control characters (no open redirect)", () => {
  assert.equal(safeNext("/runs/r1/replay?t=60"), "/runs/r1/replay?t=60");
  assert.equal(safeNext("/class/teacher#queue"), "/class/teacher#queue");
  assert.equal(safeNext("/runs/../class/teacher"), "/class/teacher");
  for (
    const bad of [
      undefined,
      "",
      "https://evil.example/",
      "http:/evil.example",
      "//evil.example/x",
      "/\\evil.example",
      "/%0d%0aSet-Cookie:x=1".replace("%0d%0a", "\r\n"),
      "javascript:alert(1)",
      "runs/r1",
      "/login",
      "/logout?x=1",
    ]
  ) {
    assert.equal(safeNext(bad), undefined, String(bad));
  }
  assert.equal(loginHref("/runs/r 1"), "/login?next=%2Fruns%2Fr%25201");
  assert.equal(loginHref("//evil.example"), "/login");
  assert.equal(loginHref("/"), "/login");
});

Deno.test("/login?next=PATH brings the teacher back to PATH after logging in; another site's address sends them to /", async () => {
  const store = await RunStore.open(":memory:");
  try {
    const context: WebContext = {
      store,
      islands: new Map(),
      listenHost: "127.0.0.1",
      lock: { password: "pw" },
    };
    const app = await createApp(context, []);
    const form = await app.fetch(
      new Request("http://127.0.0.1:8000/login?next=%2Fruns%2Fr1%3Fx%3D1"),
    );
    assert.equal(form.status, 200);
    assert.match(
      await form.text(),
      /<input type="hidden" name="next" value="\/runs\/r1\?x=1"\/?>/,
    );
    const refused = await app.fetch(
      new Request("http://127.0.0.1:8000/login?next=%2F%2Fevil.example"),
    );
    assert.doesNotMatch(await refused.text(), /name="next"/);
    const login = (body: string, query = "") =>
      app.fetch(
        new Request(`http://127.0.0.1:8000/login${query}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        }),
      );
    const cases: [string, string, string][] = [
      ["password=pw&next=%2Fruns%2Fr1%3Fx%3D1", "", "/runs/r1?x=1"],
      ["password=pw", "?next=%2Fclass%2Fteacher", "/class/teacher"],
      ["password=pw&next=https%3A%2F%2Fevil.example%2F", "", "/"],
      ["password=pw&next=%2F%2Fevil.example", "", "/"],
      ["password=pw&next=%2F%5Cevil.example", "", "/"],
      ["password=pw", "", "/"],
    ];
    for (const [body, query, location] of cases) {
      const r = await login(body, query);
      await r.body?.cancel();
      assert.equal(r.status, 303, body);
      assert.equal(r.headers.get("location"), location, body);
    }
    const wrong = await login("password=nope&next=%2Fruns%2Fr1");
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /name="next" value="\/runs\/r1"/);
  } finally {
    await store.close();
  }
});
