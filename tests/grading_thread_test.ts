/**
 * The class server's grading threads with real parts: a thread grades a job of `examples/thermostat.py` on a
 * half-hour scenario as a sealed run (its own broker) and hands back the run's records and digest; a job stopped
 * midway ends as stopped and the thread takes the next one; a thread that dies of an uncaught error fails its job
 * and leaves the process running.
 */

import assert from "node:assert/strict";
import { importRun } from "../harness/grading/mod.ts";
import { RunStore } from "../store/mod.ts";
import {
  GradingThread,
  type NatsJob,
  ThreadGradingError,
  toBase64,
} from "../server/mod.ts";

const SCENARIO = "tests/fixtures/scenarios/cool-half-hour.yaml";

async function job(id: string): Promise<NatsJob> {
  const controller = await Deno.readFile("examples/thermostat.py");
  return {
    id,
    attempt: 1,
    submission: {
      id: `sub-${id}`,
      studentId: "s1",
      student: "Ada",
      group: "",
      assignmentId: "a1",
      number: 1,
      createdAt: new Date().toISOString(),
      late: false,
      start: { kind: "python3", entry: "thermostat.py" },
      files: [{ path: "thermostat.py", size: controller.length, chunks: 1 }],
      attempt: 1,
      status: "queued",
    },
    assignment: {
      id: "a1",
      title: "One half hour",
      scenarios: [{ scenario: SCENARIO, weight: 1, hidden: false }],
      passMark: 50,
      commands: ["python3"],
      released: false,
    },
    files: [{ path: "thermostat.py", data: toBase64(controller) }],
    scenarios: [{ file: SCENARIO, text: await Deno.readTextFile(SCENARIO) }],
    publishedAt: Date.now(),
  };
}

const options = { tank: "tank1", stepTimeoutMs: 100, connectTimeoutMs: 10_000 };

Deno.test({
  name:
    "a grading thread grades a job as a sealed run and hands back its records and digest; a stopped job ends as stopped",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const thread = await GradingThread.start();
  try {
    // Stopped at its first progress report: the promise rejects as stopped, and the thread stays usable.
    const stop = new AbortController();
    const stopped = await thread.grade(await job("j1"), options, {
      signal: stop.signal,
      progress: () => stop.abort(),
    }).then(() => undefined, (error) => error);
    assert.ok(stopped instanceof ThreadGradingError, String(stopped));
    assert.equal(stopped.stopped, true);
    assert.equal(thread.alive, true);

    const seen: number[] = [];
    const result = await thread.grade(await job("j2"), options, {
      signal: new AbortController().signal,
      progress: (p) => seen.push(p.t),
    });
    assert.ok(seen.length > 0, "no progress was reported");
    assert.equal(result.job, "j2");
    assert.equal(result.grade.scenarios.length, 1);
    assert.equal(result.grade.scenarios[0]!.outcome, "completed");
    assert.ok(result.grade.score > 50, `score ${result.grade.score}`);
    assert.equal(result.runs.length, 1);
    const run = result.runs[0]!;
    assert.ok(run.lines.length > 100, `${run.lines.length} lines`);
    assert.ok(run.digest, "the run's digest came back");

    // The records import into a store of this thread, with the digest as it came: the same grade.
    const dir = await Deno.makeTempDir({ prefix: "grading-thread-test-" });
    const store = await RunStore.open(`${dir}/runs.kv`);
    try {
      const meta = await importRun(store, run.lines, {
        file: "thread result",
        digest: run.digest,
      });
      assert.equal(meta.runId, run.runId);
      assert.equal(meta.grade?.score, result.grade.scenarios[0]!.score);
      assert.equal(await store.countMessages(run.runId), run.lines.length - 1);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await thread.close();
  }
});

Deno.test({
  name:
    "a grading thread that dies of an uncaught error fails its job as not stopped; the process goes on",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const thread = await GradingThread.start(
    new URL("./fixtures/threads/crashing_thread.ts", import.meta.url),
  );
  try {
    const error = await thread.grade(await job("j3"), options, {
      signal: new AbortController().signal,
      progress: () => {},
    }).then(() => undefined, (error) => error);
    assert.ok(error instanceof ThreadGradingError, String(error));
    assert.equal(error.stopped, false);
    assert.match(error.message, /boom in the grading thread/);
    assert.equal(thread.alive, false);
    // A dead thread refuses more work at once rather than hanging.
    await assert.rejects(
      thread.grade(await job("j4"), options, {
        signal: new AbortController().signal,
        progress: () => {},
      }),
      ThreadGradingError,
    );
  } finally {
    await thread.close();
  }
});
