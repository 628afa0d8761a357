/**
 * The leaderboard page on real runs in a Deno KV store: a passing controller, a failing one, one that crashed and one
 * that never connected, played on the short scenario.
 */

import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { ROUTES } from "./main.ts";
import {
  ALWAYS_HEATING,
  CRASH,
  FORGOT_LOOP,
  SHORT_DAY,
  SILENT,
  storeWithRuns,
  THERMOSTAT,
} from "./testing.ts";

Deno.test("/leaderboard puts passing runs first, then failing runs that completed, then crashed and unconnected ones, each with its outcome and PASS/FAIL", async () => {
  // The short morning with a pass mark the thermostat reaches and a heater left on does not.
  const dir = await Deno.makeTempDir();
  const scenario = `${dir}/short-day.yaml`;
  await Deno.writeTextFile(
    scenario,
    `${await Deno.readTextFile(SHORT_DAY)}grading:\n  pass_mark: 80\n`,
  );
  const fixture = await storeWithRuns([
    { student: "ada", controller: THERMOSTAT },
    { student: "bob", controller: ALWAYS_HEATING },
    { student: "cy", controller: CRASH },
    { student: "dee", controller: SILENT, connectTimeoutMs: 1_000 },
    { student: "eve", controller: FORGOT_LOOP },
  ], scenario);
  try {
    const [ada, bob, cy, dee, eve] = fixture.grades;
    assert.deepEqual(
      [ada!, bob!, cy!, dee!, eve!].map((g) => [g.student, g.outcome, g.pass]),
      [
        ["ada", "completed", true],
        ["bob", "completed", false],
        ["cy", "crashed", false],
        ["dee", "no_connect", false],
        ["eve", "crashed", false],
      ],
    );
    const app = await createApp({ store: fixture.store, islands: new Map() }, [
      ...ROUTES,
    ]);
    const response = await app.request("/leaderboard");
    assert.equal(response.status, 200);
    const html = await response.text();
    const board = html.slice(html.indexOf('data-board="short-day@'));
    const rows = [...board.matchAll(
      /<tr data-standing="(\d)" data-outcome="([a-z_]+)">(.*?)<\/tr>/gs,
    )].map((m) => ({
      standing: Number(m[1]),
      outcome: m[2],
      student: /data-student="([^"]+)"/.exec(m[3]!)![1],
      text: m[3]!.replace(/<[^>]+>/g, " ").replace(/\s+/g, " "),
    }));
    // Whatever the scores (an uncontrolled tank can stay in range for hours), the outcome orders the rows.
    assert.deepEqual(
      rows.map((r) => [r.student, r.standing, r.outcome]),
      [
        ["ada", 2, "completed"],
        ["bob", 1, "completed"],
        // The two that did not complete, by score.
        ...[cy!, dee!, eve!]
          .sort((a, b) =>
            b.score - a.score || a.student.localeCompare(b.student)
          )
          .map((g) => [g.student, 0, g.outcome]),
      ],
    );
    assert.match(rows[0]!.text, /PASS completed/);
    assert.match(rows[1]!.text, /FAIL completed/);
    const crashed = rows.find((r) => r.student === "cy")!;
    assert.match(crashed.text, /FAIL controller crashed/);
    const silent = rows.find((r) => r.student === "dee")!;
    assert.match(silent.text, /FAIL controller never connected/);
    // A clean exit before the end is not called a crash, here or on the runs page.
    const early = rows.find((r) => r.student === "eve")!;
    assert.match(early.text, /FAIL controller ended early \(exit code 0\)/);
    const runsPage = await (await app.request("/runs?student=eve")).text();
    assert.match(runsPage, /controller ended early \(exit code 0\)/);
    assert.doesNotMatch(runsPage, /<td>controller crashed<\/td>/);
    const overall = html.slice(
      html.indexOf('data-board="overall"'),
      html.indexOf('data-board="short-day@'),
    );
    const order = [...overall.matchAll(/data-student="([^"]+)"/g)].map((m) =>
      m[1]
    );
    assert.deepEqual(order.slice(0, 2), ["ada", "bob"]);
  } finally {
    await fixture.close();
    await Deno.remove(dir, { recursive: true });
  }
});
