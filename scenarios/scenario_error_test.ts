import assert from "node:assert/strict";
import { formatIssue, ScenarioError } from "./scenario_error.ts";

Deno.test("ScenarioError names the file and its one problem on one line", () => {
  const cause = new SyntaxError("boom");
  const error = new ScenarioError({
    file: "cold-room.yaml",
    issues: [{
      path: "events[2].at",
      message: 'expected a duration like "2h", got "soon"',
      line: 14,
    }],
    cause,
  });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ScenarioError");
  assert.equal(error.file, "cold-room.yaml");
  assert.equal(error.cause, cause);
  assert.equal(
    error.message,
    'Cannot load scenario "cold-room.yaml": events[2].at: expected a duration like "2h", got "soon" (line 14)',
  );
});

Deno.test("ScenarioError lists several problems one per line", () => {
  const error = new ScenarioError({
    file: "x.yaml",
    issues: [{ path: "id", message: "missing; expected text" }, {
      path: "",
      message: "oops",
      line: 3,
      column: 7,
    }],
  });
  assert.equal(
    error.message,
    'Cannot load scenario "x.yaml": 2 problems:\n  - id: missing; expected text\n  - oops (line 3, column 7)',
  );
  assert.equal(error.issues.length, 2);
  assert.equal(formatIssue({ path: "a.b", message: "c" }), "a.b: c");
});
