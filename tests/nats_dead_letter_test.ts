/**
 * A job no worker can grade ends on the dead-letter subject: Debian's `nats-server -js`, `deno task serve --nats`
 * and one `deno task worker` whose temporary folder cannot be made (TMPDIR under a file), so every grading throws.
 * The worker (`--backoff 1`) naks each delivery with a back-off of 1 s; after the fifth, JetStream gives up and the
 * server copies the job to `fishtank.dead.<job>` and marks it failed, and the teacher's queue shows it. The worker's
 * lease on the job it failed is still running then: the server goes by the worker's beats, which no longer list it.
 * Every wait is bounded by a number of checks.
 */

import assert from "node:assert/strict";
import { Child } from "./_processes.ts";
import { freePort, ignoreWithout } from "./_peers.ts";
import {
  classFolder,
  classTeacher,
  NATS_SERVER,
  startNats,
  startServe,
  TEACHER_PASSWORD,
  until,
  upload,
  workerProcess,
} from "./_class_server.ts";

Deno.test({
  name:
    "NATS dead letters: a job whose grading throws on every delivery is given up after 5, copied to fishtank.dead.* and failed in the teacher's queue",
  ignore: ignoreWithout(NATS_SERVER !== undefined, "nats-server"),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  const port = freePort();
  const natsUrl = `nats://127.0.0.1:${port}`;
  const children: Child[] = [];
  const env = {
    FISHTANK_TEACHER_PASSWORD: TEACHER_PASSWORD,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
  };
  try {
    children.push(await startNats(port, dir));
    const serve = await startServe(dir, {
      nats: natsUrl,
      assignments: "tests/fixtures/class/pool_assignment.yaml",
    });
    children.push(serve.child);
    const url = serve.url;
    // A file where the worker's temporary folder should go: every grading fails before it starts a controller.
    await Deno.writeTextFile(`${dir}/not-a-folder`, "");
    const worker = workerProcess(
      ["--nats", natsUrl, "--name", "broken", "--backoff", "1"],
      { ...env, TMPDIR: `${dir}/not-a-folder` },
    );
    children.push(worker);
    await worker.waitFor(/Worker broken on nats/, 60_000);

    const token = [...serve.tokens.values()][0]!;
    const r = await upload(url, token, "pool", "examples/thermostat.py");
    assert.equal(r.status, 202, r.text);
    const id = JSON.parse(r.text).submission.id;

    const teacher = await classTeacher(url);
    const q = await until(async () => {
      const queue = await (await fetch(`${url}/api/class/teacher/queue`, {
        headers: { cookie: teacher.cookie },
      })).json();
      return queue.failed.length === 1 && queue.nats.deadLetters.length === 1 &&
        queue;
    }, "the job to be dead-lettered");
    assert.equal(q.failed[0].submissionId, id);
    assert.match(
      q.failed[0].error,
      /gave up after 5 deliveries \(dead letter on fishtank\.dead\./,
    );
    assert.equal(q.nats.deadLetters[0].job, q.failed[0].id);
    assert.equal(q.nats.deadLetterSubject, "fishtank.dead.>");
    assert.equal(
      (worker.output.match(/failed \(delivery \d/g) ?? []).length,
      5,
    );
    const view = await (await fetch(
      `${url}/api/class/teacher/submissions/${id}`,
      { headers: { cookie: teacher.cookie } },
    )).json();
    assert.equal(view.submission.status, "failed");
    assert.deepEqual(view.grades, []);
  } finally {
    for (const child of children.reverse()) await child.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
