import assert from "node:assert/strict";
import { buildLeaderboard } from "./leaderboard.ts";
import type { RunMeta, RunOutcome } from "../store/mod.ts";

function run(
  runId: string,
  student: string,
  scenario: string,
  score: number | undefined,
  startedAt: string,
  options: { outcome?: RunOutcome; pass?: boolean } = {},
): RunMeta {
  const outcome = options.outcome ?? "completed";
  return {
    runId,
    student,
    startedAt,
    outcome,
    scenario: {
      id: scenario,
      version: 1,
      title: scenario,
      hash: "",
      source: "",
    },
    ...(score === undefined ? {} : {
      grade: {
        score,
        pass: options.pass ?? (outcome === "completed" && score >= 70),
        passMark: 70,
      },
    }),
  } as RunMeta;
}

Deno.test("buildLeaderboard() ranks each student's best run per scenario and the mean of bests overall", () => {
  const board = buildLeaderboard([
    run("a1", "ada", "day", 60, "2026-01-01T10:00:00Z"),
    run("a2", "ada", "day", 90, "2026-01-01T11:00:00Z"),
    run("a3", "ada", "day", 90, "2026-01-01T12:00:00Z"),
    run("b1", "bob", "day", 75, "2026-01-01T10:30:00Z"),
    run("b2", "bob", "cold", 80, "2026-01-01T10:40:00Z"),
    run("c1", "cy", "day", undefined, "2026-01-01T10:50:00Z"),
  ]);
  assert.deepEqual(board.scenarios.map((s) => s.key), ["cold@1", "day@1"]);
  const day = board.scenarios[1]!.rows;
  assert.deepEqual(
    day.map((r) => [r.rank, r.student, r.best.runId, r.attempts]),
    [
      [1, "ada", "a2", 3],
      [2, "bob", "b1", 1],
    ],
  );
  assert.equal(day[0]!.lastAt, "2026-01-01T12:00:00Z");
  assert.deepEqual(
    board.overall.map((r) => [r.rank, r.student, r.score, r.played, r.passed]),
    [
      [1, "bob", 77.5, 2, 2],
      [2, "ada", 45, 1, 1],
    ],
  );
});

Deno.test("buildLeaderboard() shares a rank between equal scores and is empty without graded runs", () => {
  const board = buildLeaderboard([
    run("a", "ada", "day", 80, "2026-01-01T10:00:00Z"),
    run("b", "bob", "day", 80, "2026-01-01T10:00:00Z"),
    run("c", "cy", "day", 70, "2026-01-01T10:00:00Z"),
  ]);
  assert.deepEqual(board.overall.map((r) => r.rank), [1, 1, 3]);
  assert.deepEqual(buildLeaderboard([run("x", "x", "day", undefined, "")]), {
    scenarios: [],
    overall: [],
  });
});

Deno.test("buildLeaderboard() ranks passing runs first, then failing runs that completed, then runs that did not complete, whatever the scores", () => {
  const at = "2026-01-01T10:00:00Z";
  const board = buildLeaderboard([
    run("pass", "ada", "day", 72, at),
    run("fail", "bob", "day", 65, at),
    run("unresponsive", "cy", "day", 100, at, { outcome: "unresponsive" }),
    run("no-connect", "dee", "day", 76.9, at, { outcome: "no_connect" }),
    run("crashed", "eve", "day", 99, at, { outcome: "crashed" }),
    run("interfered", "fay", "day", 95, at),
    run("interrupted", "gus", "day", 98, at, { outcome: "interrupted" }),
  ], { interference: new Set(["interfered"]) });
  const rows = board.scenarios[0]!.rows;
  assert.deepEqual(
    rows.map((r) => [r.rank, r.student, r.best.standing, r.best.pass]),
    [
      [1, "ada", 2, true],
      [2, "bob", 1, false],
      [3, "cy", 0, false],
      [4, "eve", 0, false],
      [5, "gus", 0, false],
      [6, "fay", 0, false],
      [7, "dee", 0, false],
    ],
  );
  assert.deepEqual(rows[5]!.best.interference, true);
  assert.deepEqual(
    board.overall.map((r) => [r.student, r.passed, r.completed]).slice(0, 3),
    [["ada", 1, 1], ["bob", 0, 1], ["cy", 0, 0]],
  );
});

Deno.test("buildLeaderboard() takes a student's completed run as best over a higher-scoring one that crashed", () => {
  const board = buildLeaderboard([
    run("crash", "ada", "day", 90, "2026-01-01T10:00:00Z", {
      outcome: "crashed",
      pass: true, // as a run stored before the grader failed such runs
    }),
    run("done", "ada", "day", 60, "2026-01-01T11:00:00Z"),
    run("pass", "ada", "cold", 75, "2026-01-01T11:00:00Z"),
    run("fail", "ada", "cold", 80, "2026-01-01T12:00:00Z", { pass: false }),
  ]);
  assert.deepEqual(
    board.scenarios.map((s) => [s.key, s.rows[0]!.best.runId]),
    [["cold@1", "pass"], ["day@1", "done"]],
  );
  assert.equal(board.scenarios[0]!.rows[0]!.attempts, 2);
});
