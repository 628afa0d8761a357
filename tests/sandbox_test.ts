/**
 * Hostile controllers against the sandbox, in real lockstep runs: each is blocked or stopped with its reason in the
 * run's record, the run still covers the whole scenario, and the next controller is graded normally. TypeScript ones
 * are given as a file, so they run under Deno's permissions; Python ones run under resource limits.
 */

import assert from "node:assert/strict";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import {
  LockstepHarness,
  type LockstepResult,
  runLockstep,
  type SandboxLimits,
} from "../harness/lockstep/mod.ts";
import { type MessageRecord, RunStore } from "../store/mod.ts";
import { loadScenario, type Scenario } from "../scenarios/mod.ts";
import { hasCommand, ignoreWithout } from "./_peers.ts";

const HOSTILE = "tests/fixtures/hostile";

async function withHarness(
  fn: (
    run: (
      controller: string,
      limits?: Partial<SandboxLimits>,
    ) => Promise<{ result: LockstepResult; records: MessageRecord[] }>,
    scenario: Scenario,
  ) => Promise<void>,
): Promise<void> {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const scenario = await loadScenario(
    "tests/fixtures/scenarios/short-day.yaml",
  );
  try {
    await fn(async (controller, limits) => {
      const records: MessageRecord[] = [];
      let seq = 0;
      const result = await runLockstep(harness, {
        scenario,
        controller,
        connectTimeoutMs: 3_000,
        sink: {
          append: (r) => records.push({ ...r, runId: "test", seq: seq++ }),
        },
        ...(limits ? { sandbox: limits } : {}),
      });
      return { result, records };
    }, scenario);
  } finally {
    await bus.close();
    await broker.close();
  }
}

const sandboxNote = (records: MessageRecord[]) =>
  records.find((r) => r.topic === "$sandbox")?.note ?? "";

Deno.test("a TypeScript controller given as a file cannot read the store, write, reach another host or start programs", async () => {
  await withHarness(async (run, scenario) => {
    const cases = [
      [
        "read_store.ts",
        /NotCapable: Requires read access to ".*data\/fishtank\.kv"/,
      ],
      ["write_file.ts", /NotCapable: Requires write access/],
      [
        "connect_elsewhere.ts",
        /NotCapable: Requires net access to "127\.0\.0\.1:9"/,
      ],
      ["spawn.ts", /NotCapable: Requires run access/],
      [
        "remote_import.ts",
        /remote|--no-remote|not allowed|Requires import access/i,
      ],
    ] as const;
    for (const [file, reason] of cases) {
      const { result, records } = await run(`${HOSTILE}/${file}`);
      assert.equal(result.outcome, "crashed", file);
      assert.match(result.outcomeMessage, reason, file);
      assert.match(
        sandboxNote(records),
        /Deno permissions: network to the broker only, reads in tests\/fixtures\/hostile only/,
      );
      assert.equal(
        result.simulated,
        scenario.duration,
        `${file}: the run went on`,
      );
    }
    await assert.rejects(
      Deno.stat(`${HOSTILE}/written-by-a-controller.txt`),
      Deno.errors.NotFound,
    );
    // The next controller, also given as a file, is graded normally.
    const good = await run("examples/thermostat.ts");
    assert.equal(good.result.outcome, "completed", good.result.outcomeMessage);
  });
});

Deno.test("a TypeScript controller that allocates without end or spins forever is stopped by its limits", async () => {
  await withHarness(async (run) => {
    const memory = await run(`${HOSTILE}/allocate.ts`, { memoryMiB: 64 });
    assert.equal(memory.result.outcome, "crashed");
    const said = memory.records.filter((r) => r.kind === "output")
      .map((r) => r.note ?? new TextDecoder().decode(r.payload)).join("\n");
    assert.match(said, /Fatal JavaScript out of memory: Reached heap limit/);
    const spin = await run(`${HOSTILE}/spin.ts`, { cpuSeconds: 2 });
    assert.ok(
      ["crashed", "unresponsive"].includes(spin.result.outcome),
      spin.result.outcome,
    );
    assert.equal(
      spin.result.signal ?? "",
      "SIGXCPU",
      spin.result.outcomeMessage,
    );
  });
});

Deno.test({
  name:
    "a Python fork bomb, a memory hog and a store reader are stopped by their limits and user",
  ignore: ignoreWithout(hasCommand("prlimit", ["--version"]), "prlimit"),
  async fn() {
    await withHarness(async (run, scenario) => {
      const fork = await run(`/usr/bin/python3 ${HOSTILE}/fork.py`, {
        processes: 32,
      });
      assert.equal(fork.result.outcome, "no_connect");
      const output = fork.records.filter((r) => r.kind === "output")
        .map((r) => r.note ?? new TextDecoder().decode(r.payload)).join("\n");
      assert.match(output, /fork refused after \d+ children/);
      assert.match(sandboxNote(fork.records), /32 processes/);
      assert.equal(fork.result.simulated, scenario.duration);

      // The store as `deno task grade` makes it, in a folder anyone may enter.
      const dir = await Deno.makeTempDir({ prefix: "fishtank-store-" });
      await Deno.chmod(dir, 0o755);
      const store = await RunStore.open(`${dir}/fishtank.kv`);
      store.close();
      try {
        assert.equal(
          (await Deno.stat(`${dir}/fishtank.kv`)).mode! & 0o777,
          0o600,
        );
        if (Deno.uid() === 0) {
          const peek = await run(
            `/usr/bin/python3 ${HOSTILE}/read_store.py ${dir}/fishtank.kv`,
          );
          assert.equal(peek.result.outcome, "crashed");
          assert.match(peek.result.outcomeMessage, /PermissionError/);
          assert.match(sandboxNote(peek.records), /runs as a user of its own/);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }

      const memory = await run(`/usr/bin/python3 ${HOSTILE}/allocate.py`, {
        memoryMiB: 256,
      });
      assert.equal(memory.result.outcome, "crashed");
      assert.match(memory.result.outcomeMessage, /MemoryError/);
    });
  },
});

Deno.test("a controller that exits at once is reported so, and the run still covers the whole scenario", async () => {
  await withHarness(async (run, scenario) => {
    const { result } = await run("tests/fixtures/controllers/exit_at_once.ts");
    assert.notEqual(result.outcome, "completed");
    assert.match(
      result.outcomeMessage,
      /ended before the run did \(exit code 0\)/,
    );
    assert.equal(result.simulated, scenario.duration);
  });
});

Deno.test("a run past its wall-clock limit stops the controller and ends uncontrolled, reported", async () => {
  await withHarness(async (run, scenario) => {
    const { result, records } = await run("examples/thermostat.ts", {
      wallSeconds: 0.5,
    });
    assert.equal(result.outcome, "unresponsive");
    assert.match(result.outcomeMessage, /wall-clock limit of 0\.5 s/);
    assert.equal(result.simulated, scenario.duration);
    assert.match(sandboxNote(records), /wall clock 0\.5 s/);
  });
});
