import assert from "node:assert/strict";
import { inWindow, rangeRulesProblems } from "./_range_rules.ts";

Deno.test("inWindow() includes from, excludes to, and wraps across midnight", () => {
  assert.ok(inWindow(8, { from: 8, to: 20 }));
  assert.ok(!inWindow(20, { from: 8, to: 20 }));
  assert.ok(inWindow(23, { from: 20, to: 8 }));
  assert.ok(inWindow(0, { from: 20, to: 8 }));
  assert.ok(!inWindow(8, { from: 20, to: 8 }));
  assert.ok(inWindow(0, { from: 0, to: 24 }));
  assert.ok(inWindow(23.99, { from: 0, to: 24 }));
  assert.ok(inWindow(22, { from: 20, to: 24 }));
});

Deno.test("rangeRulesProblems() accepts rules that cover the day exactly once", () => {
  assert.deepEqual(rangeRulesProblems([{ from: 0, to: 24 }]), []);
  assert.deepEqual(
    rangeRulesProblems([{ from: 8, to: 20 }, { from: 20, to: 8 }]),
    [],
  );
  assert.deepEqual(
    rangeRulesProblems([{ from: 20, to: 0 }, { from: 0, to: 20 }]),
    [],
  );
  assert.deepEqual(
    rangeRulesProblems([{ from: 6, to: 12 }, { from: 12, to: 18 }, {
      from: 18,
      to: 6,
    }]),
    [],
  );
});

Deno.test("rangeRulesProblems() reports gaps, merged across midnight", () => {
  assert.deepEqual(
    rangeRulesProblems([{ from: 8, to: 20 }]).map((
      p,
    ) => [p.path, p.message.split(";")[0]]),
    [
      [[], "the rules leave 20:00–08:00 uncovered"],
    ],
  );
  assert.match(
    rangeRulesProblems([{ from: 8, to: 12 }, { from: 13, to: 20 }, {
      from: 20,
      to: 8,
    }])[0]!.message,
    /leave 12:00–13:00 uncovered/,
  );
});

Deno.test("rangeRulesProblems() reports overlaps and empty windows at the rule", () => {
  assert.deepEqual(
    rangeRulesProblems([{ from: 8, to: 20 }, { from: 19, to: 8 }]).map((p) =>
      p.path
    ),
    [[1]],
  );
  assert.deepEqual(
    rangeRulesProblems([{ from: 0, to: 24 }, { from: 3, to: 4 }]).map((p) =>
      p.path
    ),
    [[1]],
  );
  assert.deepEqual(
    rangeRulesProblems([{ from: 8, to: 8 }, { from: 0, to: 24 }]).map((p) =>
      p.path
    ),
    [[0]],
  );
});
