/**
 * The class server's API with real parts: `deno task serve` as a process on a Deno KV store on disk, HTTP on
 * 127.0.0.1, real controllers graded as sealed runs on half-hour scenarios (one of them hidden). Every response a
 * student can reach in these tests is kept and scanned for the hidden scenario's words.
 */

import assert from "node:assert/strict";
import { zipSync } from "fflate";
import {
  classFolder,
  classTeacher,
  HIDDEN_WORDS,
  type ServeProcess,
  startServe,
  until,
  upload,
} from "./_class_server.ts";
import type { StudentSubmissionView } from "../server/mod.ts";

const ASSIGNMENT = "warm-tank";
const RANK = { queued: 0, running: 1, graded: 2, failed: 2, cancelled: 2 };

/** Every body a student received, with what was asked. */
const seenByStudents: { what: string; text: string }[] = [];

async function asStudent(
  url: string,
  path: string,
  init: RequestInit & { token?: string; cookie?: string } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (init.cookie) headers.set("cookie", init.cookie);
  const response = await fetch(`${url}${path}`, { ...init, headers });
  const text = await response.text();
  seenByStudents.push({ what: `${init.method ?? "GET"} ${path}`, text });
  return { status: response.status, text, headers: response.headers };
}

/** The status events of a submission's stream, read until the server ends it. */
async function statusEvents(
  url: string,
  token: string,
  id: string,
): Promise<StudentSubmissionView[]> {
  const response = await fetch(`${url}/api/class/submissions/${id}/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  assert.match(
    response.headers.get("content-type") ?? "",
    /text\/event-stream/,
  );
  const text = await response.text();
  seenByStudents.push({ what: `SSE ${id}`, text });
  return text.split("\n\n").flatMap((block) => {
    const data = block.split("\n").filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trim()).join("\n");
    return /^event: status$/m.test(block) && data ? [JSON.parse(data)] : [];
  });
}

async function waitGraded(
  url: string,
  token: string,
  id: string,
): Promise<StudentSubmissionView> {
  return await until(async () => {
    const r = await asStudent(url, `/api/class/submissions/${id}`, { token });
    const view: StudentSubmissionView = JSON.parse(r.text).submission;
    return ["graded", "failed", "cancelled"].includes(view.status) && view;
  }, `submission ${id} graded`);
}

Deno.test({
  name:
    "class server API: sign-in, submit (a file and a zip), status stream, hidden scenarios, teacher routes, CSV, submit CLI",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = await classFolder();
  let serve: ServeProcess | undefined;
  try {
    // One worker, so that a second submission waits in the queue while the first is graded.
    serve = await startServe(dir, { workers: 1 });
    const { url, tokens } = serve;
    const ada = tokens.get("Ada Lovelace")!;
    const alan = tokens.get("Alan Turing")!;
    const grace = tokens.get("Grace Hopper")!;
    let adaFirst = "";
    let alanFirst = "";

    await t.step(
      "students sign in with their token: a session cookie (HttpOnly, SameSite=Strict) and a CSRF token; wrong tokens get 401; tokens are stored hashed only",
      async () => {
        assert.equal((await asStudent(url, "/api/class/me")).status, 401);
        assert.equal(
          (await asStudent(url, "/api/class/me", {
            token: "ft_" + "x".repeat(43),
          })).status,
          401,
        );
        const wrong = await asStudent(url, "/api/class/signin", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: "ft_nope" }),
        });
        assert.equal(wrong.status, 401);
        const ok = await asStudent(url, "/api/class/signin", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: ada }),
        });
        assert.equal(ok.status, 200);
        const setCookie = ok.headers.get("set-cookie") ?? "";
        assert.match(setCookie, /fishtank_student=/);
        assert.match(setCookie, /HttpOnly/);
        assert.match(setCookie, /SameSite=Strict/);
        const cookie = setCookie.split(";")[0]!;
        const { csrf, student } = JSON.parse(ok.text);
        assert.equal(student.name, "Ada Lovelace");
        const me = await asStudent(url, "/api/class/me", { cookie });
        assert.equal(JSON.parse(me.text).student.name, "Ada Lovelace");
        // With the cookie, a state-changing request needs the CSRF token; with it the request gets through the checks.
        const form = () => {
          const f = new FormData();
          f.set("assignment", "no-such-assignment");
          f.set("file", new File(["print(1)"], "c.py"));
          return f;
        };
        const noCsrf = await asStudent(url, "/api/class/submissions", {
          method: "POST",
          cookie,
          body: form(),
        });
        assert.equal(noCsrf.status, 403);
        const withCsrf = await asStudent(url, "/api/class/submissions", {
          method: "POST",
          cookie,
          body: form(),
          headers: { "x-csrf-token": csrf },
        });
        assert.equal(withCsrf.status, 404, withCsrf.text);
        // Another site's page cannot post with the cookie.
        const crossSite = await asStudent(url, "/api/class/submissions", {
          method: "POST",
          cookie,
          body: form(),
          headers: { "x-csrf-token": csrf, origin: "http://evil.example" },
        });
        assert.equal(crossSite.status, 403);
        let stored = "";
        for (const f of ["db.kv", "db.kv-wal"]) {
          try {
            stored += new TextDecoder("latin1").decode(
              await Deno.readFile(`${dir}/${f}`),
            );
          } catch { /* no WAL */ }
        }
        for (const token of tokens.values()) {
          assert.ok(!stored.includes(token), "a token is in the store");
        }
      },
    );

    await t.step(
      "submit: 202 with the submission queued; the status stream moves queued (position) → running (scenario, simulated time, steps/s) → graded (score card)",
      async () => {
        const first = await upload(
          url,
          ada,
          ASSIGNMENT,
          "examples/thermostat.py",
        );
        seenByStudents.push({ what: "POST submission", text: first.text });
        assert.equal(first.status, 202, first.text);
        adaFirst = JSON.parse(first.text).submission.id;
        const second = await upload(
          url,
          alan,
          ASSIGNMENT,
          "examples/thermostat.ts",
        );
        seenByStudents.push({ what: "POST submission", text: second.text });
        assert.equal(second.status, 202, second.text);
        const view: StudentSubmissionView = JSON.parse(second.text).submission;
        alanFirst = view.id;
        assert.equal(view.status, "queued", second.text);
        assert.ok(view.queue && view.queue.position >= 1, JSON.stringify(view));
        assert.deepEqual(view.start, { kind: "deno", entry: "thermostat.ts" });
        const events = await statusEvents(url, alan, alanFirst);
        const statuses = events.map((e) => e.status);
        assert.equal(statuses[0], "queued", statuses.join(" → "));
        assert.ok(events[0]!.queue!.position >= 1);
        for (let i = 1; i < events.length; i++) {
          assert.ok(
            RANK[events[i]!.status] >= RANK[events[i - 1]!.status],
            statuses.join(" → "),
          );
        }
        const running = events.filter((e) => e.progress);
        assert.ok(
          running.length > 0,
          `no running event with progress: ${statuses.join(" → ")}`,
        );
        const p = running.at(-1)!.progress!;
        assert.ok(
          p.scenarios === 2 && p.duration === 1800 && p.t >= 0 &&
            p.stepsPerSecond >= 0,
        );
        assert.ok(
          running.every((e) =>
            ["Cool half hour (test)", "hidden case 1"].includes(
              e.progress!.label,
            )
          ),
        );
        const last = events.at(-1)!;
        assert.equal(last.status, "graded");
        const card = last.grade!;
        assert.equal(card.scenarios.length, 2);
        const [visible, hidden] = card.scenarios;
        assert.ok(
          visible && !visible.hidden && visible.scenario === "cool-half-hour",
        );
        assert.ok(visible.components.length > 0);
        assert.deepEqual(Object.keys(hidden!).sort(), [
          "case",
          "hidden",
          "label",
          "score",
          "weight",
        ]);
        assert.equal(hidden!.hidden && hidden!.label, "hidden case 1");
        // The weighted score: (1 × visible + 2 × hidden) / 3.
        const expected =
          Math.round(((visible.score + 2 * hidden!.score) / 3) * 10) / 10;
        assert.ok(
          Math.abs(card.score - expected) <= 0.05,
          `${card.score} vs ${expected}`,
        );
        const adaView = await waitGraded(url, ada, adaFirst);
        assert.equal(adaView.status, "graded");
        assert.equal(adaView.grade!.pass, adaView.grade!.score >= 50);
      },
    );

    await t.step("a student sees only their own submissions", async () => {
      const other = await asStudent(url, `/api/class/submissions/${adaFirst}`, {
        token: alan,
      });
      assert.equal(other.status, 404);
      const mine = await asStudent(url, "/api/class/submissions", {
        token: alan,
      });
      assert.deepEqual(
        JSON.parse(mine.text).submissions.map((s: { id: string }) => s.id),
        [alanFirst],
      );
      const assignments = await asStudent(url, "/api/class/assignments", {
        token: alan,
      });
      const [a] = JSON.parse(assignments.text).assignments;
      assert.equal(a.id, ASSIGNMENT);
      assert.equal(a.attemptsUsed, 1);
      assert.deepEqual(a.scenarios[1], {
        case: 2,
        hidden: true,
        label: "hidden case 1",
        weight: 2,
      });
    });

    await t.step(
      "submit CLI: prints the status and score card, exits 0 on pass, 1 on fail, 2 for a wrong token",
      async () => {
        const run = async (token: string, file: string) => {
          const out = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "cli/submit.ts",
              "--server",
              url,
              "--assignment",
              ASSIGNMENT,
              file,
            ],
            env: { FISHTANK_TOKEN: token, NO_COLOR: "1" },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = new TextDecoder().decode(out.stdout) +
            new TextDecoder().decode(out.stderr);
          seenByStudents.push({ what: `submit CLI ${file}`, text });
          return { code: out.code, text };
        };
        const pass = await run(grace, "examples/thermostat.py");
        assert.equal(pass.code, 0, pass.text);
        assert.match(pass.text, /Submitted thermostat\.py/);
        assert.match(pass.text, /PASS/);
        assert.match(pass.text, /hidden case 1/);
        const quitter = `${dir}/quitter.py`;
        await Deno.writeTextFile(
          quitter,
          "import sys\nprint('not today')\nsys.exit(0)\n",
        );
        const fail = await run(grace, quitter);
        assert.equal(fail.code, 1, fail.text);
        assert.match(fail.text, /FAIL/);
        const wrong = await run(
          "ft_" + "y".repeat(43),
          "examples/thermostat.py",
        );
        assert.equal(wrong.code, 2, wrong.text);
      },
    );

    await t.step(
      "a zip of a folder is unpacked and graded from its entry file, which imports a module beside it",
      async () => {
        const thermostat = await Deno.readTextFile("examples/thermostat.py");
        const zip = zipSync({
          "controller/settings.py": new TextEncoder().encode(
            "GREETING = 'zip'\n",
          ),
          "controller/main.py": new TextEncoder().encode(
            `import settings\nprint(settings.GREETING)\n${thermostat}`,
          ),
          "controller/notes.txt": new TextEncoder().encode("not a program"),
        });
        const path = `${dir}/controller.zip`;
        await Deno.writeFile(path, zip);
        const r = await upload(url, grace, ASSIGNMENT, path, {
          entry: "controller/main.py",
        });
        seenByStudents.push({ what: "POST zip submission", text: r.text });
        assert.equal(r.status, 202, r.text);
        const view: StudentSubmissionView = JSON.parse(r.text).submission;
        assert.deepEqual(view.files, [
          "controller/main.py",
          "controller/notes.txt",
          "controller/settings.py",
        ]);
        assert.deepEqual(view.start, {
          kind: "python3",
          entry: "controller/main.py",
        });
        const graded = await waitGraded(url, grace, view.id);
        assert.equal(graded.status, "graded");
        assert.ok(
          graded.grade!.scenarios.every((s) =>
            s.hidden || s.outcome === "completed"
          ),
          JSON.stringify(graded.grade),
        );
        assert.ok(graded.grade!.pass);
      },
    );

    await t.step(
      "teacher routes and the run pages need the teacher's login; state changes need its CSRF token and this origin",
      async () => {
        const teacherGets = [
          "/api/class/teacher/queue",
          "/api/class/teacher/assignments",
          `/api/class/teacher/assignments/${ASSIGNMENT}/grades.csv`,
          "/api/class/teacher/students",
          "/api/class/teacher/students/ada-lovelace/history",
          `/api/class/teacher/submissions/${adaFirst}`,
          "/api/class/teacher/session",
          "/api/runs",
          "/leaderboard",
          "/runs",
        ];
        const teacherPosts = [
          `/api/class/teacher/submissions/${adaFirst}/regrade`,
          `/api/class/teacher/assignments/${ASSIGNMENT}/regrade`,
          `/api/class/teacher/assignments/${ASSIGNMENT}/release`,
          `/api/class/teacher/jobs/${adaFirst}%231/cancel`,
        ];
        for (const path of teacherGets) {
          for (const token of [undefined, ada]) {
            const r = await asStudent(url, path, token ? { token } : {});
            assert.equal(r.status, 401, `${path}: ${r.status}`);
          }
        }
        for (const path of teacherPosts) {
          const r = await asStudent(url, path, { method: "POST", token: ada });
          assert.equal(r.status, 401, `${path}: ${r.status}`);
        }
        const teacher = await classTeacher(url);
        for (const path of teacherGets) {
          const r = await fetch(`${url}${path}`, {
            headers: { cookie: teacher.cookie },
          });
          await r.body?.cancel();
          assert.equal(r.status, 200, path);
        }
        const noCsrf = await fetch(`${url}${teacherPosts[2]}`, {
          method: "POST",
          headers: { cookie: teacher.cookie },
        });
        await noCsrf.body?.cancel();
        assert.equal(noCsrf.status, 403);
        const otherOrigin = await fetch(`${url}${teacherPosts[2]}`, {
          method: "POST",
          headers: {
            cookie: teacher.cookie,
            "x-csrf-token": teacher.csrf,
            origin: "http://evil.example",
          },
        });
        await otherOrigin.body?.cancel();
        assert.equal(otherOrigin.status, 403);
      },
    );

    await t.step(
      "teacher: queue, cancel a waiting job, re-grade a submission (a new attempt, stored beside the first), history, CSV export",
      async () => {
        const teacher = await classTeacher(url);
        const post = (path: string) =>
          fetch(`${url}${path}`, {
            method: "POST",
            headers: { cookie: teacher.cookie, "x-csrf-token": teacher.csrf },
          });
        // Two uploads at once with one worker: the second waits, and is cancelled.
        const busy = JSON.parse(
          (await upload(url, ada, ASSIGNMENT, "examples/fault_aware.ts"))
            .text,
        ).submission.id;
        const waiting = JSON.parse(
          (await upload(url, ada, ASSIGNMENT, "examples/starter.ts")).text,
        ).submission.id;
        const queue = await (await fetch(`${url}/api/class/teacher/queue`, {
          headers: { cookie: teacher.cookie },
        })).json();
        assert.equal(queue.workers, 1);
        assert.ok(
          queue.waiting.some((j: { id: string }) => j.id === `${waiting}#1`),
          JSON.stringify(queue),
        );
        const cancel = await post(
          `/api/class/teacher/jobs/${
            encodeURIComponent(`${waiting}#1`)
          }/cancel`,
        );
        assert.equal(cancel.status, 200, await cancel.text());
        const cancelled = await waitGraded(url, ada, waiting);
        assert.equal(cancelled.status, "cancelled");
        await waitGraded(url, ada, busy);
        const regrade = await post(
          `/api/class/teacher/submissions/${adaFirst}/regrade`,
        );
        assert.equal(regrade.status, 202, await regrade.text());
        const teacherView = await until(async () => {
          const v = await (await fetch(
            `${url}/api/class/teacher/submissions/${adaFirst}`,
            { headers: { cookie: teacher.cookie } },
          )).json();
          return v.grades.length === 2 && v.submission.status === "graded" && v;
        }, "the re-grade");
        assert.deepEqual(
          teacherView.grades.map((g: { attempt: number }) => g.attempt),
          [1, 2],
        );
        // The teacher sees the hidden scenario by name.
        assert.ok(JSON.stringify(teacherView).includes("secret-chill"));
        const history = await (await fetch(
          `${url}/api/class/teacher/students/ada-lovelace/history`,
          { headers: { cookie: teacher.cookie } },
        )).json();
        assert.deepEqual(
          history.submissions.map((s: { submission: { id: string } }) =>
            s.submission.id
          ),
          [adaFirst, busy, waiting],
        );
        const csv = await (await fetch(
          `${url}/api/class/teacher/assignments/${ASSIGNMENT}/grades.csv`,
          { headers: { cookie: teacher.cookie } },
        )).text();
        const lines = csv.trim().split("\n");
        assert.match(
          lines[0]!,
          /^student,group,attempts,any_late,best_score,best_pass,best_late,best_submission,best 1:cool-half-hour,best 2:secret-chill,latest_score/,
        );
        assert.equal(lines.length, 5);
        const adaLine = lines.find((l) =>
          l.startsWith("Ada Lovelace,7A,3,false,")
        );
        assert.ok(adaLine, csv);
        const edsger = lines.find((l) => l.startsWith("Edsger Dijkstra,7B,0,"));
        assert.ok(edsger, csv);
      },
    );

    let alanHiddenRun = "";
    await t.step(
      "run pages: a signed-in student opens the report and replay of their own visible scenarios' runs; their hidden runs, another student's and unknown ones get the same 404; without a login the page goes to /login?next=",
      async () => {
        const teacher = await classTeacher(url);
        const lastGrade = async (id: string) => {
          const v = await (await fetch(
            `${url}/api/class/teacher/submissions/${id}`,
            { headers: { cookie: teacher.cookie } },
          )).json();
          return v.grades.at(-1).scenarios as {
            runId: string;
            scenario: { id: string };
          }[];
        };
        const [alanVisible, alanHidden] = await lastGrade(alanFirst);
        const [adaVisible] = await lastGrade(adaFirst);
        assert.equal(alanHidden!.scenario.id, "secret-chill");
        alanHiddenRun = alanHidden!.runId;
        const own = alanVisible!.runId;
        // The score card's run is the one the links open.
        const card = JSON.parse(
          (await asStudent(url, `/api/class/submissions/${alanFirst}`, {
            token: alan,
          })).text,
        ).submission.grade.scenarios[0];
        assert.equal(card.runId, own);
        const paths = (run: string) => {
          const r = encodeURIComponent(run);
          return [
            `/runs/${r}`,
            `/runs/${r}/replay`,
            `/api/runs/${r}`,
            `/api/runs/${r}/series`,
            `/api/runs/${r}/messages`,
            `/api/runs/${r}/replay?t=60`,
          ];
        };
        const html = { accept: "text/html" };
        for (const path of paths(own)) {
          const r = await asStudent(url, path, { token: alan, headers: html });
          assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 300)}`);
        }
        const report = await asStudent(url, `/runs/${own}`, {
          token: alan,
          headers: html,
        });
        assert.match(report.text, /cool-half-hour/);
        // The browser's way: the session cookie of the sign-in.
        const signin = await asStudent(url, "/api/class/signin", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: alan }),
        });
        const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0]!;
        for (const path of paths(own).slice(0, 2)) {
          const r = await asStudent(url, path, { cookie, headers: html });
          assert.equal(r.status, 200, path);
        }
        const refusedBodies = new Set<string>();
        for (
          const [who, run] of [
            ["own hidden", alanHiddenRun],
            ["Ada's", adaVisible!.runId],
            ["unknown", "no-such-run"],
          ] as const
        ) {
          for (const path of paths(run)) {
            for (const auth of [{ token: alan }, { cookie }]) {
              const r = await asStudent(url, path, auth);
              assert.equal(r.status, 404, `${who} ${path}: ${r.status}`);
              refusedBodies.add(r.text);
            }
          }
        }
        assert.equal(refusedBodies.size, 1, [...refusedBodies].join("\n"));
        // Ada opens her own run, not Alan's.
        assert.equal(
          (await asStudent(url, `/api/runs/${adaVisible!.runId}`, {
            token: ada,
          })).status,
          200,
        );
        assert.equal(
          (await asStudent(url, `/api/runs/${own}`, { token: ada })).status,
          404,
        );
        // A wrong token and no login: the teacher's rules (JSON 401, the page to the login and back).
        assert.equal(
          (await asStudent(url, `/api/runs/${own}`, {
            token: "ft_" + "z".repeat(43),
          })).status,
          401,
        );
        const page = await fetch(`${url}/runs/${own}/replay`, {
          headers: html,
          redirect: "manual",
        });
        await page.body?.cancel();
        assert.equal(page.status, 303);
        assert.equal(
          page.headers.get("location"),
          `/login?next=${encodeURIComponent(`/runs/${own}/replay`)}`,
        );
        // The list pages stay the teacher's.
        for (const path of ["/runs", "/api/runs", "/leaderboard"]) {
          assert.equal(
            (await asStudent(url, path, { token: alan })).status,
            401,
            path,
          );
        }
      },
    );

    await t.step(
      "hidden scenarios: their names and words are in no response a student received, until the teacher releases them",
      async () => {
        assert.ok(seenByStudents.length > 20);
        for (const { what, text } of seenByStudents) {
          for (const word of HIDDEN_WORDS) {
            assert.ok(
              !text.includes(word),
              `"${word}" reached a student in ${what}: ${text.slice(0, 400)}`,
            );
          }
        }
        const teacher = await classTeacher(url);
        const release = await fetch(
          `${url}/api/class/teacher/assignments/${ASSIGNMENT}/release`,
          {
            method: "POST",
            headers: { cookie: teacher.cookie, "x-csrf-token": teacher.csrf },
          },
        );
        assert.equal(release.status, 200);
        const after = await asStudent(
          url,
          `/api/class/submissions/${alanFirst}`,
          { token: alan },
        );
        assert.ok(
          after.text.includes("secret-chill"),
          "released: the student now sees the scenario",
        );
        // Released: the hidden run's report opens for its student (still not for another).
        const opened = await until(async () => {
          const r = await fetch(`${url}/runs/${alanHiddenRun}`, {
            headers: { authorization: `Bearer ${alan}`, accept: "text/html" },
          });
          const text = await r.text();
          return r.status === 200 && text;
        }, "the released run's report");
        assert.match(opened, /secret-chill/);
        const other = await fetch(`${url}/api/runs/${alanHiddenRun}`, {
          headers: { authorization: `Bearer ${ada}` },
        });
        await other.body?.cancel();
        assert.equal(other.status, 404);
      },
    );

    await t.step(
      "the teacher gives a student a new token: the old one no longer signs in and its session ends; the new one works",
      async () => {
        const grace = tokens.get("Grace Hopper")!;
        const signin = await asStudent(url, "/api/class/signin", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: grace }),
        });
        assert.equal(signin.status, 200, signin.text);
        const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0]!;
        const mine = await asStudent(url, "/api/class/submissions", { cookie });
        assert.equal(mine.status, 200);

        const teacher = await classTeacher(url);
        const path = "/api/class/teacher/students/grace-hopper/token";
        const withoutCsrf = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { cookie: teacher.cookie },
        });
        await withoutCsrf.body?.cancel();
        assert.equal(
          withoutCsrf.status,
          403,
          "a teacher's POST needs the CSRF token",
        );
        const asGrace = await asStudent(url, path, {
          method: "POST",
          token: grace,
        });
        assert.equal(asGrace.status, 401, "a student cannot reset tokens");
        const reset = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { cookie: teacher.cookie, "x-csrf-token": teacher.csrf },
        });
        assert.equal(reset.status, 200);
        const { token, signedOut } = await reset.json();
        assert.match(token, /^ft_/);
        assert.notEqual(token, grace);
        assert.equal(signedOut, 1);

        const old = await asStudent(url, "/api/class/submissions", {
          token: grace,
        });
        assert.equal(old.status, 401, "the old token");
        const session = await asStudent(url, "/api/class/submissions", {
          cookie,
        });
        assert.equal(session.status, 401, "the old token's session");
        const fresh = await asStudent(url, "/api/class/submissions", { token });
        assert.equal(fresh.status, 200, fresh.text);
        const unknown = await fetch(
          `${url}/api/class/teacher/students/nobody/token`,
          {
            method: "POST",
            headers: { cookie: teacher.cookie, "x-csrf-token": teacher.csrf },
          },
        );
        assert.equal(unknown.status, 404);
        assert.match((await unknown.json()).error, /no student "nobody"/);
      },
    );
  } finally {
    await serve?.child.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
