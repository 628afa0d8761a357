/**
 * Lockstep runs end to end: real controller processes (the TypeScript and the Python examples, and broken ones) on
 * the embedded broker, every message stored in Deno KV on disk, graded from the store.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadScenario, type Scenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness, runLockstep } from "../harness/lockstep/mod.ts";
import { gradeScenario, gradeStoredRun } from "../harness/grading/mod.ts";
import type { RunGrade } from "../grader/mod.ts";
import { type MessageRecord, RunStore } from "../store/mod.ts";
import { hasPaho, ignoreWithout } from "./_peers.ts";
import { Child } from "./_processes.ts";
import { recordedTraffic } from "./_grading.ts";

const DENO = `"${Deno.execPath()}"`;
const TS_EXAMPLE = `${DENO} run --allow-net --allow-env examples/thermostat.ts`;
const PY_EXAMPLE = "/usr/bin/python3 examples/thermostat.py";
const FIXTURE = (name: string) =>
  `${DENO} run --allow-net --allow-env tests/fixtures/controllers/${name}`;
const SHORT_DAY = "tests/fixtures/scenarios/short-day.yaml";
const SHORT_FAILURE = "tests/fixtures/scenarios/short-heater-failure.yaml";

/** A broker, a lockstep harness and a Deno KV file store, all closed by `close()`. */
async function setUp() {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-lockstep-" });
  const store = await RunStore.open(join(dir, "runs.kv"));
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const run = (
    scenario: Scenario,
    controller: string | undefined,
    connectTimeoutMs = 10_000,
  ) =>
    gradeScenario({
      options: { stepTimeoutMs: 100, connectTimeoutMs },
      store,
      harness,
      scenario,
      student: "test",
      tank: "tank1",
      controller,
    });
  const close = async () => {
    await bus.close();
    await broker.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { store, broker, harness, run, close };
}

async function recordsOf(
  store: RunStore,
  runId: string,
): Promise<MessageRecord[]> {
  const records: MessageRecord[] = [];
  for await (const record of store.messages(runId)) records.push(record);
  return records;
}

/** KPIs without the wall-clock response times, which are measured, not simulated (the score does not use them). */
function withoutWallClock(kpis: RunGrade["kpis"]): unknown {
  return JSON.parse(
    JSON.stringify(
      kpis,
      (key, value) => /ResponseMs$/.test(key) ? undefined : value,
    ),
  );
}

for (
  const [label, controller, ignore] of [
    ["TypeScript", TS_EXAMPLE, false],
    ["Python paho", PY_EXAMPLE, ignoreWithout(hasPaho(), "python3-paho-mqtt")],
  ] as const
) {
  Deno.test({
    name:
      `the ${label} example gives byte-identical recorded traffic and the same score, twice on two scenarios`,
    ignore,
    async fn() {
      const { store, run, close } = await setUp();
      try {
        for (const path of [SHORT_DAY, SHORT_FAILURE]) {
          const scenario = await loadScenario(path);
          const first = await run(scenario, controller);
          const second = await run(scenario, controller);
          assert.equal(
            first.outcome,
            "completed",
            `${path}: ${JSON.stringify(first.advice)}`,
          );
          const a = await recordsOf(store, first.runId);
          const b = await recordsOf(store, second.runId);
          assert.ok(a.length > 2000, `${path}: only ${a.length} records`);
          assert.equal(
            recordedTraffic(a),
            recordedTraffic(b),
            `${path}: recorded traffic differs between two identical runs`,
          );
          assert.equal(first.score, second.score);
          assert.deepEqual(first.components, second.components);
          assert.deepEqual(
            withoutWallClock(first.kpis),
            withoutWallClock(second.kpis),
          );
          // The barrier was an answer, not the deadline: the examples ack and subscribe with QoS 1.
          const meta = await store.getRun(first.runId);
          assert.equal(meta!.ackMode, "explicit");
          assert.equal(meta!.stats.timedOutSteps, 0);
          // Rescoring from the store gives the same numbers.
          const again = await gradeStoredRun(store, first.runId);
          assert.deepEqual(again, first);
        }
      } finally {
        await close();
      }
    },
  });
}

Deno.test("the data store holds every message the broker saw during a run", async () => {
  const { store, broker, run, close } = await setUp();
  const seen: string[] = [];
  const count = (packet: { topic: string; payload: unknown }) => {
    if (packet.topic.startsWith("fishtank/tank1/")) seen.push(packet.topic);
  };
  broker.aedes.on("publish", count);
  try {
    const grade = await run(await loadScenario(SHORT_DAY), TS_EXAMPLE);
    broker.aedes.removeListener("publish", count);
    const stored = (await recordsOf(store, grade.runId)).filter((r) =>
      r.kind === "publish"
    );
    assert.ok(seen.length > 2000);
    // Every topic the broker handled is stored as often as it was handled.
    const tally = (topics: string[]) =>
      topics.reduce(
        (map, topic) => map.set(topic, (map.get(topic) ?? 0) + 1),
        new Map<string, number>(),
      );
    assert.deepEqual(tally(stored.map((r) => r.topic)), tally(seen));
    assert.equal(
      (await store.getRun(grade.runId))!.stats.messages,
      (await recordsOf(store, grade.runId)).length,
    );
  } finally {
    broker.aedes.removeListener("publish", count);
    await close();
  }
});

Deno.test("a crashing, a silent, a flooding and a hanging controller each get the right outcome; grading carries on", async () => {
  const { store, run, close } = await setUp();
  try {
    const scenario = await loadScenario(SHORT_DAY);
    const crash = await run(scenario, FIXTURE("crash.ts"));
    assert.equal(crash.outcome, "crashed");
    assert.match(
      (await store.getRun(crash.runId))!.outcomeMessage!,
      /exited with code 1 at simulated \d+ s/,
    );
    const silent = await run(scenario, FIXTURE("silent.ts"), 2_000);
    assert.equal(silent.outcome, "no_connect");
    assert.match(
      (await store.getRun(silent.runId))!.outcomeMessage!,
      /did not connect within 2 s/,
    );
    const flood = await run(scenario, FIXTURE("flood.ts"));
    assert.equal(flood.outcome, "flooding");
    const hang = await run(scenario, FIXTURE("hang.ts"));
    assert.equal(hang.outcome, "unresponsive");
    const deaf = await run(scenario, FIXTURE("no_subscribe.ts"), 2_000);
    assert.equal(deaf.outcome, "no_subscribe");
    assert.match(
      (await store.getRun(deaf.runId))!.outcomeMessage!,
      /did not subscribe to fishtank\/tank1\/sensors/,
    );
    // Each broken run still covered the whole scenario, uncontrolled, and was graded.
    for (const grade of [crash, silent, flood, hang, deaf]) {
      const meta = await store.getRun(grade.runId);
      assert.equal(
        meta!.simulated,
        scenario.duration,
        `${grade.outcome} run stopped early`,
      );
      assert.ok(grade.advice.length > 0);
    }
    // And the next controller is graded normally.
    const good = await run(scenario, TS_EXAMPLE);
    assert.equal(good.outcome, "completed");
    assert.ok(
      good.score > crash.score,
      `a working thermostat (${good.score}) beats a crash (${crash.score})`,
    );
  } finally {
    await close();
  }
});

Deno.test("deno task challenge and deno task grade run, report, store and rescore from the command line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-cli-" });
  const db = join(dir, "runs.kv");
  try {
    const cli = (args: string[]) =>
      new Child(Deno.execPath(), [
        "run",
        "-A",
        "cli/grade.ts",
        ...args,
      ]);
    const challenge = cli([
      "challenge",
      `--scenario=${SHORT_DAY}`,
      `--db=${db}`,
      "--name=ada",
    ]);
    const status = await challenge.exit(120_000);
    assert.ok(status.code === 0 || status.code === 1, challenge.output);
    assert.match(challenge.output, /starter controller/);
    assert.match(challenge.output, /short-day/);
    assert.match(
      challenge.output,
      /heater switched [\d,]+ times/,
      "the starter chatters: the advice says so",
    );
    const runId = challenge.output.match(/Stored 1 run in .*: (\S+)/)![1]!;

    const files = {
      json: join(dir, "grades.json"),
      junit: join(dir, "junit.xml"),
      markdown: join(dir, "summary.md"),
    };
    const grade = cli([
      "grade",
      `--controller=${TS_EXAMPLE}`,
      `--scenario=${SHORT_DAY},${SHORT_FAILURE}`,
      `--db=${db}`,
      `--json=${files.json}`,
      `--junit=${files.junit}`,
      `--markdown=${files.markdown}`,
      "--parallel=2",
    ]);
    const graded = await grade.exit(120_000);
    assert.ok(graded.code === 0 || graded.code === 1, grade.output);
    const json = JSON.parse(await Deno.readTextFile(files.json));
    assert.equal(JSON.stringify(json).includes("short-heater-failure"), true);
    const junit = await Deno.readTextFile(files.junit);
    assert.equal(junit.match(/<testcase /g)?.length, 2);
    assert.equal(
      graded.code === 1,
      junit.includes("<failure"),
      "exit code 1 exactly when a test case fails",
    );
    assert.match(await Deno.readTextFile(files.markdown), /short-day/);

    const rescore = cli([
      "grade",
      `--rescore=${runId}`,
      `--db=${db}`,
      `--json=${files.json}`,
    ]);
    const rescored = await rescore.exit(60_000);
    assert.equal(rescored.code, status.code, rescore.output);
    assert.match(rescore.output, /short-day/);

    const bad = cli(["grade", "--parallel=0", `--db=${db}`]);
    assert.equal((await bad.exit(30_000)).code, 2);
    assert.match(
      bad.output,
      /--parallel: expected a number from 1 to 64, got "0"/,
    );

    const plot = cli(["grade", `--rescore=${runId}`, `--db=${db}`, "--plot"]);
    await plot.exit(60_000);
    assert.match(
      plot.output,
      /temperature \(°C\): true value, with the range's min and max/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an answer that comes after its step closed is counted late and its command applied at the next step", async () => {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const records: Omit<MessageRecord, "runId" | "seq">[] = [];
  try {
    const scenario = await loadScenario(SHORT_DAY);
    const result = await runLockstep(harness, {
      scenario: { ...scenario, duration: 1800 }, // 180 steps: enough for 36 late answers
      controller: FIXTURE("late.ts"),
      sink: { append: (record) => records.push(record) },
      ackTimeoutMs: 150,
    });
    assert.equal(result.outcome, "completed", result.outcomeMessage);
    assert.equal(result.ackMode, "explicit");
    // Every fifth answer missed its step: each of those steps timed out, and its command was late.
    assert.ok(
      result.stats.timedOutSteps >= 30,
      `timed out: ${result.stats.timedOutSteps}`,
    );
    assert.ok(
      result.stats.lateCommands >= 30,
      `late: ${result.stats.lateCommands}`,
    );
    assert.ok(
      records.some((r) =>
        r.kind === "note" && /timed out after 150 ms without an ack/.test(
          new TextDecoder().decode(r.payload),
        )
      ),
    );
    // A late command is still applied: it is recorded while the next step is open.
    const late = records.filter((r) =>
      r.client === "controller-1" && r.topic.endsWith("/control/heater")
    );
    assert.ok(late.length >= 170);
  } finally {
    await bus.close();
    await broker.close();
  }
});
