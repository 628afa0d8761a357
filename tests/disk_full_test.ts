/**
 * `deno task grade` onto a data store whose disk fills up during a run: a harness error (exit code 2) that names the
 * store and the error, reports written elsewhere and marked incomplete, the controller stopped, and the runs stored
 * before intact. Needs root to mount a small tmpfs; without it the test is skipped (and fails under
 * `FISHTANK_REQUIRE_PEERS=1`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RunStore } from "../store/mod.ts";
import { SHORT_DAY, THERMOSTAT } from "../web/testing.ts";
import { ignoreWithout } from "./_peers.ts";
import { Child } from "./_processes.ts";

const isRoot = Deno.uid() === 0;

function grade(db: string, controller: string, reports: string): Child {
  return new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/grade.ts",
    "grade",
    `--controller=${controller}`,
    `--scenario=${SHORT_DAY}`,
    `--db=${db}`,
    "--name=disk-full",
    "--quiet",
    `--json=${reports}.json`,
    `--junit=${reports}.xml`,
    `--markdown=${reports}.md`,
  ]);
}

/** Pids of processes whose command line holds `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(marker)) pids.push(Number(entry.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function mount(args: string[]): Promise<void> {
  const out = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

Deno.test({
  name:
    "grading onto a full disk: exit 2 naming the store and the error, reports marked incomplete, no controller left, earlier runs intact",
  ignore: ignoreWithout(isRoot, "root (to mount a 5 MB tmpfs)"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fishtank-disk-full-" });
    const small = join(dir, "small");
    await Deno.mkdir(small);
    await mount(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", small]);
    // The controller's command line carries a marker, so that a controller left running can be found.
    const marker = `disk-full-${crypto.randomUUID()}`;
    try {
      const db = join(small, "runs.kv");
      const first = grade(db, THERMOSTAT, join(dir, "first"));
      assert.equal((await first.exit(60_000)).code, 0, first.output);
      let firstRun: string;
      let firstCount: number;
      {
        const store = await RunStore.open(db);
        try {
          const runs = await store.listRuns();
          assert.equal(runs.length, 1);
          firstRun = runs[0]!.runId;
          firstCount = await store.countMessages(firstRun);
          assert.ok(firstCount > 0);
        } finally {
          await store.close();
        }
      }

      // Fill the file system but 100 KB: the next run's first pages do not fit.
      const free = Number(
        new TextDecoder().decode(
          (await new Deno.Command("df", {
            args: ["-k", "--output=avail", small],
            stdout: "piped",
          }).output()).stdout,
        ).trim().split("\n").at(-1),
      );
      assert.ok(free > 200, `${free} KB free after the first run`);
      await Deno.writeFile(
        join(small, "filler"),
        new Uint8Array((free - 100) * 1024),
      );

      const reports = join(dir, "second");
      const second = grade(db, `${THERMOSTAT} ${marker}`, reports);
      const status = await second.exit(60_000);
      assert.equal(status.code, 2, second.output);
      assert.match(second.output, /harness error: the data store .*runs\.kv/);
      assert.match(second.output, /No space left|disk is full/);
      assert.match(
        second.output,
        /the run is incomplete; earlier runs are intact/,
      );
      assert.doesNotMatch(
        second.output,
        /Uncaught|^ {4}at /m,
        "no stack trace",
      );

      const json = JSON.parse(await Deno.readTextFile(`${reports}.json`));
      assert.equal(json.incomplete, true);
      assert.match(json.error, /runs\.kv could not be written/);
      assert.equal(json.grades.length, 1);
      assert.equal(json.grades[0].outcome, "error");
      assert.equal(json.grades[0].pass, false);
      const junit = await Deno.readTextFile(`${reports}.xml`);
      assert.match(junit, /errors="1"/);
      assert.match(junit, /<error message="[^"]*could not be written/);
      assert.match(
        await Deno.readTextFile(`${reports}.md`),
        /could not be written/,
      );

      assert.deepEqual(
        await processesWith(marker),
        [],
        "the controller was stopped",
      );

      const store = await RunStore.open(db);
      try {
        const meta = await store.getRun(firstRun);
        assert.equal(meta?.outcome, "completed");
        assert.equal(meta?.grade?.pass, true);
        assert.equal(await store.countMessages(firstRun), firstCount);
        let seq = 0;
        for await (const record of store.messages(firstRun)) {
          assert.equal(record.seq, seq++);
        }
        assert.equal(seq, firstCount);
      } finally {
        await store.close();
      }
    } finally {
      for (const pid of await processesWith(marker)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
      await mount(["umount", small]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
