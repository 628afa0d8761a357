import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  BUILTIN_DIR,
  builtinScenarioIds,
  listBuiltinScenarios,
  loadScenario,
} from "./load_scenario.ts";
import { ScenarioError } from "./scenario_error.ts";
import { parseDuration } from "./duration.ts";
import { FAULT_EVENT_TYPES } from "./schema.ts";

const REQUIRED = [
  "steady-day",
  "cold-room",
  "heater-failure",
  "heater-stuck-on",
  "overfed-tank",
  "sensor-glitch",
  "power-cut",
];

const MINIMAL = `id: my-tank
version: 1
title: My tank
good_controller: Keeps everything in range.
seed: 3
start: 2026-01-15T06:00:00
duration: 6h
`;

const sha256 = (bytes: Uint8Array) =>
  createHash("sha256").update(bytes).digest("hex");

Deno.test("every built-in scenario loads, and its id is its file name", async () => {
  const ids = await builtinScenarioIds();
  for (const id of REQUIRED) {
    assert.ok(ids.includes(id), `built-in "${id}" is missing`);
  }
  const seeds = new Set<number>();
  for (const id of ids) {
    const scenario = await loadScenario(id);
    const bytes = await Deno.readFile(join(BUILTIN_DIR, `${id}.yaml`));
    assert.equal(scenario.id, id);
    assert.equal(scenario.file, id);
    assert.equal(scenario.hash, sha256(bytes));
    assert.ok(scenario.version >= 1);
    assert.ok(scenario.title.length > 0 && scenario.description.length > 0, id);
    assert.ok(
      scenario.goodController.length > 40,
      `${id}: good_controller says what a good controller does`,
    );
    assert.ok(
      new TextDecoder().decode(bytes).startsWith(`# ${id}: `),
      `${id}: starts with a comment header`,
    );
    assert.ok(
      scenario.duration >= parseDuration("12h") &&
        scenario.duration <= parseDuration("3d"),
      `${id}: sensible duration`,
    );
    assert.ok(
      !seeds.has(scenario.seed),
      `${id}: seed ${scenario.seed} is used twice`,
    );
    seeds.add(scenario.seed);
  }
});

Deno.test("every built-in scenario says how it is graded; where faults need an alarm, alarms weigh most", async () => {
  for (const id of await builtinScenarioIds()) {
    const scenario = await loadScenario(id);
    const text = await Deno.readTextFile(join(BUILTIN_DIR, `${id}.yaml`));
    assert.match(
      text,
      /\ngrading:\n {2}pass_mark: \d+/,
      `${id}: a grading section`,
    );
    const { weights, expectAlarm } = scenario.grading;
    if (expectAlarm.some((type) => FAULT_EVENT_TYPES.includes(type))) {
      const others = Object.entries(weights)
        .filter(([name]) => name !== "alarms")
        .map(([, weight]) => weight);
      assert.ok(
        weights.alarms > Math.max(...others),
        `${id}: alarms weigh ${weights.alarms}, less than another component`,
      );
    }
  }
});

Deno.test("listBuiltinScenarios() summarises every built-in with its file", async () => {
  const summaries = await listBuiltinScenarios();
  assert.deepEqual(summaries.map((s) => s.id), await builtinScenarioIds());
  for (const summary of summaries) {
    assert.equal(summary.file, join(BUILTIN_DIR, `${summary.id}.yaml`));
    assert.equal(summary.title, (await loadScenario(summary.id)).title);
    assert.ok((await Deno.stat(summary.file)).isFile);
  }
});

Deno.test("loadScenario() with an unknown id lists the built-in ids", async () => {
  await assert.rejects(() => loadScenario("cold-rom"), (error: unknown) => {
    assert.ok(error instanceof ScenarioError);
    assert.equal(error.file, "cold-rom");
    assert.match(
      error.message,
      /^Cannot load scenario "cold-rom": no built-in scenario with this id/,
    );
    assert.match(error.message, /did you mean "cold-room"\?/);
    for (const id of REQUIRED) {
      assert.ok(error.message.includes(id), error.message);
    }
    return true;
  });
});

Deno.test("loadScenario() reads a path, and the hash follows the file's bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "my-tank.yaml");
    await Deno.writeTextFile(path, MINIMAL);
    const first = await loadScenario(path);
    assert.equal(first.id, "my-tank");
    assert.equal(first.file, path);
    assert.equal(first.hash, sha256(await Deno.readFile(path)));
    assert.equal(
      (await loadScenario(path)).hash,
      first.hash,
      "same bytes, same hash",
    );
    assert.equal(
      (await loadScenario(first.file)).hash,
      first.hash,
      "loadScenario(scenario.file) loads it again",
    );

    await Deno.writeTextFile(path, MINIMAL.replace("seed: 3", "seed: 4"));
    const second = await loadScenario(path);
    assert.notEqual(second.hash, first.hash, "a changed file has a new hash");
    assert.equal(second.hash, sha256(await Deno.readFile(path)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadScenario() names the file when it is missing or invalid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "nope.yaml");
    await assert.rejects(() => loadScenario(missing), {
      name: "ScenarioError",
      message: `Cannot load scenario "${missing}": file not found`,
    });
    const bad = join(dir, "cold-room.yaml");
    await Deno.writeTextFile(
      bad,
      `${MINIMAL}events:\n  - { at: 1h, type: lid_open }\n  - { at: 2h, type: lid_open }\n  - { at: soon, type: lid_open }\n`,
    );
    await assert.rejects(() => loadScenario(bad), (error: unknown) => {
      assert.ok(error instanceof ScenarioError);
      assert.equal(
        error.message,
        `Cannot load scenario "${bad}": events[2].at: expected a duration like "90s", "30m", "6h" or "2d", got "soon" (line 11)`,
      );
      assert.deepEqual(error.issues, [{
        path: "events[2].at",
        message:
          'expected a duration like "90s", "30m", "6h" or "2d", got "soon"',
        line: 11,
      }]);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("built-in scenarios load from any working directory; relative paths follow it", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    await Deno.writeTextFile(join(dir, "local.yaml"), MINIMAL);
    Deno.chdir(dir);
    assert.equal((await loadScenario("steady-day")).id, "steady-day");
    const local = await loadScenario("./local.yaml");
    assert.equal(local.id, "my-tank");
    assert.equal(local.file, "./local.yaml");
    assert.equal((await loadScenario("local.yaml")).id, "my-tank");
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});
