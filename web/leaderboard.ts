/**
 * The leaderboard: per scenario (id and version, since scores are comparable only within one version), each student's
 * best graded run and how many attempts they made; overall, each student's mean of their best scores across every
 * scenario on the board (a scenario not played counts 0). Pure: runs in, rows out.
 *
 * @module
 */

import type { RunMeta } from "../store/mod.ts";

/** A student's standing on one scenario. */
export interface LeaderboardRow {
  rank: number;
  student: string;
  /** The best run (highest score; the earlier one on a tie). */
  best: { runId: string; score: number; pass: boolean; startedAt: string };
  /** Graded runs of this student on this scenario. */
  attempts: number;
  /** When the student last tried, ISO. */
  lastAt: string;
}

/** One scenario's table. */
export interface ScenarioBoard {
  /** `steady-day@1`. */
  key: string;
  scenario: { id: string; version: number; title: string };
  rows: LeaderboardRow[];
}

/** A student's standing across every scenario on the board. */
export interface OverallRow {
  rank: number;
  student: string;
  /** Mean of the best score per scenario, unplayed scenarios counting 0; one decimal. */
  score: number;
  /** Scenarios played, and passed with the best run. */
  played: number;
  passed: number;
  attempts: number;
}

/** The whole board. */
export interface Leaderboard {
  scenarios: ScenarioBoard[];
  overall: OverallRow[];
}

function byScore<T extends { score: number; student: string }>(
  a: T,
  b: T,
): number {
  return b.score - a.score || a.student.localeCompare(b.student);
}

function ranked<T extends { score: number }>(
  sorted: T[],
): (T & { rank: number })[] {
  let rank = 0;
  return sorted.map((row, index) => {
    if (index === 0 || row.score !== sorted[index - 1]!.score) {
      rank = index + 1;
    }
    return { ...row, rank };
  });
}

/** Builds the board from runs (any order); runs without a grade are left out. */
export function buildLeaderboard(runs: readonly RunMeta[]): Leaderboard {
  const boards = new Map<
    string,
    {
      scenario: ScenarioBoard["scenario"];
      students: Map<string, Omit<LeaderboardRow, "rank">>;
    }
  >();
  for (const run of runs) {
    if (run.grade === undefined) continue;
    const key = `${run.scenario.id}@${run.scenario.version}`;
    let board = boards.get(key);
    if (board === undefined) {
      board = {
        scenario: {
          id: run.scenario.id,
          version: run.scenario.version,
          title: run.scenario.title,
        },
        students: new Map(),
      };
      boards.set(key, board);
    }
    const candidate = {
      runId: run.runId,
      score: run.grade.score,
      pass: run.grade.pass,
      startedAt: run.startedAt,
    };
    const row = board.students.get(run.student);
    if (row === undefined) {
      board.students.set(run.student, {
        student: run.student,
        best: candidate,
        attempts: 1,
        lastAt: run.startedAt,
      });
      continue;
    }
    row.attempts++;
    if (run.startedAt > row.lastAt) row.lastAt = run.startedAt;
    if (
      candidate.score > row.best.score ||
      (candidate.score === row.best.score &&
        candidate.startedAt < row.best.startedAt)
    ) row.best = candidate;
  }
  const scenarios = [...boards.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, board]): ScenarioBoard => ({
      key,
      scenario: board.scenario,
      rows: ranked(
        [...board.students.values()]
          .map((row) => ({ ...row, score: row.best.score }))
          .sort(byScore),
      ).map(({ score: _score, ...row }) => row),
    }));
  const students = new Map<
    string,
    Omit<OverallRow, "rank" | "score"> & { total: number }
  >();
  for (const board of scenarios) {
    for (const row of board.rows) {
      const entry = students.get(row.student) ??
        { student: row.student, total: 0, played: 0, passed: 0, attempts: 0 };
      entry.total += row.best.score;
      entry.played++;
      if (row.best.pass) entry.passed++;
      entry.attempts += row.attempts;
      students.set(row.student, entry);
    }
  }
  const count = Math.max(1, scenarios.length);
  const overall = ranked(
    [...students.values()]
      .map(({ total, ...rest }) => ({
        ...rest,
        score: Math.round((total / count) * 10) / 10,
      }))
      .sort(byScore),
  );
  return { scenarios, overall };
}
