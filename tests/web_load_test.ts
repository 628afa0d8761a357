/**
 * `deno task sim --web` under a burst at a running run's pages (issue 13, item 5): a class opening the report and the
 * replay of the session being recorded, 2,000 requests 100 at a time, must not stop the tanks' clock nor blow up the
 * process: readings keep their period, memory stays bounded, and every request is answered (200, or 503 with
 * Retry-After) within a timeout.
 */

import assert from "node:assert/strict";
import { webLoad } from "./_web_load.ts";

Deno.test("deno task sim --web under 2,000 requests (100 at a time) at a running run's report and replay: readings keep their period, RSS under 500 MB, every request answered (200, or 503 with Retry-After)", async () => {
  // At 30× steady-day publishes every 333 ms of wall time; four tanks make the recorded run four times bigger.
  const result = await webLoad({
    speed: 30,
    tanks: 4,
    warmupMs: 30_000,
    requests: 2000,
    concurrency: 100,
    timeoutMs: 30_000,
  });
  const { gapsMs: _gaps, output, ...figures } = result;
  const said = `${JSON.stringify(figures)}\n${output.slice(-2000)}`;
  assert.ok(result.recordsBefore > 1000, `a run worth reading; ${said}`);
  assert.ok(result.gapsMs.length >= 3, `readings during the burst; ${said}`);
  // Held to 1.5 periods, or, on a machine whose own load already stretches the period with no request at all, to
  // that stretch plus half a period (measured in the same run, before the burst).
  const allowed = Math.max(
    1.5 * result.periodMs,
    result.quietMaxGapMs + 0.5 * result.periodMs,
  );
  assert.ok(
    result.p99GapMs < allowed,
    `p99 gap between readings ${result.p99GapMs.toFixed(0)} ms, allowed ${
      allowed.toFixed(0)
    } ms (period ${
      result.periodMs.toFixed(0)
    } ms, largest gap before the burst ${
      result.quietMaxGapMs.toFixed(0)
    } ms); ${said}`,
  );
  if (!Number.isNaN(result.peakRssMb)) {
    assert.ok(result.peakRssMb < 500, `peak RSS ${result.peakRssMb} MB`);
  }
  assert.equal(result.timeouts, 0, `requests that hung; ${said}`);
  const statuses = Object.keys(result.statuses).map(Number);
  assert.deepEqual(
    statuses.filter((s) => s !== 200 && s !== 503),
    [],
    `only 200 or 503; ${said}`,
  );
  assert.ok((result.statuses[200] ?? 0) > 0, `some served; ${said}`);
  assert.equal(result.badRefusals, 0, `503 without Retry-After; ${said}`);
});
