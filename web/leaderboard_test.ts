import assert from "node:assert/strict";
import { buildLeaderboard } from "./leaderboard.ts";
import type { RunMeta } from "../store/mod.ts";

function run(
  runId: string,
  student: string,
  scenario: string,
  score: number | undefined,
  startedAt: string,
): RunMeta {
  return {
    runId,
    student,
    startedAt,
    scenario: {
      id: scenario,
      version: 1,
      title: scenario,
      hash: "",
      source: "",
    },
    ...(score === undefined
      ? {}
      : { grade: { score, pass: score >= 70, passMark: 70 } }),
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
