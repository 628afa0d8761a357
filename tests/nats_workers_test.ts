/**
 * Grading on NATS JetStream with real parts: Debian's `nats-server -js` (its own port, store folder and users: one
 * for the class server, one for the workers, with only the subjects they need), `deno task serve --nats` on a store
 * on disk, and two `deno task worker` processes. 40 submissions of four example controllers; one worker SIGKILLed
 * while it grades (its job goes to the other), the NATS server stopped and started again with jobs still waiting
 * (the queue resumes). Every submission must end graded exactly once. Every wait is bounded by a number of checks.
 */

import assert from "node:assert/strict";
import { RunStore } from "../store/mod.ts";
import { Child, processTree } from "./_processes.ts";
import { freePort, ignoreWithout } from "./_peers.ts";
import {
  classFolder,
  classTeacher,
  NATS_SERVER,
  NATS_USERS,
  natsConfig,
  natsEnv,
  startNats,
  startServe,
  until,
  upload,
  workerProcess,
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
  worker?: string;
}
interface TeacherQueue {
  waiting: QueueJob[];
  running: QueueJob[];
  failed: QueueJob[];
  nats: {
    workers: {
      name: string;
      slots: number;
      busy: number;
      alive: boolean;
      jobs: { id: string }[];
    }[];
    free: number;
    waiting: number;
    positions: { job: string; position: number }[];
    note: string;
  };
}

Deno.test({
  name:
    "NATS workers: 40 submissions (and 4 more just before the restart) graded exactly once by two worker processes, across a worker SIGKILLed mid-run and a nats-server restart mid-queue",
  ignore: ignoreWithout(NATS_SERVER !== undefined, "nats-server"),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  const port = freePort();
  const natsUrl = `nats://127.0.0.1:${port}`;
  let nats: Child | undefined;
  let serve: Child | undefined;
  const workers = new Map<string, Child>();
  const orphans = new Set<number>();
  try {
    nats = await startNats(port, dir, natsConfig(port, dir));
    const started = await startServe(dir, {
      nats: natsUrl,
      assignments: ASSIGNMENTS,
      env: natsEnv(NATS_USERS.server),
    });
    serve = started.child;
    const { url, tokens } = started;
    assert.match(serve.output, /grading on NATS/);
    const teacher = await classTeacher(url);
    const queue = async () =>
      await (await fetch(`${url}/api/class/teacher/queue`, {
        headers: { cookie: teacher.cookie },
      })).json() as TeacherQueue;

    // No worker yet: the console says so plainly.
    const students = [...tokens.values()];
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await upload(
        url,
        students[i % 4]!,
        "pool",
        CONTROLLERS[Math.floor(i / 4) % 4]!,
      );
      assert.equal(r.status, 202, `${r.text}\n${serve.output}`);
      ids.push(JSON.parse(r.text).submission.id);
    }
    const before = await queue();
    assert.match(
      before.nats.note,
      /^No worker is connected: 40 submissions wait/,
    );
    assert.deepEqual(before.nats.positions.slice(0, 2).map((p) => p.position), [
      1,
      2,
    ]);

    // A worker with the wrong password is refused by NATS.
    const intruder = workerProcess(
      ["--nats", natsUrl],
      natsEnv({ user: NATS_USERS.worker.user, pass: "wrong" }),
    );
    assert.equal((await intruder.exit(30_000)).code, 2);
    assert.match(intruder.output, /Cannot connect/);

    for (const name of ["w1", "w2"]) {
      const child = workerProcess(["--nats", natsUrl, "--name", name]);
      await child.waitFor(/Worker w\d on nats/, 60_000);
      workers.set(name, child);
    }

    // Both workers busy, jobs waiting: "no worker is free", with the queue position.
    const busy = await until(async () => {
      const q = await queue();
      const w1 = q.nats.workers.find((w) => w.name === "w1");
      const graded = 40 - q.waiting.length - q.running.length - q.failed.length;
      return graded >= 2 && q.nats.free === 0 && w1?.jobs.length === 1 &&
        q.running.some((j) => j.id === w1.jobs[0]!.id && j.worker === "w1") &&
        q.waiting.length > 10 && q;
    }, "both workers busy, w1 on a job, some graded");
    assert.match(
      busy.nats.note,
      /^No worker is free: all 2 slots of 2 workers are busy; \d+ submissions wait \(the next at position 1\)/,
    );
    const killedJob = busy.nats.workers.find((w) =>
      w.name === "w1"
    )!.jobs[0]!.id;

    // w1 dies without warning in the middle of its run.
    const w1 = workers.get("w1")!;
    for (const pid of processTree(w1.process.pid)) orphans.add(pid);
    w1.process.kill("SIGKILL");
    await w1.process.status;
    await w1.kill();
    workers.delete("w1");

    // Its job goes back and is graded by w2.
    await until(async () => {
      const q = await queue();
      const job = q.running.find((j) => j.id === killedJob);
      return job?.worker === "w2" ||
        (!job && !q.waiting.some((j) => j.id === killedJob));
    }, `job ${killedJob} taken by w2`);

    // nats-server stopped and started again on its store while jobs still wait. On a quiet machine w2 may have
    // graded every job while w1's was waiting for its lease to lapse, so four more submissions go in first (grading
    // one takes seconds; reading the queue, milliseconds).
    for (let i = 0; i < 4; i++) {
      const r = await upload(url, students[i]!, "pool", CONTROLLERS[i]!);
      assert.equal(r.status, 202, `${r.text}\n${serve.output}`);
      ids.push(JSON.parse(r.text).submission.id);
    }
    const waitingThen = (await queue()).waiting.length;
    assert.ok(waitingThen > 0, "jobs still waiting at the restart");
    await nats.kill();
    nats = await startNats(port, dir, natsConfig(port, dir));

    const final = await until(
      async () => {
        const q = await queue();
        return q.waiting.length + q.running.length === 0 && q;
      },
      "the queue to empty",
      { tries: 4800 },
    );
    assert.deepEqual(final.failed, [], "no job failed");

    const runIds: string[] = [];
    for (const id of ids) {
      const view = await (await fetch(
        `${url}/api/class/teacher/submissions/${id}`,
        { headers: { cookie: teacher.cookie } },
      )).json();
      assert.equal(view.submission.status, "graded", JSON.stringify(view));
      assert.equal(view.grades.length, 1, `submission ${id} graded once`);
      assert.equal(view.job.state, "done");
      // Graded again by w2, unless w1 had sent its result in the moment before the SIGKILL (a quiet machine):
      // either way once.
      if (view.job.id === killedJob && view.job.worker !== "w1") {
        assert.ok(view.job.claims >= 2, `${killedJob} was claimed again`);
        assert.equal(view.job.worker, "w2", `${killedJob} graded by w2`);
      }
      runIds.push(view.grades[0].scenarios[0].runId);
    }
    assert.equal(new Set(runIds).size, ids.length);
    assert.match(workers.get("w2")!.output, /graded/);
    await serve.kill();
    serve = undefined;

    // The store holds exactly the graded runs, imported from the workers' results.
    const runs = await RunStore.open(`${dir}/db.kv`);
    try {
      const stored = await runs.listRuns();
      assert.deepEqual(
        stored.map((r) => r.runId).sort(),
        [...runIds].sort(),
        "one stored run per graded scenario, nothing else",
      );
    } finally {
      await runs.close();
    }
  } finally {
    for (const w of workers.values()) await w.kill();
    await serve?.kill();
    await nats?.kill();
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
