import assert from "node:assert/strict";
import {
  hiddenLabel,
  isSecret,
  loadAssignments,
  parseAssignment,
} from "./assignment.ts";

Deno.test("loadAssignments() fills defaults and resolves scenario paths against the file's folder", async () => {
  const [a] = await loadAssignments("tests/fixtures/class/assignments.yaml");
  assert.equal(a!.id, "warm-tank");
  assert.equal(a!.passMark, 50);
  assert.equal(a!.maxAttempts, 50);
  assert.deepEqual(a!.commands, ["python3", "deno"]);
  assert.equal(a!.released, false);
  assert.deepEqual(a!.scenarios.map((s) => [s.scenario, s.weight, s.hidden]), [
    ["tests/fixtures/scenarios/cool-half-hour.yaml", 1, false],
    ["tests/fixtures/scenarios/secret-chill.yaml", 2, true],
  ]);
});

Deno.test("parseAssignment() names each wrong field", () => {
  assert.throws(
    () =>
      parseAssignment({
        id: "Bad Id",
        title: "x",
        scenarios: [],
        due: "soon",
      }),
    (e: Error) =>
      e instanceof TypeError && /id:/.test(e.message) &&
      /scenarios:/.test(e.message) && /due: expected a date/.test(e.message),
  );
});

Deno.test("hidden scenarios are numbered as cases among the hidden ones, and secret until released", () => {
  const a = parseAssignment({
    id: "a",
    title: "A",
    scenarios: [
      { scenario: "x", hidden: true },
      { scenario: "y" },
      { scenario: "z", hidden: true },
    ],
    opens: "2026-11-01T08:00:00Z",
  });
  assert.equal(a.opens, "2026-11-01T08:00:00.000Z");
  assert.equal(hiddenLabel(a, 0), "hidden case 1");
  assert.equal(hiddenLabel(a, 2), "hidden case 2");
  assert.deepEqual([0, 1, 2].map((i) => isSecret(a, i)), [true, false, true]);
  assert.deepEqual(
    [0, 1, 2].map((i) => isSecret({ ...a, released: true }, i)),
    [false, false, false],
  );
});
