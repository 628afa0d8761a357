/**
 * A controller that answers every reading with fast-check's malformed topics and payloads (17,000 of them over the
 * short scenario) runs beside a good controller on another tank, on one broker. The harness neither crashes nor
 * stalls, the fuzzed run completes with its bad input refused and counted, and the other run is graded exactly as it
 * is when it runs alone; the same holds beside a controller that floods the broker.
 */

import assert from "node:assert/strict";
import { loadScenario } from "../scenarios/mod.ts";
import { SHORT_DAY, withGrading } from "./_grading.ts";

Deno.test("17,000 fuzzed messages, or a flood, on one tank: the harness carries on and the run beside it is graded as if alone", async () => {
  await withGrading(async ({ store, grade }) => {
    const scenario = await loadScenario(SHORT_DAY);
    const alone = await grade("examples/thermostat.ts", { tank: "tank2" });
    const [fuzzed, beside] = await Promise.all([
      grade("tests/fixtures/hostile/fuzz.ts", { tank: "tank1" }),
      grade("examples/thermostat.ts", { tank: "tank2" }),
    ]);
    assert.equal(fuzzed.outcome, "completed", fuzzed.outcomeMessage ?? "");
    assert.ok(
      fuzzed.kpis.hygiene.rejected > 5000,
      `${fuzzed.kpis.hygiene.rejected} refused`,
    );
    const meta = await store.getRun(fuzzed.runId);
    assert.equal(meta?.simulated, scenario.duration);
    assert.ok((meta?.stats.messages ?? 0) > 17_000);

    assert.equal(beside.outcome, "completed");
    assert.equal(beside.score, alone.score);
    assert.deepEqual(beside.kpis.measurements, alone.kpis.measurements);
    assert.equal(beside.kpis.hygiene.rejected, 0);

    // A flooding controller is cut off; the run beside it keeps its pace and its grade.
    const [flood, besideFlood] = await Promise.all([
      grade("tests/fixtures/controllers/flood.ts", { tank: "tank1" }),
      grade("examples/thermostat.ts", { tank: "tank2" }),
    ]);
    assert.equal(flood.outcome, "flooding");
    assert.equal(besideFlood.score, alone.score);
    assert.deepEqual(besideFlood.kpis.measurements, alone.kpis.measurements);
  });
});
