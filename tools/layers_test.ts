import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLayers, importsOf, main, readModules } from "./layers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("importsOf() finds static, type-only, re-export, side-effect and dynamic imports with their lines", () => {
  const text = [
    'import { a } from "./a.ts";',
    "import type {",
    "  B,",
    '} from "../b/mod.ts";',
    'export { c } from "./c.ts";',
    'import "./side.ts";',
    'const m = await import("../d/mod.ts");',
    'import mqtt from "mqtt";',
  ].join("\n");
  assert.deepEqual(importsOf(text), [
    { specifier: "./a.ts", line: 1 },
    { specifier: "../b/mod.ts", line: 4 },
    { specifier: "./c.ts", line: 5 },
    { specifier: "./side.ts", line: 6 },
    { specifier: "../d/mod.ts", line: 7 },
  ]);
});

Deno.test("the project's own modules keep the layer rules: no import past a mod.ts, none up the layers", async () => {
  const modules = await readModules(ROOT);
  assert.ok(modules.size > 200, `read ${modules.size} modules`);
  assert.deepEqual(checkLayers(modules), []);
});

Deno.test("a deliberate wrong import is caught, naming the file, the line and the import", async () => {
  const modules = await readModules(ROOT);
  const score = modules.get("grader/score.ts")!;
  // The grader reaching into the lockstep runner's internals: past its mod.ts and up the layers.
  modules.set(
    "grader/score.ts",
    `${score}\nimport { LockstepHarness } from "../harness/lockstep/lockstep.ts";\n`,
  );
  // The store using the grader through its public API: still up the layers.
  modules.set(
    "store/run_record.ts",
    `import { scoreRun } from "../grader/mod.ts";\n${
      modules.get("store/run_record.ts")
    }`,
  );
  // A folder nobody declared.
  modules.set("stray/thing.ts", "export const x = 1;\n");
  const violations = checkLayers(modules);
  assert.equal(violations.length, 3, JSON.stringify(violations, null, 2));
  const [grader, store, stray] = violations;
  assert.equal(grader!.file, "grader/score.ts");
  assert.equal(grader!.specifier, "../harness/lockstep/lockstep.ts");
  assert.equal(grader!.line, score.split("\n").length + 1);
  assert.match(
    grader!.problem,
    /past its public API: import from harness\/lockstep\/mod\.ts/,
  );
  assert.equal(store!.file, "store/run_record.ts");
  assert.equal(store!.line, 1);
  assert.match(
    store!.problem,
    /against the layer order: store\/ \(layer 4\) may not use grader\/ \(layer 5\)/,
  );
  assert.equal(stray!.file, "stray/thing.ts");
  assert.match(stray!.problem, /in no declared package/);
});

Deno.test("tests may use test support across packages, code may not", () => {
  const modules = new Map([
    [
      "harness/display/display_test.ts",
      'import { startMosquitto } from "../../tests/_peers.ts";\n',
    ],
    ["store/testing.ts", 'import { RunStore } from "./run_store.ts";\n'],
    [
      "web/replay_routes_test.ts",
      'import { lastBatch } from "../store/testing.ts";\n',
    ],
    ["web/app.ts", 'import { lastBatch } from "../store/testing.ts";\n'],
  ]);
  const violations = checkLayers(modules);
  assert.deepEqual(violations.map((v) => v.file), ["web/app.ts"]);
});

Deno.test("deno task layers exits 1 and names the import on a tree with a wrong import, 0 on a good one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-layers-" });
  try {
    await Deno.mkdir(join(dir, "sim"));
    await Deno.mkdir(join(dir, "grader"));
    await Deno.writeTextFile(
      join(dir, "sim/mod.ts"),
      "export const g = 9.81;\n",
    );
    await Deno.writeTextFile(
      join(dir, "grader/mod.ts"),
      'export { g } from "../sim/mod.ts";\n',
    );
    const run = async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", join(ROOT, "tools/layers.ts"), dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: output.code,
        stderr: new TextDecoder().decode(output.stderr),
      };
    };
    assert.equal((await run()).code, 0);
    await Deno.writeTextFile(
      join(dir, "sim/fish.ts"),
      'import { g } from "../grader/mod.ts";\nexport const h = g;\n',
    );
    const bad = await run();
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /sim\/fish\.ts:1 import "\.\.\/grader\/mod\.ts" goes against the layer order/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main() --help explains the rules", async () => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (line: string) => lines.push(line);
  try {
    assert.equal(await main(["--help"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(lines.join("\n"), /mod\.ts/);
});
