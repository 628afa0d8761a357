/**
 * The class server's worker pool with real parts: `deno task serve` with two workers on a store on disk, 40
 * submissions of four example controllers, the server killed with SIGKILL while jobs run, then started again. Every
 * submission must end graded exactly once: one grade per submission, one stored run per graded scenario, no partial
 * runs left, and the jobs that were running graded again by the new server.
 */

import assert from "node:assert/strict";
import { RunStore } from "../store/mod.ts";
import { processTree } from "./_processes.ts";
import {
  classFolder,
  classTeacher,
  type ServeProcess,
  startServe,
  until,
  upload,
} from "./_class_server.ts";

const ASSIGNMENTS = "tests/fixtures/class/pool_assignment.yaml";
const CONTROLLERS = [
  "examples/thermostat.py",
  "examples/thermostat.ts",
  "examples/fault_aware.ts",
  "examples/starter.ts",
];

interface QueueJob {
  id: string;
  submissionId: string;
  claims: number;
}

Deno.test({
  name:
    "worker pool: 40 submissions of four example controllers graded exactly once, across a SIGKILL of the server mid-run and a restart",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  let serve: ServeProcess | undefined;
  const orphans = new Set<number>();
  try {
    serve = await startServe(dir, { workers: 2, assignments: ASSIGNMENTS });
    const students = [...serve.tokens.values()];
    assert.equal(students.length, 4);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await upload(
        serve.url,
        students[i % 4]!,
        "pool",
        CONTROLLERS[Math.floor(i / 4) % 4]!,
      );
      assert.equal(r.status, 202, `${r.text}\n${serve.child.output}`);
      ids.push(JSON.parse(r.text).submission.id);
    }
    assert.equal(new Set(ids).size, 40);

    // A student signed in on the web page before the crash.
    const signin = await fetch(`${serve.url}/api/class/signin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: students[0] }),
    });
    assert.equal(signin.status, 200);
    const studentCookie = (signin.headers.get("set-cookie") ?? "").split(
      ";",
    )[0]!;
    const { csrf: studentCsrf } = await signin.json();
    assert.match(studentCookie, /^fishtank_student=./);

    // Wait until a few are graded and jobs are running, then kill the server without warning.
    let teacher = await classTeacher(serve.url);
    const queueOf = async (url: string) =>
      await (await fetch(`${url}/api/class/teacher/queue`, {
        headers: { cookie: teacher.cookie },
      })).json() as {
        waiting: QueueJob[];
        running: QueueJob[];
        failed: QueueJob[];
      };
    const atKill = await until(async () => {
      const q = await queueOf(serve!.url);
      const done = 40 - q.waiting.length - q.running.length - q.failed.length;
      return done >= 4 && q.running.length >= 1 && q.waiting.length > 0 && q;
    }, "some graded and some running");
    const runningAtKill = atKill.running.map((j) => j.id);
    for (const pid of processTree(serve.child.process.pid)) orphans.add(pid);
    serve.child.process.kill("SIGKILL");
    await serve.child.process.status;
    await serve.child.kill();

    serve = await startServe(dir, { workers: 2, assignments: ASSIGNMENTS });
    assert.match(serve.child.output, /Requeued \d+ job\(s\)/);

    // Still signed in after the restart: the session lives in the store, and its CSRF token still holds.
    const me = await fetch(`${serve.url}/api/class/me`, {
      headers: { cookie: studentCookie },
    });
    assert.equal(me.status, 200, await me.clone().text());
    assert.equal((await me.json()).student.name, [...serve.tokens.keys()][0]);
    const signout = await fetch(`${serve.url}/api/class/signout`, {
      method: "POST",
      headers: {
        cookie: studentCookie,
        "x-csrf-token": studentCsrf,
        origin: serve.url,
      },
    });
    assert.equal(signout.status, 200, await signout.clone().text());
    const after = await fetch(`${serve.url}/api/class/me`, {
      headers: { cookie: studentCookie },
    });
    assert.equal(after.status, 401, "signed out");
    await after.body?.cancel();
    teacher = await classTeacher(serve.url);
    const final = await until(
      async () => {
        const q = await queueOf(serve!.url);
        return q.waiting.length + q.running.length === 0 && q;
      },
      "the queue to empty",
      { tries: 4800 },
    );
    assert.deepEqual(final.failed, [], "no job failed");

    const runIds: string[] = [];
    for (const id of ids) {
      const view: {
        submission: { status: string };
        job: { id: string; state: string; claims: number };
        grades: { scenarios: { runId: string }[] }[];
      } = await (await fetch(
        `${serve.url}/api/class/teacher/submissions/${id}`,
        { headers: { cookie: teacher.cookie } },
      )).json();
      assert.equal(view.submission.status, "graded", JSON.stringify(view));
      assert.equal(view.grades.length, 1, `submission ${id} graded once`);
      assert.equal(view.job.state, "done");
      if (runningAtKill.includes(view.job.id)) {
        assert.ok(view.job.claims >= 2, `${view.job.id} was graded again`);
      }
      runIds.push(view.grades[0]!.scenarios[0]!.runId);
    }
    assert.equal(new Set(runIds).size, 40);
    await serve.child.kill();
    serve = undefined;

    // The store holds exactly the graded runs: the killed claims' partial runs were removed.
    const runs = await RunStore.open(`${dir}/db.kv`);
    try {
      const stored = await runs.listRuns();
      assert.deepEqual(
        stored.map((r) => r.runId).sort(),
        [...runIds].sort(),
        "one stored run per graded scenario, nothing else",
      );
      assert.ok(
        stored.every((r) =>
          r.outcome !== "running" && r.outcome !== "interrupted"
        ),
      );
    } finally {
      await runs.close();
    }
  } finally {
    await serve?.child.kill();
    // Controllers of the killed server's runs had no one left to stop them: stop those (by pid) that still live.
    for (const pid of orphans) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
