/**
 * `deno task grade` killed with SIGKILL at several points of a run (starting, early, well into the simulated day):
 * every record it committed is in the store, whole and numbered without gaps; the next start marks the run
 * interrupted; and the next run is graded normally, in a run of its own.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RunStore } from "../store/mod.ts";
import { Child } from "./_processes.ts";

function grade(db: string, scenario: string): Child {
  return new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/grade.ts",
    "grade",
    "--controller=examples/thermostat.ts",
    `--scenario=${scenario}`,
    `--db=${db}`,
    "--name=killed",
    "--quiet",
  ]);
}

/**
 * Waits until the store at `db` holds `index + 1` runs and the newest has at least `records` committed records,
 * looking every 50 ms for at most two minutes; fails with the grader's output if it ends first.
 */
async function committed(
  db: string,
  index: number,
  records: number,
  child: Child,
): Promise<void> {
  const deadline = performance.now() + 120_000;
  let ended = false;
  child.process.status.then(() => ended = true);
  for (;;) {
    assert.ok(
      !ended,
      `the grader ended before it was killed:\n${child.output}`,
    );
    assert.ok(
      performance.now() < deadline,
      `no run ${index + 1} with ${records} records in two minutes`,
    );
    try {
      const store = await RunStore.open(db);
      try {
        const runs = await store.listRuns();
        if (
          runs.length === index + 1 &&
          await store.countMessages(runs[0]!.runId) >= records
        ) return;
      } finally {
        await store.close();
      }
    } catch {
      // not created yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("a grading harness SIGKILLed mid-run loses nothing it committed; the next start marks it interrupted and grades on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-kill-" });
  const db = join(dir, "runs.kv");
  try {
    // Killed at growing points of a three-day scenario, told by what the store holds (not by wall time, which a
    // busy machine stretches): once the run has its first records, early in the day, later.
    for (const [index, records] of [[0, 1], [1, 500], [2, 3_000]] as const) {
      const child = grade(db, "long-weekend");
      await committed(db, index, records, child);
      child.process.kill("SIGKILL");
      const status = await child.exit();
      assert.equal(status.signal, "SIGKILL", child.output);
    }
    const counts = new Map<string, number>();
    {
      const store = await RunStore.open(db);
      try {
        const marked = await store.markInterrupted();
        const runs = await store.listRuns();
        assert.equal(runs.length, 3, "one run per start");
        // Each start marked the run before it; the last one is marked here.
        assert.deepEqual(marked, [runs[0]!.runId]);
        for (const run of runs) {
          assert.equal(run.outcome, "interrupted");
          let seq = 0;
          let lastT = 0;
          for await (const record of store.messages(run.runId)) {
            assert.equal(record.seq, seq++, `${run.runId}: no gap`);
            assert.equal(record.runId, run.runId);
            assert.ok(record.t >= lastT, "time never goes back");
            lastT = record.t;
          }
          assert.equal(seq, await store.countMessages(run.runId));
          counts.set(run.runId, seq);
        }
        // The later kills came later in the day: more was committed.
        const ordered = runs.map((r) => counts.get(r.runId)!).reverse();
        assert.ok(ordered.at(-1)! > ordered[0]!, ordered.join(" < "));
      } finally {
        await store.close();
      }
    }

    const next = grade(db, "tests/fixtures/scenarios/short-day.yaml");
    const status = await next.exit(60_000);
    assert.equal(status.code, 0, next.output);
    const store = await RunStore.open(db);
    try {
      const runs = await store.listRuns();
      assert.equal(runs.length, 4);
      assert.equal(runs[0]!.outcome, "completed");
      assert.equal(runs[0]!.scenario.id, "short-day");
      for (const run of runs.slice(1)) {
        assert.equal(run.outcome, "interrupted");
        assert.equal(
          await store.countMessages(run.runId),
          counts.get(run.runId),
        );
      }
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
