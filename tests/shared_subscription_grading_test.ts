/**
 * A controller that reads its tank through a shared subscription (`$share/class/fishtank/tank1/sensors/temperature`)
 * is graded like one that subscribes plainly: the harness sees it subscribed to its sensors and the run completes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withGrading } from "./_grading.ts";
import { hasPaho, ignoreWithout } from "./_peers.ts";

Deno.test({
  name:
    "a controller that reads its tank through $share/… is graded like a plain subscriber",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    await withGrading(async ({ grade }) => {
      const run = await grade(
        "/usr/bin/python3 tests/fixtures/students/thermostat_paho_shared.py",
      );
      assert.equal(run.outcome, "completed", run.outcomeMessage ?? "");
      assert.ok(run.score > 90, `score ${run.score}`);
    });
  },
});
