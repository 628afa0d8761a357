/**
 * The leaderboard: per scenario (id and version, since scores are comparable only within one version), each student's
 * best graded run and how many attempts they made; overall, each student's mean of their best scores across every
 * scenario on the board (a scenario not played counts 0). Pure: runs in, rows out.
 *
 * The outcome comes before the score: a run that did not complete (the controller never connected, crashed, stopped
 * answering, flooded, or the run was interrupted) or that another client commanded (interference) never outranks one
 * that completed, and a passing run ranks above a failing one, whatever the scores. A tank left uncontrolled on a short
 * scenario can stay in range for a while and score well; that score does not measure a controller.
 *
 * @module
 */

import type { RunMeta, RunOutcome } from "../store/mod.ts";
import { endedEarly } from "../grader/mod.ts";

/** Where a run stands before its score counts: 2 completed and passed, 1 completed and failed, 0 did not complete. */
export type Standing = 0 | 1 | 2;

/** A best run as the board shows it. */
export interface BoardRun {
  runId: string;
  score: number;
  pass: boolean;
  startedAt: string;
  outcome: RunOutcome;
  /** The controller exited with code 0 before the run was over (outcome `crashed`, but not a crash). */
  endedEarly: boolean;
  /** Another client commanded the tank: the score does not measure the controller. */
  interference: boolean;
  standing: Standing;
}

/** The standing of a graded run: whether it completed on its own, then whether it passed. */
export function standingOf(
  run: { outcome: RunOutcome; pass: boolean; interference: boolean },
): Standing {
  if (run.outcome !== "completed" || run.interference) return 0;
  return run.pass ? 2 : 1;
}

/** Options of {@linkcode buildLeaderboard}. */
export interface LeaderboardOptions {
  /** Runs another client commanded (their grade says `interference`); they rank as runs that did not complete. */
  interference?: ReadonlySet<string>;
}

/** A student's standing on one scenario. */
export interface LeaderboardRow {
  rank: number;
  student: string;
  /** The best run (best standing, then highest score; the earlier one on a tie). */
  best: BoardRun;
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
  /** Scenarios played, completed with the best run, and passed with it. */
  played: number;
  completed: number;
  passed: number;
  attempts: number;
}

/** The whole board. */
export interface Leaderboard {
  scenarios: ScenarioBoard[];
  overall: OverallRow[];
}

/** What orders rows: tiers first (most important first), then the score. */
interface Sortable {
  tiers: readonly number[];
  score: number;
  student: string;
}

function compareTiers(a: Sortable, b: Sortable): number {
  for (let i = 0; i < a.tiers.length; i++) {
    const difference = (b.tiers[i] ?? 0) - (a.tiers[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return b.score - a.score;
}

function byStanding<T extends Sortable>(a: T, b: T): number {
  return compareTiers(a, b) || a.student.localeCompare(b.student);
}

function ranked<T extends Sortable>(
  sorted: T[],
): (T & { rank: number })[] {
  let rank = 0;
  return sorted.map((row, index) => {
    if (index === 0 || compareTiers(row, sorted[index - 1]!) !== 0) {
      rank = index + 1;
    }
    return { ...row, rank };
  });
}

/** Whether `candidate` is a better best run than `best`: standing, then score, then the earlier. */
function better(candidate: BoardRun, best: BoardRun): boolean {
  if (candidate.standing !== best.standing) {
    return candidate.standing > best.standing;
  }
  if (candidate.score !== best.score) return candidate.score > best.score;
  return candidate.startedAt < best.startedAt;
}

/** Builds the board from runs (any order); runs without a grade are left out. */
export function buildLeaderboard(
  runs: readonly RunMeta[],
  options: LeaderboardOptions = {},
): Leaderboard {
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
    const interference = options.interference?.has(run.runId) ?? false;
    const standing = standingOf({
      outcome: run.outcome,
      pass: run.grade.pass,
      interference,
    });
    const candidate: BoardRun = {
      runId: run.runId,
      score: run.grade.score,
      // The grader fails such runs; a run stored before it did is failed here.
      pass: standing === 2,
      startedAt: run.startedAt,
      outcome: run.outcome,
      endedEarly: endedEarly(run.outcome, run),
      interference,
      standing,
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
    if (better(candidate, row.best)) row.best = candidate;
  }
  const scenarios = [...boards.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, board]): ScenarioBoard => ({
      key,
      scenario: board.scenario,
      rows: ranked(
        [...board.students.values()]
          .map((row) => ({
            ...row,
            tiers: [row.best.standing],
            score: row.best.score,
          }))
          .sort(byStanding),
      ).map(({ score: _score, tiers: _tiers, ...row }) => row),
    }));
  const students = new Map<
    string,
    Omit<OverallRow, "rank" | "score"> & { total: number }
  >();
  for (const board of scenarios) {
    for (const row of board.rows) {
      const entry = students.get(row.student) ??
        {
          student: row.student,
          total: 0,
          played: 0,
          completed: 0,
          passed: 0,
          attempts: 0,
        };
      entry.total += row.best.score;
      entry.played++;
      if (row.best.standing > 0) entry.completed++;
      if (row.best.standing === 2) entry.passed++;
      entry.attempts += row.attempts;
      students.set(row.student, entry);
    }
  }
  const count = Math.max(1, scenarios.length);
  // Overall, scenarios passed count first, then scenarios completed, then the mean score.
  const overall = ranked(
    [...students.values()]
      .map(({ total, ...rest }) => ({
        ...rest,
        tiers: [rest.passed, rest.completed],
        score: Math.round((total / count) * 10) / 10,
      }))
      .sort(byStanding),
  ).map(({ tiers: _tiers, ...row }) => row);
  return { scenarios, overall };
}
