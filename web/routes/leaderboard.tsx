/**
 * `/leaderboard`: overall and per scenario, each student's best graded run, attempts and when, filtered by class
 * (`?group=`), each best run linked to its report.
 *
 * @module
 */

import type { RouteModule } from "../app.ts";
import { formatNumber, when } from "../components/format.ts";
import { pageOrError, renderPage } from "../components/page.tsx";
import { RunStyles } from "../components/run_styles.tsx";
import { buildLeaderboard } from "../leaderboard.ts";
import { textParam } from "../run_data.ts";

function verdict(pass: boolean) {
  return pass
    ? <span class="pass">✓ pass</span>
    : <span class="fail">✗ fail</span>;
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
        const board = buildLeaderboard(
          group === undefined ? all : all.filter((r) => r.group === group),
        );
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
                      below; a scenario not played counts 0.
                    </p>
                    <div class="table-scroll">
                      <table data-board="overall">
                        <thead>
                          <tr>
                            <th scope="col" class="num">Rank</th>
                            <th scope="col">Student</th>
                            <th scope="col" class="num">Score</th>
                            <th scope="col">Scenarios played</th>
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
                      <div class="table-scroll">
                        <table data-board={scenario.key}>
                          <thead>
                            <tr>
                              <th scope="col" class="num">Rank</th>
                              <th scope="col">Student</th>
                              <th scope="col" class="num">Best score</th>
                              <th scope="col">Result</th>
                              <th scope="col" class="num">Attempts</th>
                              <th scope="col">Best run (UTC)</th>
                              <th scope="col">Last try (UTC)</th>
                            </tr>
                          </thead>
                          <tbody>
                            {scenario.rows.map((row) => (
                              <tr>
                                <td class="num">{row.rank}</td>
                                <td data-student={row.student}>
                                  {row.student}
                                </td>
                                <td class="num">
                                  {formatNumber(row.best.score, 1)}
                                </td>
                                <td>{verdict(row.best.pass)}</td>
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
