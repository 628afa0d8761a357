/**
 * `deno task export`, `import` and `backup` from the command line, on a real graded run in a Deno KV file: the run
 * goes out as JSON Lines and CSV, comes back into another store graded to the same numbers, a bad file names its
 * line and field and stores nothing, and a backup taken while runs are being written is a consistent store.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { gradeStoredRun } from "../harness/grading/mod.ts";
import { emptyRunStats, type RunMeta, RunStore } from "../store/mod.ts";
import { Child } from "./_processes.ts";
import { withGrading } from "./_grading.ts";

/** The command of `deno task {name}`, with the task's permissions. */
function task(name: string, args: string[]): Child {
  // Deno's SQLite allows ATTACH (behind VACUUM INTO) only with every permission.
  const permissions = name === "backup"
    ? ["-A"]
    : ["--allow-read", "--allow-write", "--allow-env"];
  return new Child(Deno.execPath(), [
    "run",
    ...permissions,
    "cli/transfer.ts",
    name,
    ...args,
  ]);
}

Deno.test("a graded run exported, imported elsewhere and rescored gives the same grade; bad files store nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-transfer-" });
  const from = join(dir, "from.kv");
  const to = join(dir, "to.kv");
  try {
    const { runId, original } = await withGrading(async ({ store, grade }) => {
      const { runId } = await grade("examples/thermostat.ts", {
        student: "ada",
      });
      return { runId, original: await gradeStoredRun(store, runId) };
    }, { store: await RunStore.open(from) });

    const jsonl = join(dir, "run.jsonl");
    const csv = join(dir, "readings.csv");
    const exported = task("export", [
      runId,
      `--db=${from}`,
      `--out=${jsonl}`,
      `--csv=${csv}`,
    ]);
    assert.equal((await exported.exit()).code, 0, exported.output);
    const lines = (await Deno.readTextFile(jsonl)).trimEnd().split("\n");
    assert.equal(JSON.parse(lines[0]!).meta.runId, runId);
    const rows = (await Deno.readTextFile(csv)).trimEnd().split("\n");
    assert.equal(
      rows[0],
      "t,time,temperature,room_temperature,ph,oxygen,light,level",
    );
    // short-day: 6 h at a 10 s publish period, plus the first batch.
    assert.equal(rows.length - 1, 2161);
    assert.match(
      rows[1]!,
      /^0,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,2\d\.\d+,/,
    );

    const imported = task("import", [jsonl, `--db=${to}`]);
    assert.equal((await imported.exit()).code, 0, imported.output);
    const again = task("import", [jsonl, `--db=${to}`]);
    assert.equal((await again.exit()).code, 2);
    assert.match(again.output, /exists/);
    assert.match(again.output, /--as <new-id>/);
    const renamed = task("import", [jsonl, `--db=${to}`, "--as=copy-of-ada"]);
    assert.equal((await renamed.exit()).code, 0, renamed.output);

    // A record with a bad kind on line 5: named, and nothing stored.
    const broken = join(dir, "broken.jsonl");
    const bad = JSON.parse(lines[4]!);
    bad.kind = "gossip";
    await Deno.writeTextFile(
      broken,
      [...lines.slice(0, 4), JSON.stringify(bad), ...lines.slice(5)].join("\n"),
    );
    const refused = task("import", [broken, `--db=${to}`, "--as=broken"]);
    assert.equal((await refused.exit()).code, 2);
    assert.match(refused.output, /broken\.jsonl:5: kind: expected publish \|/);

    const store = await RunStore.open(to);
    try {
      assert.deepEqual(
        (await store.listRuns()).map((r) => r.runId).sort(),
        ["copy-of-ada", runId].sort(),
      );
      assert.deepEqual(await gradeStoredRun(store, runId), original);
      const copy = await gradeStoredRun(store, "copy-of-ada");
      assert.equal(copy.score, original.score);
      assert.deepEqual(copy.kpis, original.kpis);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task backup copies a store consistently while another process is writing runs into it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-backup-" });
  const live = join(dir, "live.kv");
  const store = await RunStore.open(live);
  const meta = (n: number): RunMeta => ({
    runId: `run-${n}`,
    scenario: { id: "s", version: 1, title: "S", hash: "", source: "" },
    seed: 1,
    simulatorVersion: "test",
    controller: { command: null, exitCode: null, signal: null },
    student: "writer",
    tank: "tank1",
    root: "fishtank",
    mode: "record",
    ackMode: "none",
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
  });
  let writing = true;
  const writer = (async () => {
    // Bounded: at most 40 runs of 2,000 records each.
    for (let n = 0; n < 40 && writing; n++) {
      await store.createRun(meta(n));
      const recorder = store.recorder(`run-${n}`);
      for (let i = 0; i < 2000; i++) {
        recorder.append({
          t: i,
          wall: 0,
          kind: "note",
          client: "$harness",
          topic: "x",
          payload: new Uint8Array(64),
          qos: 0,
          retain: false,
        });
        if (i % 500 === 0) await recorder.flush();
      }
      await recorder.close();
      await store.finishRun(`run-${n}`, { outcome: "completed" });
    }
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const copies = [join(dir, "copy-1.kv"), join(dir, "copy-2.kv")];
    for (const copy of copies) {
      const backup = task("backup", [copy, `--db=${live}`]);
      assert.equal((await backup.exit()).code, 0, backup.output);
    }
    const exists = task("backup", [copies[0]!, `--db=${live}`]);
    assert.equal((await exists.exit()).code, 2);
    assert.match(exists.output, /exists: choose a new file/);
    for (const copy of copies) {
      assert.equal((await Deno.stat(copy)).mode! & 0o777, 0o600);
      const backup = await RunStore.open(copy);
      try {
        const runs = await backup.listRuns();
        assert.ok(runs.length > 0, "the copy has runs");
        for (const run of runs) {
          // Every stored run's records are whole and numbered without gaps.
          let seq = 0;
          for await (const record of backup.messages(run.runId)) {
            assert.equal(record.seq, seq++);
          }
          assert.equal(seq, await backup.countMessages(run.runId));
          if (run.outcome === "completed") assert.equal(seq, 2000);
        }
      } finally {
        await backup.close();
      }
    }
  } finally {
    writing = false;
    await writer;
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
