/**
 * `/runs`: every stored run, newest first, filtered by student, scenario, outcome and class with a plain GET form
 * (works without JavaScript), each linked to its report.
 *
 * @module
 */

import type { RouteModule } from "../app.ts";
import { pageOrError, renderPage } from "../components/page.tsx";
import { RunStyles } from "../components/run_styles.tsx";
import {
  duration,
  formatNumber,
  OUTCOME_WORDS,
  outcomeWords,
  when,
} from "../components/format.ts";
import { OUTCOMES, runFilterParams, summarize } from "../run_data.ts";

/** Registers `/runs`. */
export const runsRoutes: RouteModule = (app, context) => {
  app.get("/runs", (c) =>
    pageOrError(c, "runs", async (query) => {
      const filter = runFilterParams(query, 200);
      const { student, scenario, group, outcome } = filter;
      const all = await context.store.listRuns({ limit: 5000 });
      const runs = (await context.store.listRuns(filter)).map(summarize);
      const students = [...new Set(all.map((r) => r.student))].sort();
      const scenarios = [...new Set(all.map((r) => r.scenario.id))].sort();
      const groups = [
        ...new Set(all.flatMap((r) => r.group ? [r.group] : [])),
      ].sort();
      return renderPage(
        c,
        { title: "Runs", active: "runs" },
        <>
          <RunStyles />
          <form class="inline filters" method="get" action="/runs">
            <label>
              Student
              <input
                name="student"
                list="students"
                value={student ?? ""}
                size={14}
              />
            </label>
            <datalist id="students">
              {students.map((s) => <option key={s} value={s} />)}
            </datalist>
            <label>
              Scenario
              <select name="scenario">
                <option value="">any</option>
                {scenarios.map((s) => (
                  <option value={s} selected={s === scenario}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Outcome
              <select name="outcome">
                <option value="">any</option>
                {OUTCOMES.map((o) => (
                  <option value={o} selected={o === outcome}>
                    {OUTCOME_WORDS[o]}
                  </option>
                ))}
              </select>
            </label>
            {groups.length > 0 && (
              <label>
                Class
                <select name="group">
                  <option value="">any</option>
                  {groups.map((g) => (
                    <option value={g} selected={g === group}>{g}</option>
                  ))}
                </select>
              </label>
            )}
            <button type="submit">Show</button>
            <a href="/runs">Clear</a>
          </form>
          <p class="muted" aria-live="polite">
            {runs.length === 0
              ? "No runs match. Make one with: deno task challenge"
              : `${runs.length} run${
                runs.length === 1 ? "" : "s"
              }, newest first.`}
          </p>
          {runs.length > 0 && (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Started (UTC)</th>
                    <th scope="col">Student</th>
                    <th scope="col">Scenario</th>
                    <th scope="col">Outcome</th>
                    <th scope="col" class="num">Score</th>
                    <th scope="col">Result</th>
                    <th scope="col">Report</th>
                  </tr>
                </thead>
                <tbody>
                  {runs.map((run) => (
                    <tr>
                      <td>{when(run.startedAt)}</td>
                      <td>
                        {run.student}
                        {run.group && <span class="muted">({run.group})</span>}
                      </td>
                      <td>
                        {run.scenarioTitle}{" "}
                        <span class="muted">
                          {run.scenario} v{run.scenarioVersion},{" "}
                          {duration(run.simulated)}
                        </span>
                      </td>
                      <td>{outcomeWords(run.outcome, run.endedEarly)}</td>
                      <td class="num">
                        {run.score === null ? "–" : formatNumber(run.score, 1)}
                      </td>
                      <td>
                        {run.pass === null
                          ? <span class="muted">not graded</span>
                          : run.pass
                          ? <span class="pass">✓ pass</span>
                          : <span class="fail">✗ fail</span>}
                      </td>
                      <td>
                        <a href={`/runs/${encodeURIComponent(run.id)}`}>
                          Report<span class="visually-hidden">
                            {` of ${run.student}, ${run.scenario}, ${
                              when(run.startedAt)
                            }`}
                          </span>
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>,
      );
    }));
};
