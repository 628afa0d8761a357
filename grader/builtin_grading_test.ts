import assert from "node:assert/strict";
import {
  builtinScenarioIds,
  FAULT_EVENT_TYPES,
  loadScenario,
} from "../scenarios/mod.ts";
import { computeKpis } from "./kpis.ts";
import { scoreRun } from "./score.ts";
import {
  faultAwareController,
  referenceFigures,
  referenceRun,
} from "./reference.ts";
import { GRADING_VERSION } from "./grading_version.ts";
import type { MessageRecord, RunMeta } from "../store/mod.ts";

// The built-in grading blocks are calibrated against the real simulator, graded as a run recorded today is: a plain
// hysteresis controller with simple fault checks must pass every scenario, and a tank left without a controller must
// fail every one. A change to the dynamics that breaks this needs new weights, and a new scenario version.
Deno.test("a plain hysteresis controller passes every built-in scenario; no controller fails each", async () => {
  for (const id of await builtinScenarioIds()) {
    const scenario = await loadScenario(id);
    const today = (run: { records: MessageRecord[]; meta: RunMeta }) => ({
      records: run.records,
      meta: {
        ...run.meta,
        gradingVersion: GRADING_VERSION,
        reference: referenceFigures(scenario),
      },
    });
    const good = today(referenceRun(scenario, faultAwareController(scenario)));
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

    const none = today(referenceRun(scenario, null));
    const idle = scoreRun(
      computeKpis({ scenario, ...none }),
      scenario.grading,
      none.meta,
    );
    // Well below the pass mark; on a fault scenario less far, since the losses no controller could prevent (the
    // reference's) are not counted against it either.
    const margin = scenario.events.some((e) =>
        FAULT_EVENT_TYPES.includes(
          e.type as (typeof FAULT_EVENT_TYPES)[number],
        )
      )
      ? 5
      : 20;
    assert.ok(
      idle.score < scenario.grading.passMark - margin,
      `${id}: a tank without a controller scored ${idle.score}`,
    );
    assert.equal(idle.pass, false);
  }
});
