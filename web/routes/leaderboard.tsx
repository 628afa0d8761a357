/**
 * `/leaderboard`: overall and per scenario, each student's best graded run, attempts and when, filtered by class
 * (`?group=`), each best run linked to its report. Runs that did not complete rank below those that did, failing runs
 * below passing ones (see `leaderboard.ts`); each row says how its best run ended.
 *
 * @module
 */

import type { RouteModule } from "../app.ts";
import { storedDigest } from "../../harness/grading/mod.ts";
import type { RunMeta, RunStore } from "../../store/mod.ts";
import {
  formatNumber,
  outcomeWords as outcomeText,
  when,
} from "../components/format.ts";
import { pageOrError, renderPage } from "../components/page.tsx";
import { RunStyles } from "../components/run_styles.tsx";
import { type BoardRun, buildLeaderboard } from "../leaderboard.ts";
import { textParam } from "../run_data.ts";

function verdict(pass: boolean) {
  return pass
    ? <span class="pass">✓ PASS</span>
    : <span class="fail">✗ FAIL</span>;
}

/** How the best run ended, in words: `completed`, `controller crashed`, `interference`. */
function outcomeWords(run: BoardRun): string {
  return run.interference
    ? "interference"
    : outcomeText(run.outcome, run.endedEarly);
}

/**
 * The runs another client commanded: from their summaries, which say so since runs kept it; for older runs, only
 * completed failing runs can be such runs (interference fails a run and ranks it as one that did not complete), so
 * only their stored digests are read, a few at a time.
 */
async function interferenceRuns(
  store: RunStore,
  runs: readonly RunMeta[],
): Promise<Set<string>> {
  const found = new Set<string>();
  const older: string[] = [];
  for (const run of runs) {
    if (run.grade?.interference === true) found.add(run.runId);
    if (
      run.outcome === "completed" && run.grade?.pass === false &&
      run.grade.interference === undefined
    ) older.push(run.runId);
  }
  for (let i = 0; i < older.length; i += 16) {
    const batch = older.slice(i, i + 16);
    const digests = await Promise.all(
      batch.map((id) => storedDigest(store, id)),
    );
    digests.forEach((d, j) => {
      if (d?.grade.interference) found.add(batch[j]!);
    });
  }
  return found;
}

/** Registers `/leaderboard`. */
export const leaderboardRoutes: RouteModule = (app, context) => {
  app.get(
    "/leaderboard",
    (c) =>
      pageOrError(c, "leaderboard", async (query) => {
        const group = textParam(query, "group");
        const all = await context.store.listRuns();
        const groups = [
          ...new Set(all.flatMap((r) => r.group ? [r.group] : [])),
        ].sort();
        const runs = group === undefined
          ? all
          : all.filter((r) => r.group === group);
        const board = buildLeaderboard(runs, {
          interference: await interferenceRuns(context.store, runs),
        });
        return renderPage(
          c,
          { title: "Leaderboard", active: "leaderboard" },
          <>
            <RunStyles />
            <form class="inline filters" method="get" action="/leaderboard">
              <label>
                Class
                <select name="group">
                  <option value="">everyone</option>
                  {groups.map((g) => (
                    <option value={g} selected={g === group}>{g}</option>
                  ))}
                </select>
              </label>
              <button type="submit">Show</button>
            </form>
            {board.scenarios.length === 0
              ? (
                <p class="muted">
                  No graded runs{group ? ` in class ${group}` : ""}{" "}
                  yet. Make one with: deno task challenge
                </p>
              )
              : (
                <>
                  <section aria-labelledby="overall-heading">
                    <h2 id="overall-heading">Overall</h2>
                    <p class="muted">
                      Mean of each student's best score on the{" "}
                      {board.scenarios.length}{" "}
                      scenario{board.scenarios.length === 1 ? "" : "s"}{" "}
                      below; a scenario not played counts 0. Students are ranked
                      by scenarios passed, then scenarios completed (the
                      controller ran to the end on its own), then score.
                    </p>
                    <div class="table-scroll">
                      <table data-board="overall">
                        <thead>
                          <tr>
                            <th scope="col" class="num">Rank</th>
                            <th scope="col">Student</th>
                            <th scope="col" class="num">Score</th>
                            <th scope="col">Scenarios played</th>
                            <th scope="col">Completed</th>
                            <th scope="col">Passed</th>
                            <th scope="col" class="num">Attempts</th>
                          </tr>
                        </thead>
                        <tbody>
                          {board.overall.map((row) => (
                            <tr>
                              <td class="num">{row.rank}</td>
                              <td data-student={row.student}>{row.student}</td>
                              <td class="num">{formatNumber(row.score, 1)}</td>
                              <td>
                                {row.played} of {board.scenarios.length}
                              </td>
                              <td>{row.completed}</td>
                              <td>{row.passed}</td>
                              <td class="num">{row.attempts}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  </section>
                  {board.scenarios.map((scenario) => (
                    <section aria-labelledby={`board-${scenario.key}`}>
                      <h2 id={`board-${scenario.key}`}>
                        {scenario.scenario.title}{" "}
                        <span class="muted">
                          ({scenario.scenario.id} v{scenario.scenario.version})
                        </span>
                      </h2>
                      <p class="muted">
                        Each student's best run: passing runs first, then
                        failing runs that completed, then runs that did not
                        complete; by score within each.
                      </p>
                      <div class="table-scroll">
                        <table data-board={scenario.key}>
                          <thead>
                            <tr>
                              <th scope="col" class="num">Rank</th>
                              <th scope="col">Student</th>
                              <th scope="col" class="num">Best score</th>
                              <th scope="col">Result</th>
                              <th scope="col">Outcome</th>
                              <th scope="col" class="num">Attempts</th>
                              <th scope="col">Best run (UTC)</th>
                              <th scope="col">Last try (UTC)</th>
                            </tr>
                          </thead>
                          <tbody>
                            {scenario.rows.map((row) => (
                              <tr
                                data-standing={row.best.standing}
                                data-outcome={row.best.interference
                                  ? "interference"
                                  : row.best.outcome}
                              >
                                <td class="num">{row.rank}</td>
                                <td data-student={row.student}>
                                  {row.student}
                                </td>
                                <td class="num">
                                  {formatNumber(row.best.score, 1)}
                                </td>
                                <td>{verdict(row.best.pass)}</td>
                                <td
                                  class={row.best.standing === 0
                                    ? "fail"
                                    : undefined}
                                >
                                  {outcomeWords(row.best)}
                                </td>
                                <td class="num">{row.attempts}</td>
                                <td>
                                  <a
                                    href={`/runs/${
                                      encodeURIComponent(row.best.runId)
                                    }`}
                                  >
                                    {when(row.best.startedAt)}
                                    <span class="visually-hidden">
                                      {`: report of ${row.student}'s best run`}
                                    </span>
                                  </a>
                                </td>
                                <td>{when(row.lastAt)}</td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      </div>
                    </section>
                  ))}
                </>
              )}
          </>,
        );
      }),
  );
};
