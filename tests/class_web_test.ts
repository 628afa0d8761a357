/// <reference lib="dom" />
/**
 * The class server's pages in Chromium, on `deno task serve` as a process with one worker grading real sealed runs:
 * a student signs in with the token, submits `examples/thermostat.py` on the form, watches the status move (queued
 * with a position behind two classmates, running, graded) and reads the score card; the teacher's console, open the
 * whole time, shows the job in the queue and then the submission and the leaderboard without a reload; every
 * response the student's browser received is scanned for the hidden scenario's name, words and run. Screenshots for
 * the README. Every wait is for a state of the page, never a fixed time.
 */

import assert from "node:assert/strict";
import type { Response } from "playwright-core";
import { zipSync } from "fflate";
import {
  ignoreWithoutChromium,
  launchBrowser,
  PHONE,
  phoneMisfits,
  SCREENSHOTS,
} from "./_browser.ts";
import {
  classFolder,
  HIDDEN_WORDS,
  type ServeProcess,
  startServe,
  TEACHER_PASSWORD,
  until,
  upload,
} from "./_class_server.ts";

const ASSIGNMENT = "warm-tank";
/** Long enough for two queued classmates and a half-hour pair of scenarios on a busy 2-core machine. */
const STATE_TIMEOUT = 10 * 60_000;
/** More of the hidden scenario's text (its description and the author's note). */
const MORE_HIDDEN = ["Thirty minutes, water at 23.0", "Switches the heater on"];

/** Records the `data-status` values the submission island takes, in order, from the first paint. */
const RECORD_STATUSES = `
  window.__statuses = [];
  const note = () => {
    const el = document.querySelector('[data-field="submission"]');
    const s = el && el.getAttribute("data-status");
    if (!s) return;
    if (window.__statuses.at(-1) !== s) window.__statuses.push(s);
    const detail = document.querySelector('[data-field="queue"], [data-field="progress"]');
    const line = s + ": " + (detail ? detail.textContent : "");
    if ((window.__details ??= []).at(-1) !== line) window.__details.push(line);
  };
  new MutationObserver(note).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  document.addEventListener("DOMContentLoaded", note);
`;

Deno.test({
  name:
    "class pages in Chromium: a student signs in, submits, watches queued → running → graded and reads the score card; the teacher's console shows the queue, the submission and the leaderboard live; no student response holds a hidden scenario",
  ignore: ignoreWithoutChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = await classFolder();
  let serve: ServeProcess | undefined;
  const browser = await launchBrowser();
  try {
    // One worker: the student's submission waits behind two classmates', so the page shows the queue.
    serve = await startServe(dir, { workers: 1 });
    const { url, tokens } = serve;
    const errors: string[] = [];

    const teacherContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
    });
    const teacher = await teacherContext.newPage();
    teacher.on("pageerror", (e) => errors.push(`teacher: ${e.message}`));

    const studentContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
    });
    const student = await studentContext.newPage();
    student.on("pageerror", (e) => errors.push(`student: ${e.message}`));
    /**
     * Every response the student's browser got (bodies read when the test scans them). A page's fetch still arriving
     * when the test navigates away loses its body: a GET other than the status stream is then asked for again with
     * the student's cookies, and what the student would have got is scanned.
     */
    const seen: { url: string; status: number; body: Promise<string> }[] = [];
    const record = (r: Response) => {
      const again = async (e: unknown) => {
        if (r.request().method() !== "GET" || r.url().endsWith("/events")) {
          return `<<no body: ${e}>>`;
        }
        const fetched = await studentContext.request.get(r.url());
        return fetched.status() === r.status()
          ? await fetched.text()
          : `<<no body: ${e}; asked again: ${fetched.status()}>>`;
      };
      seen.push({
        url: r.url(),
        status: r.status(),
        body: r.text().catch(again),
      });
    };
    studentContext.on("response", record);
    /** Waits until every body so far is read: the browser forgets a page's bodies when it navigates away. */
    const settle = async () => {
      await Promise.all(seen.map((s) => s.body));
    };
    await student.addInitScript(RECORD_STATUSES);

    let submissionId = "";

    await t.step(
      "the teacher logs in at /login and opens the console at /class/teacher",
      async () => {
        const before = await teacher.goto(`${url}/class/teacher`);
        assert.equal(before?.status(), 401);
        await teacher.goto(`${url}/login`);
        await teacher.fill("#password", TEACHER_PASSWORD);
        await Promise.all([
          teacher.waitForURL(`${url}/`),
          teacher.click('button[type="submit"]'),
        ]);
        await teacher.goto(`${url}/class/teacher`);
        await teacher.waitForSelector(
          `[data-assignment="${ASSIGNMENT}"] [data-field="board"]`,
        );
        // Hydrated: the island has asked for fresh data at least once.
        const first = await teacher.getAttribute(
          "[data-field=console]",
          "data-at",
        );
        await teacher.waitForFunction(
          (at) =>
            document.querySelector("[data-field=console]")?.getAttribute(
              "data-at",
            ) !== at,
          first,
          { timeout: STATE_TIMEOUT },
        );
      },
    );

    await t.step(
      "a student signs in with the token and sees the assignment with attempts left; hidden scenarios as cases",
      async () => {
        await settle();
        await student.goto(`${url}/class`);
        await student.fill("#token", "ft_wrong");
        await settle();
        await student.click('button[type="submit"]');
        await student.waitForSelector('[data-field="error"]');
        assert.match(
          await student.textContent('[data-field="error"]') ?? "",
          /unknown token/,
        );
        await student.fill("#token", tokens.get("Ada Lovelace")!);
        await settle();
        await Promise.all([
          student.waitForURL(`${url}/class`),
          student.click('button[type="submit"]'),
        ]);
        assert.match(
          await student.textContent('[data-field="student"]') ?? "",
          /Ada Lovelace \(7A\)/,
        );
        const row = await student.textContent(
          `tr[data-assignment="${ASSIGNMENT}"]`,
        );
        assert.match(row ?? "", /50 of 50 left/);
        await settle();
        await student.click(`tr[data-assignment="${ASSIGNMENT}"] a`);
        await student.waitForSelector('[data-field="submit-form"]');
        const scenarios = await student.textContent('[data-field="scenarios"]');
        assert.match(scenarios ?? "", /cool-half-hour/);
        assert.match(scenarios ?? "", /hidden case 1/);
      },
    );

    await t.step(
      "the student submits the thermostat on the form and watches its status move: queued (position) → running (scenario, simulated time, steps/s) → graded",
      async () => {
        // Two classmates submit just before, so that this one waits in the queue behind them.
        for (const who of ["Alan Turing", "Grace Hopper"]) {
          const r = await upload(
            url,
            tokens.get(who)!,
            ASSIGNMENT,
            "examples/thermostat.py",
          );
          assert.equal(r.status, 202, r.text);
        }
        await student.setInputFiles("#file", "examples/thermostat.py");
        await student.selectOption("#kind", "python3");
        await settle();
        await Promise.all([
          student.waitForURL(/\/class\/submissions\/[^/]+$/),
          student.click('[data-field="submit-form"] button[type="submit"]'),
        ]);
        submissionId = decodeURIComponent(
          new URL(student.url()).pathname.split("/").pop()!,
        );
        // The console, open since before, shows the job in the queue (waiting or running) without a reload.
        await teacher.waitForSelector(
          `[data-field="queue"] tr[data-job="${submissionId}#1"]`,
          { timeout: STATE_TIMEOUT },
        );
        await student.waitForSelector(
          '[data-field="submission"][data-status="graded"]',
          { timeout: STATE_TIMEOUT },
        );
        const statuses: string[] = await student.evaluate(() =>
          // deno-lint-ignore no-explicit-any
          (window as any).__statuses
        );
        const details: string[] = await student.evaluate(() =>
          // deno-lint-ignore no-explicit-any
          (window as any).__details
        );
        // (A job whose lease ran out on a very busy machine may go back to the queue once: queued → running → queued → …)
        assert.equal(statuses[0], "queued", details.join(" | "));
        assert.ok(statuses.includes("running"), details.join(" | "));
        assert.equal(statuses.at(-1), "graded", details.join(" | "));
        assert.match(details[0]!, /^queued: Position \d+ in the queue/);
        assert.ok(
          details.some((d) =>
            /^running: Scenario \d of 2: .*simulated time .* of 30 min 00 s; \d+ steps\/s/
              .test(d)
          ),
          details.join(" | "),
        );
        assert.match(
          await student.textContent('[data-field="connection"]') ?? "",
          /^$/,
        );
      },
    );

    await t.step(
      "the score card: the weighted score with pass or fail, the visible scenario with its parts and links to its report and replay, the hidden one as 'hidden case 1: score' only",
      async () => {
        const total = Number(await student.textContent('[data-field="score"]'));
        assert.ok(total > 0 && total <= 100, String(total));
        assert.match(
          await student.textContent('[data-field="pass"]') ?? "",
          /pass|fail/,
        );
        const visible = await student.textContent(
          'tr[data-case="1"][data-hidden="false"]',
        );
        assert.match(visible ?? "", /Cool half hour \(test\)/);
        assert.match(visible ?? "", /temperature: \d+\.\d \(weight 3\)/);
        const report = await student.getAttribute(
          'tr[data-case="1"] [data-field="report-link"]',
          "href",
        );
        assert.match(report ?? "", /^\/runs\/.*cool-half-hour$/);
        assert.equal(
          await student.getAttribute(
            'tr[data-case="1"] [data-field="replay-link"]',
            "href",
          ),
          `${report}/replay`,
        );
        const hidden = await student.textContent(
          'tr[data-case="2"][data-hidden="true"]',
        );
        assert.match(hidden ?? "", /^2hidden case 12\d+\.\d/);
        await student.screenshot({
          path: new URL("class-submission.png", SCREENSHOTS).pathname,
          fullPage: true,
        });
        // The links open for their student: the report (its charts read the run's series with the cookie) and the replay.
        await settle();
        const opened = await student.goto(`${url}${report}`);
        assert.equal(opened?.status(), 200, report ?? "");
        await student.waitForSelector("text=Cool half hour (test)");
        const series = await student.evaluate(
          async (path) =>
            (await fetch(`/api/runs${path.slice(5)}/series`)).status,
          report!,
        );
        assert.equal(series, 200);
        await settle();
        assert.equal(
          (await student.goto(`${url}${report}/replay`))?.status(),
          200,
        );
        // The assignment page now shows the best score and one attempt fewer.
        await settle();
        await student.goto(`${url}/class/assignments/${ASSIGNMENT}`);
        const state = await student.textContent(
          '[data-field="assignment-state"]',
        );
        assert.match(state ?? "", /49 of 50 left · best \d+\.\d/);
        await settle();
        await student.goto(`${url}/class`);
        await student.waitForSelector(`tr[data-submission="${submissionId}"]`);
        // On a phone, nothing sticks out of the student's pages.
        await student.setViewportSize(PHONE);
        for (
          const path of [
            "/class",
            `/class/assignments/${ASSIGNMENT}`,
            `/class/submissions/${submissionId}`,
          ]
        ) {
          await settle();
          await student.goto(`${url}${path}`);
          assert.deepEqual(await phoneMisfits(student), [], path);
        }
        await student.setViewportSize({ width: 1280, height: 900 });
      },
    );

    await t.step(
      "the teacher's console, never reloaded, showed the job in the queue and now shows the submission and the leaderboard; the run opens as its report",
      async () => {
        await teacher.waitForSelector(
          `[data-field="latest"] tr[data-submission="${submissionId}"]`,
          { timeout: STATE_TIMEOUT },
        );
        await teacher.waitForFunction(
          (id) =>
            document.querySelector(
              `[data-field="latest"] tr[data-submission="${id}"] [data-field="status"]`,
            )?.textContent === "graded",
          submissionId,
          { timeout: STATE_TIMEOUT },
        );
        const board =
          `[data-assignment="${ASSIGNMENT}"] tr[data-student="Ada Lovelace"] [data-field="best"]`;
        await teacher.waitForFunction(
          (sel) =>
            /\d+\.\d/.test(document.querySelector(sel)?.textContent ?? ""),
          board,
          { timeout: STATE_TIMEOUT },
        );
        const ranked = await teacher.$$eval(
          `[data-assignment="${ASSIGNMENT}"] [data-field="board"] tbody tr`,
          (rows) => rows.map((r) => r.getAttribute("data-student")),
        );
        assert.deepEqual(
          ranked.slice(0, 3).sort(),
          ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        );
        assert.equal(ranked.at(-1), "Edsger Dijkstra");
        // Two more submissions, so that the screenshot shows a job running (and one waiting) beside the leaderboard.
        const more: string[] = [];
        for (const who of ["Edsger Dijkstra", "Alan Turing"]) {
          const r = await upload(
            url,
            tokens.get(who)!,
            ASSIGNMENT,
            "examples/thermostat.py",
          );
          assert.equal(r.status, 202, r.text);
          more.push(JSON.parse(r.text).submission.id);
        }
        // One of them shown running, or the second already graded: whichever comes first.
        await teacher.waitForFunction(
          ([first, second]) =>
            document.querySelector(
                `[data-field="running"] tr[data-job="${first}#1"], [data-field="running"] tr[data-job="${second}#1"]`,
              ) !== null ||
            document.querySelector(
                `[data-field="latest"] tr[data-submission="${second}"] [data-field="status"]`,
              )?.textContent === "graded",
          more,
          { timeout: STATE_TIMEOUT },
        );
        await teacher.screenshot({
          path: new URL("class-console.png", SCREENSHOTS).pathname,
          fullPage: true,
        });
        const csv = await teacher.getAttribute(
          `[data-assignment="${ASSIGNMENT}"] [data-field="csv"]`,
          "href",
        );
        const exported = await teacher.evaluate(
          async (href) => await (await fetch(href!)).text(),
          csv,
        );
        assert.match(exported, /^student,group,attempts/);
        assert.match(exported, /Ada Lovelace,7A,1,/);
        // The teacher's view of the submission names the hidden scenario and links both runs.
        await teacher.click(
          `[data-field="latest"] tr[data-submission="${submissionId}"] a`,
        );
        await teacher.waitForSelector('[data-field="grade"]');
        const grade = await teacher.textContent('[data-field="grade"]');
        assert.match(grade ?? "", /Secret chill/);
        await Promise.all([
          teacher.waitForURL(/\/runs\/[^/]+$/),
          teacher.click('[data-field="grade"] [data-field="report-link"]'),
        ]);
        assert.match(await teacher.title(), /Fish tank/);
        assert.equal(
          (await teacher.goto(`${teacher.url()}/replay`))?.status(),
          200,
        );
      },
    );

    await t.step(
      "every response the student's browser received (pages, API, the status stream, islands) holds no hidden scenario's name, words or run",
      async () => {
        // The student's own API answers, read in the browser so they are recorded too.
        for (
          const path of [
            "/api/class/assignments",
            "/api/class/submissions",
            `/api/class/submissions/${submissionId}`,
          ]
        ) {
          await settle();
          await student.goto(`${url}${path}`);
        }
        // The teacher's pages refuse the student (and are scanned too).
        for (
          const path of [
            "/class/teacher",
            "/class/teacher/console.json",
            `/class/teacher/submissions/${submissionId}`,
            "/class/teacher/students/ada-lovelace",
            `/api/class/teacher/submissions/${submissionId}`,
          ]
        ) {
          await settle();
          const r = await student.goto(`${url}${path}`);
          assert.equal(r?.status(), 401, path);
        }
        const answer = await teacher.evaluate(
          async (id) =>
            await (await fetch(`/api/class/teacher/submissions/${id}`)).json(),
          submissionId,
        );
        const hiddenRun: string = answer.grades[0].scenarios[1].runId;
        assert.match(hiddenRun, /secret-chill/);
        const words = [...HIDDEN_WORDS, ...MORE_HIDDEN, hiddenRun];
        const bodies = await Promise.all(
          seen.map(async (s) => ({ ...s, text: await s.body })),
        );
        const pages = bodies.filter((b) => b.url.includes("/class"));
        assert.ok(pages.length >= 8, bodies.map((b) => b.url).join("\n"));
        // The bodies are the real texts: the stream's events up to the grade, the pages' hidden cases.
        const stream = bodies.filter((b) =>
          b.url.endsWith(`/api/class/submissions/${submissionId}/events`)
        );
        assert.ok(
          stream.some((b) =>
            b.text.includes("event: status") &&
            b.text.includes('"status":"graded"')
          ),
          `the status stream was not recorded: ${
            stream.map((b) => b.text.slice(0, 200)).join(" | ")
          }`,
        );
        assert.ok(bodies.some((b) => b.text.includes("hidden case 1")));
        for (const b of bodies) {
          // Every body was read (a redirect has none).
          assert.ok(
            !b.text.startsWith("<<no body") ||
              (b.status >= 300 && b.status < 400),
            `${b.url} (${b.status}): ${b.text}`,
          );
          for (const word of words) {
            assert.ok(
              !b.text.includes(word),
              `${b.url} (${b.status}) holds "${word}"`,
            );
          }
        }
      },
    );

    await t.step(
      "once the teacher releases the hidden scenarios, the student's card names them",
      async () => {
        await teacher.goto(`${url}/class/teacher`);
        teacher.once("dialog", (d) => d.accept());
        await teacher.click('[data-action="Release hidden scenarios"]');
        await teacher.waitForSelector('[data-field="action-result"]');
        await settle();
        await student.goto(`${url}/class/submissions/${submissionId}`);
        const row = await student.textContent('tr[data-case="2"]');
        assert.match(row ?? "", /Secret chill/);
      },
    );

    await t.step(
      "the teacher re-grades a submission from its page (a second attempt is graded) and cancels a waiting job from the console (its student sees it cancelled)",
      async () => {
        const grades = async (id: string) =>
          await teacher.evaluate(async (id) => {
            const r = await fetch(`/api/class/teacher/submissions/${id}`);
            return (await r.json()) as {
              submission: { status: string };
              grades: unknown[];
            };
          }, id);
        await teacher.goto(`${url}/class/teacher/submissions/${submissionId}`);
        await Promise.all([
          teacher.waitForEvent("load"),
          teacher.click('[data-action="Re-grade"]'),
        ]);
        // Two more from Grace, the last waiting behind the re-grade and the first: the console cancels it.
        const ids: string[] = [];
        for (let i = 0; i < 2; i++) {
          const r = await upload(
            url,
            tokens.get("Grace Hopper")!,
            ASSIGNMENT,
            "examples/thermostat.py",
          );
          assert.equal(r.status, 202, r.text);
          ids.push(JSON.parse(r.text).submission.id);
        }
        const last = ids[1]!;
        await teacher.goto(`${url}/class/teacher`);
        const row = `[data-field="waiting"] tr[data-job="${last}#1"]`;
        await teacher.waitForSelector(row, { timeout: STATE_TIMEOUT });
        await teacher.click(`${row} [data-action="Cancel"]`);
        await teacher.waitForSelector(row, {
          state: "detached",
          timeout: STATE_TIMEOUT,
        });
        const mine = await fetch(`${url}/api/class/submissions/${last}`, {
          headers: {
            authorization: `Bearer ${tokens.get("Grace Hopper")!}`,
          },
        });
        assert.equal((await mine.json()).submission.status, "cancelled");
        await until(
          async () => (await grades(submissionId)).grades.length === 2,
          "the re-grade's second attempt",
        );
        await teacher.goto(`${url}/class/teacher/submissions/${submissionId}`);
        await teacher.waitForSelector('section[data-attempt="2"]');
      },
    );

    await t.step(
      "a zip on the form: a wrong entry file gets the API's reason on the assignment page; the right one is taken and started as chosen",
      async () => {
        const thermostat = await Deno.readTextFile("examples/thermostat.py");
        const zip = `${dir}/controller.zip`;
        await Deno.writeFile(
          zip,
          zipSync({
            "controller/settings.py": new TextEncoder().encode("GAIN = 1\n"),
            "controller/main.py": new TextEncoder().encode(
              `import settings\n${thermostat}`,
            ),
          }),
        );
        const submitZip = async (entry: string) => {
          await settle();
          await student.goto(`${url}/class/assignments/${ASSIGNMENT}`);
          await student.setInputFiles("#file", zip);
          await student.selectOption("#kind", "python3");
          await student.fill("#entry", entry);
          await settle();
          await Promise.all([
            student.waitForEvent("load"),
            student.click('[data-field="submit-form"] button[type="submit"]'),
          ]);
        };
        await submitZip("controller/nope.py");
        assert.match(
          await student.textContent('[data-field="error"]') ?? "",
          /nope\.py/,
        );
        await submitZip("controller/main.py");
        assert.match(student.url(), /\/class\/submissions\/[^/]+$/);
        const meta = await student.textContent(
          '[data-field="submission-meta"]',
        );
        assert.match(
          meta ?? "",
          /controller\/main\.py, controller\/settings\.py/,
        );
        assert.match(meta ?? "", /started as python3 controller\/main\.py/);
        await student.waitForSelector(
          '[data-field="submission"][data-status="graded"]',
          { timeout: STATE_TIMEOUT },
        );
      },
    );

    await t.step(
      "the teacher gives a student a new sign-in token from the student's page: shown once, and it signs in",
      async () => {
        await teacher.goto(`${url}/class/teacher/students/edsger-dijkstra`);
        teacher.once("dialog", (d) => d.accept());
        await teacher.click('[data-action="New sign-in token"]');
        const shown = await teacher.textContent(
          '[data-field="action-result"]',
        );
        const token = /new token .*?(ft_\S+)/.exec(shown ?? "")?.[1];
        assert.ok(token, shown ?? "");
        assert.notEqual(token, tokens.get("Edsger Dijkstra"));
        const r = await fetch(`${url}/api/class/submissions`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await r.body?.cancel();
        assert.equal(r.status, 200);
      },
    );

    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await serve?.child.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
