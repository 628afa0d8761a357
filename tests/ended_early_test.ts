import assert from "node:assert/strict";
import { renderScoreCard } from "../grader/mod.ts";
import { withGrading } from "./_grading.ts";
import { hasPaho, hasPaho2, ignoreWithout, PAHO2_PYTHON } from "./_peers.ts";

const DENO = `"${Deno.execPath()}"`;

/** What every report of a controller that ended with exit code 0 says, and what none says. */
async function assertEndedEarly(controller: string): Promise<void> {
  await withGrading(async ({ grade }) => {
    const graded = await grade(controller);
    assert.equal(graded.outcome, "crashed", "the stored outcome is kept");
    assert.equal(graded.pass, false);
    assert.match(
      graded.outcomeMessage ?? "",
      /^your program ended before the run did \(exit code 0\) at simulated \d+ s: did it forget `loop_forever\(\)` \(or to keep running\)\?/,
    );
    assert.match(
      graded.advice[0]!,
      /^your program ended before the run did \(exit code 0\): did it forget `loop_forever\(\)` \(or to keep running\)\? It ended at simulated \d+ s and the tank ran on without control/,
    );
    const card = renderScoreCard([graded], { color: false });
    assert.match(card, /FAIL \(ENDED EARLY\)/);
    assert.doesNotMatch(card, /crash|fix the error/i, card);
  });
}

Deno.test("a Deno controller that subscribes and ends with exit code 0 is told it ended early, not that it crashed", async () => {
  await assertEndedEarly(
    `${DENO} run --allow-net --allow-env tests/fixtures/controllers/forgot_loop.ts`,
  );
});

const python = hasPaho2() ? PAHO2_PYTHON : hasPaho() ? "/usr/bin/python3" : "";

Deno.test({
  name:
    "a paho controller without loop_forever() is asked whether it forgot loop_forever()",
  ignore: ignoreWithout(python !== "", "python3 with paho-mqtt"),
  fn: async () => {
    await assertEndedEarly(
      `${python} tests/fixtures/controllers/forgot_loop.py`,
    );
  },
});

Deno.test("a controller that exits with code 1 is still a crash", async () => {
  await withGrading(async ({ grade }) => {
    const graded = await grade(
      `${DENO} run --allow-net --allow-env tests/fixtures/controllers/crash.ts`,
    );
    assert.equal(graded.outcome, "crashed");
    assert.match(graded.advice[0]!, /^your controller crashed before the end/);
    assert.doesNotMatch(graded.advice.join("\n"), /loop_forever\(\)` \(or/);
  });
});
