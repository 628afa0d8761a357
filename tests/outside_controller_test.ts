/**
 * A student's TypeScript controller kept outside this repository (its own folder, its own repository in CI) imports
 * `mqtt` as the examples do: the harness runs it with this project's imports, and never changes its lock file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { withGrading } from "./_grading.ts";

Deno.test("a .ts controller in a folder outside the repository imports mqtt and is graded; the lock file is untouched", async () => {
  const folder = await Deno.makeTempDir({ prefix: "student-" });
  const lock = await Deno.readTextFile("deno.lock");
  try {
    const file = join(folder, "my_controller.ts");
    await Deno.copyFile("examples/starter.ts", file);
    await withGrading(async ({ store, grade }) => {
      const run = await grade(file);
      const meta = (await store.getRun(run.runId))!;
      assert.equal(meta.outcome, "completed", meta.outcomeMessage ?? "");
      assert.match(
        meta.controller.sandbox ?? "",
        /imports provided: mqtt \(npm:mqtt@\d+\.\d+\.\d+\)/,
      );
    });
    assert.equal(await Deno.readTextFile("deno.lock"), lock);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
