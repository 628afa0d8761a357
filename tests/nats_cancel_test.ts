/**
 * A teacher cancels jobs of a class graded on NATS, and a result larger than a message goes through the object store:
 * Debian's `nats-server -js` with the README's users and a `max_payload` of 256 KB, `deno task serve --nats` and one
 * `deno task worker`.
 *
 * - A job cancelled while it waits in the stream: the worker pulls it, begins grading while it asks the server, hears
 *   "cancelled", stops, and grades the next job; the cancelled one gets no grade, and its scratch folder is gone.
 * - A job cancelled while the worker grades it (eight days of a thermostat): the server tells the worker to stop, the
 *   worker says so, and the student's submission says "cancelled" rather than running on.
 * - Six hours of a thermostat (its gzipped records larger than 256 KB): the worker puts the result in chunks in the
 *   `fishtank_results` object store (with the worker's own NATS rights), the server stores the run from it, whole, and
 *   removes the object.
 *
 * Every wait is bounded by a number of checks.
 */

import assert from "node:assert/strict";
import { connect } from "nats";
import { NATS_NAMES } from "../server/mod.ts";
import { Child } from "./_processes.ts";
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
  studentView,
  until,
  upload,
  workerProcess,
} from "./_class_server.ts";

Deno.test({
  name:
    "NATS cancelling and large results: a job cancelled in the stream is skipped by the worker that pulls it; one cancelled mid-run is stopped and its submission says cancelled; a result larger than max_payload goes through the object store",
  ignore: ignoreWithout(NATS_SERVER !== undefined, "nats-server"),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  const port = freePort();
  const natsUrl = `nats://127.0.0.1:${port}`;
  const children: Child[] = [];
  try {
    children.push(
      await startNats(port, dir, natsConfig(port, dir, "", "256KB")),
    );
    const serve = await startServe(dir, {
      nats: natsUrl,
      assignments: "tests/fixtures/class/cancel_assignments.yaml",
      env: natsEnv(NATS_USERS.server),
    });
    children.push(serve.child);
    const url = serve.url;
    const teacher = await classTeacher(url);
    const get = async (path: string) =>
      await (await fetch(`${url}${path}`, {
        headers: { cookie: teacher.cookie },
      })).json();
    const cancel = async (job: string) => {
      const r = await fetch(
        `${url}/api/class/teacher/jobs/${encodeURIComponent(job)}/cancel`,
        {
          method: "POST",
          headers: { cookie: teacher.cookie, "x-csrf-token": teacher.csrf },
        },
      );
      assert.equal(r.status, 200, await r.text());
    };
    const [first, second] = [...serve.tokens.values()];
    const submit = async (token: string, path: string, assignment = "pool") => {
      const r = await upload(url, token, assignment, path);
      assert.equal(r.status, 202, r.text);
      return JSON.parse(r.text).submission.id as string;
    };

    // Two jobs in the stream before any worker is there; the first is cancelled.
    const dropped = await submit(first!, "examples/thermostat.py");
    const kept = await submit(second!, "examples/thermostat.ts");
    const nc = await connect({ servers: natsUrl, ...NATS_USERS.server });
    await until(async () => {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info(NATS_NAMES.jobsStream);
      return info.state.messages === 2;
    }, "both jobs in the stream");
    await nc.close();
    const droppedJob = (await get(`/api/class/teacher/submissions/${dropped}`))
      .job.id;
    await cancel(droppedJob);

    // The sealed runs' users must reach the controllers' folders in it.
    await Deno.chmod(dir, 0o755);
    const scratch = `${dir}/worker-tmp`;
    await Deno.mkdir(scratch, { mode: 0o755 });
    const worker = workerProcess(["--nats", natsUrl, "--name", "w1"], {
      ...natsEnv(NATS_USERS.worker),
      TMPDIR: scratch,
    });
    children.push(worker);
    await worker.waitFor(/Worker w1 on nats/, 60_000);
    const keptView = await until(async () => {
      const v = await get(`/api/class/teacher/submissions/${kept}`);
      return v.submission.status === "graded" && v;
    }, "the second job graded");
    assert.equal(keptView.grades.length, 1);
    assert.notEqual(keptView.runs?.[0]?.outcome ?? "completed", "crashed");
    assert.match(
      worker.output,
      new RegExp(`job ${droppedJob}: skipped \\(job cancelled\\)`),
    );
    const droppedView = await get(`/api/class/teacher/submissions/${dropped}`);
    assert.equal(droppedView.submission.status, "cancelled");
    assert.deepEqual(droppedView.grades, []);
    // The grading begun while the worker asked was stopped and cleaned up after.
    await until(async () => {
      const left = [];
      for await (const e of Deno.readDir(`${scratch}/fishtank-class`)) {
        left.push(e.name);
      }
      return left.length === 0;
    }, "the worker's scratch folders removed");

    // Six hours: a result larger than a message.
    const morning = await submit(second!, "examples/thermostat.ts", "morning");
    const morningView = await until(async () => {
      const v = await get(`/api/class/teacher/submissions/${morning}`);
      return v.submission.status === "graded" && v;
    }, "the morning graded");
    const runId = morningView.grades[0].scenarios[0].runId;
    const run = await get(`/api/runs/${runId}`);
    assert.equal(run.meta.outcome, "completed");
    const { total } = await get(`/api/runs/${runId}/messages?limit=1`);
    assert.ok(total > 10_000, `${total} records`);
    const nc2 = await connect({ servers: natsUrl, ...NATS_USERS.server });
    const objects = await (await nc2.jetstream().views.os(
      NATS_NAMES.resultsBucket,
    )).list();
    await nc2.close();
    assert.deepEqual(objects.map((o) => o.name), [], "result objects removed");

    // Eight days: cancelled once the first is under way.
    const stuck = await submit(first!, "examples/thermostat.ts", "week");
    const stuckJob = await until(async () => {
      const v = await get(`/api/class/teacher/submissions/${stuck}`);
      return v.job?.state === "running" && v.job.worker === "w1" &&
        v.job.progress?.t > 0 && v.job.id;
    }, "the week's job under way on w1");
    await cancel(stuckJob);
    await worker.waitFor(
      new RegExp(`job ${stuckJob}: stopped: the server cancelled it`),
      60_000,
    );
    const stuckView = await until(async () => {
      const v = await get(`/api/class/teacher/submissions/${stuck}`);
      return v.submission.status === "cancelled" && v;
    }, "the submission marked cancelled");
    assert.equal(stuckView.job.state, "cancelled");
    assert.deepEqual(stuckView.grades, []);
    // The student is told too.
    const student = await studentView(url, first!, stuck);
    assert.equal(student.status, "cancelled");
  } finally {
    for (const child of children.reverse()) await child.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
