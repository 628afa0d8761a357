/// <reference lib="dom" />
/**
 * The web page's lock, against `deno task sim --web` run as a teacher runs it (a separate process on 127.0.0.1, the
 * teacher's password from the environment or a file): a page on another origin cannot change a range, in Chromium,
 * even while the teacher is logged in; the teacher logs in on the real page and changes it through the editor; a
 * program without the login, without the CSRF token or with a foreign `Origin` is refused; the password is never on
 * the command line; an open page on 0.0.0.0 is warned about, and still refuses other origins.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { ignoreWithoutChromium, launchBrowser } from "./_browser.ts";
import { Child } from "./_processes.ts";
import { teacherLogin } from "./_web_login.ts";

const RANGE = "fishtank/tank1/ranges/temperature";

/** `deno task sim` with `args` (and `env`), waiting for its banner (and its web address with `--web`). */
async function startSim(args: string[], env: Record<string, string> = {}) {
  const child = new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/sim.ts",
    "--port=0",
    "--ws-port=0",
    "--speed=600",
    ...args,
  ], { env });
  try {
    const mqttUrl = (await child.waitFor(/MQTT\s+(mqtt:\/\/\S+)/, 60_000))[1]!;
    const web = args.includes("--web")
      ? (await child.waitFor(/Web\s+(http:\/\/\S+)/, 60_000))[1]!
      : "";
    return { child, mqttUrl, web };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** The retained range of tank1's temperature, as a viewer reads it now. */
async function retainedRange(url: string): Promise<string> {
  const client = await mqtt.connectAsync(url, {
    username: "viewer",
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  try {
    const text = new Promise<string>((resolve) =>
      client.on("message", (_, bytes) => resolve(String(bytes)))
    );
    await client.subscribeAsync(RANGE);
    return await Promise.race([
      text,
      new Promise<string>((_, reject) =>
        setTimeout(() => reject(new Error(`no retained ${RANGE}`)), 5000)
      ),
    ]);
  } finally {
    await client.endAsync(true);
  }
}

/** Polls the async `check` until it returns true, at most `timeoutMs`. */
async function until(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Whether the web app has heard from tank1 yet (a range for an unknown tank is a 404). */
async function tankKnown(web: string): Promise<boolean> {
  const state = await (await fetch(`${web}/api/live/state`)).json();
  return state.tanks?.some((t: { tank: string }) => t.tank === "tank1");
}

/** The command line of process `pid`, as any local process reads it. */
async function cmdline(pid: number): Promise<string> {
  return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll(
    "\0",
    " ",
  );
}

/** A page on another origin (another port of 127.0.0.1) that posts to the range route every way a page can. */
function evilSite(target: string): Deno.HttpServer<Deno.NetAddr> {
  const html = `<!doctype html><title>evil</title>
<iframe name="a"></iframe><iframe name="b"></iframe>
<form id="form" method="post" target="a" action="${target}">
  <input name="min" value="1"><input name="max" value="40">
</form>
<form id="plain" method="post" target="b" enctype="text/plain" action="${target}">
  <input name='{"min":1,"max":40,"x":"' value='"}'>
</form>
<script>
  const body = JSON.stringify({ min: 1, max: 40 });
  Promise.allSettled([
    fetch(${
    JSON.stringify(target)
  }, { method: "POST", mode: "no-cors", credentials: "include",
      headers: { "content-type": "text/plain" }, body }),
    fetch(${
    JSON.stringify(target)
  }, { method: "POST", mode: "no-cors", credentials: "include", body }),
  ]).then(() => {
    document.getElementById("form").submit();
    document.getElementById("plain").submit();
    setTimeout(() => document.title = "done", 1500);
  });
</script>`;
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(html, { headers: { "content-type": "text/html" } }),
  );
}

Deno.test({
  name:
    "locked sim --web: programs without login or CSRF token are refused, a foreign page cannot change a range, the teacher can",
  ignore: ignoreWithoutChromium(),
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "fishtank-web-lock-" });
    const password = "aquarium-" + crypto.randomUUID().slice(0, 8);
    const sim = await startSim([
      "--lock",
      "--web",
      "--web-port=0",
      `--db=${join(dir, "s.kv")}`,
    ], { FISHTANK_TEACHER_PASSWORD: password });
    const target = `${sim.web}/api/live/tanks/tank1/ranges/temperature`;
    try {
      await until(() => tankKnown(sim.web), "tank1 on the web app");
      const initial = await retainedRange(sim.mqttUrl);

      await t.step(
        "the password is not on the command line nor printed; no exposure warning on 127.0.0.1",
        async () => {
          const line = await cmdline(sim.child.process.pid);
          assert.match(line, /cli\/sim\.ts --port=0/);
          assert.ok(!line.includes(password), line);
          assert.ok(!sim.child.output.includes(password));
          assert.match(
            sim.child.output,
            /password from FISHTANK_TEACHER_PASSWORD/,
          );
          assert.doesNotMatch(sim.child.output, /anyone on the network/);
        },
      );

      await t.step(
        "programs: 401 without login, 401 on a wrong password, 403 without or with a wrong CSRF token or from another origin, 415 for a form",
        async () => {
          const json = { "content-type": "application/json" };
          const body = JSON.stringify({ min: 2, max: 39 });
          const anonymous = await fetch(target, {
            method: "POST",
            headers: json,
            body,
          });
          assert.equal(anonymous.status, 401);
          assert.match((await anonymous.json()).error, /Teacher login needed/);

          const wrong = await fetch(`${sim.web}/login`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ password: "guess" }),
            redirect: "manual",
          });
          assert.equal(wrong.status, 401);
          assert.equal(wrong.headers.get("set-cookie"), null);
          assert.match(await wrong.text(), /Wrong password/);

          const login = await teacherLogin(sim.web, password);
          assert.match(
            login.setCookie,
            /^fishtank_session=[A-Za-z0-9_-]{40,};/,
          );
          assert.match(login.setCookie, /;\s*HttpOnly/i);
          assert.match(login.setCookie, /;\s*SameSite=Strict/i);
          assert.match(login.setCookie, /;\s*Path=\//i);
          assert.match(login.setCookie, /;\s*Max-Age=43200/i);

          for (
            const headers of [
              { ...json, cookie: login.cookie },
              {
                ...json,
                cookie: login.cookie,
                "x-csrf-token": "x" + login.csrf,
              },
              { ...json, cookie: login.cookie, "x-csrf-token": "" },
            ]
          ) {
            const response = await fetch(target, {
              method: "POST",
              headers,
              body,
            });
            assert.equal(response.status, 403);
            assert.match((await response.json()).error, /CSRF token/);
          }
          const good = {
            ...json,
            cookie: login.cookie,
            "x-csrf-token": login.csrf,
          };
          const foreign: Record<string, string>[] = [
            { origin: "http://127.0.0.1:1" },
            { origin: "null" },
            { "sec-fetch-site": "same-site" },
            { referer: "http://evil.example/page" },
          ];
          for (const extra of foreign) {
            const response = await fetch(target, {
              method: "POST",
              headers: { ...good, ...extra },
              body,
            });
            assert.equal(response.status, 403, JSON.stringify(extra));
            assert.match((await response.json()).error, /cross-origin/);
          }
          const form = await fetch(target, {
            method: "POST",
            headers: {
              cookie: login.cookie,
              "x-csrf-token": login.csrf,
              "content-type": "application/x-www-form-urlencoded",
            },
            body: "min=2&max=39",
          });
          assert.equal(form.status, 415);
          await form.body?.cancel();
          assert.equal(await retainedRange(sim.mqttUrl), initial);

          const accepted = await fetch(target, {
            method: "POST",
            headers: { ...good, origin: new URL(sim.web).origin },
            body: JSON.stringify(JSON.parse(initial)),
          });
          assert.equal(accepted.status, 202, await accepted.text());
        },
      );

      await t.step(
        "Chromium: a page on another origin cannot change the range, even with the teacher logged in; the teacher's editor can",
        async () => {
          const evil = evilSite(target);
          // Read again: this step stands on its own, whatever the one before left.
          const initial = await retainedRange(sim.mqttUrl);
          const browser = await launchBrowser();
          try {
            const page = await browser.newPage();
            // Not logged in: the editor says so and links to the login page.
            await page.goto(sim.web);
            const card = page.locator('[data-tank="tank1"]');
            await card.locator("summary", { hasText: "Change a range" })
              .click();
            const needed = card.locator(
              '[data-range="temperature"][data-field="login-needed"]',
            );
            await needed.waitFor({ timeout: 10_000 });
            assert.match(
              (await needed.textContent())!,
              /Teacher login needed to change ranges/,
            );

            // A foreign page before the login.
            await page.goto(`http://127.0.0.1:${evil.addr.port}/`);
            await page.waitForFunction(() => document.title === "done", null, {
              timeout: 15_000,
            });
            assert.equal(await retainedRange(sim.mqttUrl), initial);

            // The teacher logs in on the real page.
            await page.goto(sim.web);
            await page.locator('a[href="/login"]').first().click();
            await page.locator('input[name="password"]').fill("wrong");
            await page.locator('button[type="submit"]').click();
            await page.locator('[data-field="error"]', {
              hasText: "Wrong password",
            }).waitFor();
            await page.locator('input[name="password"]').fill(password);
            await page.locator('button[type="submit"]').click();
            await page.waitForURL(`${sim.web}/`);
            await page.locator('[data-field="teacher"]', {
              hasText: "teacher logged in",
            }).waitFor();
            const cookies = await page.context().cookies(sim.web);
            const session = cookies.find((c) => c.name === "fishtank_session");
            assert.ok(session);
            assert.equal(session.httpOnly, true);
            assert.equal(session.sameSite, "Strict");
            // The cookie is sent to the other port too (same site), so only the origin, JSON and CSRF checks stop it.
            await page.goto(`http://127.0.0.1:${evil.addr.port}/`);
            await page.waitForFunction(() => document.title === "done", null, {
              timeout: 15_000,
            });
            await new Promise((resolve) => setTimeout(resolve, 500));
            assert.equal(await retainedRange(sim.mqttUrl), initial);

            // The editor, logged in: the range changes.
            await page.goto(sim.web);
            await card.locator("summary", { hasText: "Change a range" })
              .click();
            const form = card.locator('form[data-range="temperature"]');
            await form.locator('input[name="min"]').fill("23.5");
            await form.locator('input[name="max"]').fill("25.5");
            await form.locator('button[type="submit"]').click();
            await form.locator('[data-field="message"]', { hasText: "Sent" })
              .waitFor({ timeout: 10_000 });
            let now = "";
            await until(async () => {
              now = await retainedRange(sim.mqttUrl);
              return now !== initial;
            }, "the range to change");
            assert.deepEqual(JSON.parse(now), { min: 23.5, max: 25.5 });
          } finally {
            await browser.close();
            await evil.shutdown();
          }
        },
      );
    } finally {
      await sim.child.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--teacher-password-file keeps the password off the command line; --teacher-password is refused naming the replacements", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-secret-" });
  const file = join(dir, "teacher.txt");
  const password = "from-file-" + crypto.randomUUID().slice(0, 8);
  await Deno.writeTextFile(file, password + "\n");
  const sim = await startSim([
    "--lock",
    `--teacher-password-file=${file}`,
    "--db=:memory:",
  ]);
  try {
    const line = await cmdline(sim.child.process.pid);
    assert.match(line, /--teacher-password-file=/);
    assert.ok(!line.includes(password), line);
    assert.ok(!sim.child.output.includes(password));
    assert.match(sim.child.output, /password from --teacher-password-file/);
    // The password from the file is the teacher's.
    const teacher = await mqtt.connectAsync(sim.mqttUrl, {
      username: "teacher",
      password,
      reconnectPeriod: 0,
    });
    await teacher.endAsync(true);
  } finally {
    await sim.child.kill();
    await Deno.remove(dir, { recursive: true });
  }

  const refused = new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/sim.ts",
    "--lock",
    "--teacher-password",
    "secret",
  ]);
  const status = await refused.exit();
  assert.equal(status.code, 2);
  assert.match(refused.output, /--teacher-password: .*\/proc/);
  assert.match(refused.output, /FISHTANK_TEACHER_PASSWORD/);
  assert.match(refused.output, /--teacher-password-file/);
});

Deno.test("an open sim --web on 0.0.0.0 warns that anyone on the network may edit ranges, and still refuses other origins and forms", async () => {
  const sim = await startSim([
    "--web",
    "--host=0.0.0.0",
    "--web-port=0",
    "--db=:memory:",
  ]);
  try {
    assert.match(
      sim.child.output,
      /listen on 0\.0\.0\.0 without --lock: anyone on the network may edit/,
    );
    await until(() => tankKnown(sim.web), "tank1 on the web app");
    const target = `${sim.web}/api/live/tanks/tank1/ranges/temperature`;
    const body = JSON.stringify({ min: 22, max: 27 });
    const foreign = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: "http://127.0.0.1:1",
      },
      body,
    });
    assert.equal(foreign.status, 403);
    assert.match((await foreign.json()).error, /cross-origin/);
    const form = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "min=22&max=27",
    });
    assert.equal(form.status, 415);
    await form.body?.cancel();
    // Open classroom mode: the page's own request needs no login.
    const own = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: new URL(sim.web).origin,
      },
      body,
    });
    assert.equal(own.status, 202, await own.text());
  } finally {
    await sim.child.kill();
  }
});
