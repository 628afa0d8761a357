import assert from "node:assert/strict";
import { builtinScenarioIds, loadScenario } from "../scenarios/mod.ts";
import { computeKpis } from "./kpis.ts";
import { scoreRun } from "./score.ts";
import { hysteresisController, referenceRun } from "./_reference_run.ts";

// The built-in grading blocks are calibrated against the real simulator: a plain hysteresis controller with simple
// fault checks must pass every scenario, and a tank left without a controller must fail every one. A change to the
// dynamics that breaks this needs new weights, and a new scenario version.
Deno.test("a plain hysteresis controller passes every built-in scenario; no controller fails each", async () => {
  for (const id of await builtinScenarioIds()) {
    const scenario = await loadScenario(id);
    const good = referenceRun(scenario, hysteresisController(scenario));
    const graded = scoreRun(
      computeKpis({ scenario, ...good }),
      scenario.grading,
      good.meta,
    );
    assert.ok(
      graded.pass && graded.score >= 75,
      `${id}: the reference controller scored ${graded.score}:\n${
        graded.advice.join("\n")
      }`,
    );
    for (const fault of graded.kpis.alarms.faults) {
      if (fault.expected) {
        assert.notEqual(
          fault.detectedAfter,
          null,
          `${id}: ${fault.type} alarmed`,
        );
      }
    }
    assert.deepEqual(
      graded.kpis.alarms.falseAlarms,
      [],
      `${id}: no false alarm`,
    );

    const none = referenceRun(scenario, null);
    const idle = scoreRun(
      computeKpis({ scenario, ...none }),
      scenario.grading,
      none.meta,
    );
    assert.ok(
      idle.score < scenario.grading.passMark - 20,
      `${id}: a tank without a controller scored ${idle.score}`,
    );
    assert.equal(idle.pass, false);
  }
});
