/**
 * A sealed run per controller (Linux, harness run as root): each graded controller runs as a user of its own, and
 * every process of that user ends with the run. A cheat that double-forks a `setsid` daemon to drive later runs'
 * heaters leaves nothing behind; run beside another controller it can neither read that controller's environment
 * nor kill it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { payloadText } from "../store/mod.ts";
import { type Grading, withGrading } from "./_grading.ts";
import { hasPaho, ignoreWithout } from "./_peers.ts";
import { pidNamespacesWork } from "../harness/lockstep/mod.ts";

const ESCAPER = "/usr/bin/python3 tests/fixtures/controllers/escaper.py";
const VICTIM =
  "/usr/bin/python3 tests/fixtures/students/thermostat_paho_forever.py";

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      if (cmd.includes(marker) && !/^State:\s+Z/m.test(status)) {
        pids.push(Number(entry.name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** What the escaper printed, from the run's recorded output. */
async function said(grading: Grading, runId: string): Promise<string> {
  let text = "";
  for await (const record of grading.store.messages(runId)) {
    if (record.kind === "output") text += payloadText(record.payload).payload;
  }
  return text;
}

const ignore = Deno.build.os !== "linux" ||
  ignoreWithout(isRoot(), "root (runs get users of their own only as root)") ||
  ignoreWithout(hasPaho(), "python3-paho-mqtt");

Deno.test({
  name:
    "a double-forked setsid daemon ends with its run: a controller graded after it scores as it does alone, with no interference",
  ignore,
  async fn() {
    await withGrading(async (grading) => {
      const alone = await grading.grade(VICTIM, { student: "alone" });
      assert.equal(alone.outcome, "completed", alone.outcomeMessage ?? "");

      const cheat = await grading.grade(ESCAPER, { student: "cheat" });
      const words = await said(grading, cheat.runId);
      assert.match(words, /escaper: victims seen 0/, words);
      // Its daemon was started (the main process stayed to the end) and is gone with the run.
      assert.deepEqual(
        processesWith("escaper.py"),
        [],
        "nothing outlived the run",
      );

      const after = await grading.grade(VICTIM, { student: "after" });
      assert.equal(after.outcome, "completed", after.outcomeMessage ?? "");
      assert.equal(after.interference, null, "no other client commanded");
      assert.equal(after.score, alone.score, "the same score as alone");
    });
  },
});

Deno.test({
  name:
    "a controller graded beside another cannot see its processes, read its environment or kill it",
  ignore,
  async fn() {
    await withGrading(async (victimGrading) => {
      await withGrading(async (cheatGrading) => {
        // The victim first; the cheat once the victim's controller is connected.
        let connected!: () => void;
        const victimIn = new Promise<void>((resolve) => connected = resolve);
        const onClient = () => connected();
        victimGrading.broker.aedes.on("client", onClient);
        const victim = victimGrading.grade(VICTIM, { student: "victim" });
        await victimIn;
        victimGrading.broker.aedes.off("client", onClient);
        // It looks for the victim's process for up to 3 s (it is already running), then tries.
        const cheat = await cheatGrading.grade(`${ESCAPER} 3`, {
          student: "cheat",
        });
        const words = await said(cheatGrading, cheat.runId);
        const graded = await victim;

        if (pidNamespacesWork()) {
          // In a process namespace of its own it sees only its own processes: not the victim, not the harness.
          assert.match(words, /escaper: victims seen 0, killed 0/, words);
          const visible = Number(
            /other processes visible (\d+)/.exec(words)?.[1] ?? NaN,
          );
          assert.ok(visible < 5, `it saw ${visible} other processes: ${words}`);
        } else {
          assert.match(
            words,
            /escaper: victims seen [1-9]\d*, killed 0/,
            words,
          );
          assert.match(words, /escaper: kill \S+: PermissionError/, words);
        }
        // Its own run's broker it may find (its own processes' environment, its namespace's init's included); never
        // the victim's.
        for (
          const [, port] of words.matchAll(/drove the heater of \S+:(\d+) /g)
        ) {
          assert.equal(Number(port), cheatGrading.broker.port, words);
        }
        assert.ok(
          !words.includes(`:${victimGrading.broker.port} `),
          `reached the victim's broker: ${words}`,
        );
        assert.equal(graded.outcome, "completed", graded.outcomeMessage ?? "");
        assert.equal(graded.interference, null);
        assert.deepEqual(processesWith("escaper.py"), []);
      });
    });
  },
});
