/**
 * `/runs/:id`: the report of one stored run: score card (score, pass or fail in words, components, advice), key
 * figures, charts (the `RunCharts` island over server-rendered SVG) and the message log, filtered by topic and kind
 * and jumped to a time with plain query parameters (`topic`, `kind`, `from`, `seq`, `limit`).
 *
 * @module
 */

import { formatClock } from "../../lib/mod.ts";
import {
  commandingClients,
  endedEarly,
  type Marker,
  type RunGrade,
  synchronisation,
} from "../../grader/mod.ts";
import type { RunMeta } from "../../store/mod.ts";
import type { RouteModule } from "../app.ts";
import {
  clockAt,
  duration,
  formatNumber,
  outcomeWords,
  parseElapsed,
  when,
} from "../components/format.ts";
import { Island } from "../components/island.tsx";
import { pageOrError, renderPage } from "../components/page.tsx";
import { RunStyles } from "../components/run_styles.tsx";
import RunCharts from "../islands/RunCharts.tsx";
import { kindsParam, MAX_MESSAGES } from "./api_runs.ts";
import {
  numberParam,
  payloadText,
  RequestError,
  runData,
  textParam,
} from "../run_data.ts";
import { MessageLog } from "../components/message_log.tsx";
import { loadShedder } from "../_load_shed.ts";

/** Points per chart in the server-rendered fallback (and the island's first paint). */
const FALLBACK_POINTS = 240;
/** Longest payload shown in the log before it is cut. */
const PAYLOAD_CHARS = 300;

// The figures behind each component's score get a line of their own under it, the width of the card, rather than a
// narrow fourth column they would wrap in.
function ScoreCard({ grade }: { grade: RunGrade }) {
  return (
    <section class="card" aria-labelledby="score-heading">
      <h2 id="score-heading">Score</h2>
      <p>
        <span class="score-big">{formatNumber(grade.score, 1)}</span>
        <span class="muted">/ 100</span>{" "}
        <span class={`verdict ${grade.pass ? "pass" : "fail"}`}>
          {grade.pass
            ? "✓ Pass"
            : grade.interference
            ? "✗ Fail (interference)"
            : "✗ Fail"}
        </span>{" "}
        <span class="muted">
          (pass mark {grade.passMark}
          {grade.outcome !== "completed" &&
            `; a run that did not complete cannot pass`})
        </span>
      </p>
      {grade.interference && (
        <p class="fail" role="alert">
          <strong>{grade.interference.message}</strong>
        </p>
      )}
      <div class="table-scroll" data-table="components">
        <table class="components">
          <caption class="visually-hidden">Score components</caption>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col" class="num">Weight</th>
              <th scope="col">Score</th>
            </tr>
          </thead>
          {grade.components.map((component) => (
            <tbody>
              <tr>
                <th scope="row">{component.name}</th>
                <td class="num">{component.weight}</td>
                <td class="meter-cell">
                  <span class="meter" aria-hidden="true">
                    <span style={`width:${component.score * 100}%`} />
                  </span>
                  {formatNumber(component.score * 100)} %
                </td>
              </tr>
              <tr class="component-detail">
                <td colspan={3}>{component.detail}</td>
              </tr>
            </tbody>
          ))}
        </table>
      </div>
      {grade.advice.length > 0 && (
        <>
          <h3>Advice</h3>
          <ol>{grade.advice.map((line) => <li key={line}>{line}</li>)}</ol>
        </>
      )}
    </section>
  );
}

function keyFigures(grade: RunGrade, meta: RunMeta): [string, string][] {
  const { kpis } = grade;
  const out: [string, string][] = [];
  for (const m of kpis.measurements) {
    out.push([
      m.name.replace("_", " "),
      `${formatNumber(m.timeInRangePercent, 1)} % in range` +
      (m.areaOutside > 0
        ? `, ${formatNumber(m.areaOutside, 2)} ${m.areaUnit} outside over ${
          formatNumber(m.hoursOutside, 1)
        } h`
        : ""),
    ]);
  }
  out.push(["heater energy", `${formatNumber(kpis.energy.countedWh)} Wh`]);
  for (const a of kpis.switching.actuators) {
    if (a.counted > 0) {
      out.push([
        `${a.name} switching`,
        `${formatNumber(a.counted)} switches (${
          formatNumber(a.countedPerHour, 1)
        }/h)`,
      ]);
    }
  }
  const expected = kpis.alarms.faults.filter((f) => f.expected);
  if (expected.length > 0) {
    out.push([
      "faults alarmed in time",
      `${
        expected.filter((f) => f.withinDeadline).length
      } of ${expected.length}`,
    ]);
  }
  out.push(["false alarms", formatNumber(kpis.alarms.falseAlarms.length)]);
  out.push(["rejected messages", formatNumber(kpis.hygiene.rejected)]);
  out.push(["messages recorded", formatNumber(meta.stats.messages)]);
  if (meta.stats.medianResponseMs !== null) {
    out.push([
      "controller response",
      `median ${formatNumber(meta.stats.medianResponseMs, 1)} ms, 95 % within ${
        formatNumber(meta.stats.p95ResponseMs ?? 0, 1)
      } ms`,
    ]);
  }
  const sync = synchronisation({ kpis });
  if (sync !== null) out.push(["steps", sync]);
  const clients = commandingClients(kpis.commanding);
  if (clients !== null) out.push(["clients", clients]);
  out.push([
    "controller sandbox",
    meta.controller.sandbox ??
      (meta.controller.command === null
        ? "none (an external client)"
        : "none (run unconfined)"),
  ]);
  return out;
}

function markerWords(markers: readonly Marker[], start: number): string[] {
  return markers.map((m) =>
    `${clockAt(start, m.t)} (+${formatClock(m.t)}): ${
      m.kind === "alarm"
        ? m.state === "start" ? "alarm raised" : "alarm cleared"
        : `${m.label.replaceAll("_", " ")} ${
          m.state === "start" ? "began" : "ended"
        }`
    }`
  );
}

/** Registers `/runs/:id`. */
export const runReportRoutes: RouteModule = (app, context) => {
  const data = runData(context.store);
  // The report reads the run's grade, charts and log: a few at a time, the rest refused with Retry-After.
  app.use("/runs/:id", loadShedder(context).middleware());
  app.get("/runs/:id", (c) =>
    pageOrError(c, "runs", async (query) => {
      const topic = textParam(query, "topic");
      const kinds = kindsParam(query);
      const fromText = textParam(query, "from");
      const from = fromText === undefined ? undefined : parseElapsed(fromText);
      if (fromText !== undefined && from === undefined) {
        throw new RequestError(
          400,
          `from: expected a time since the start like 1:30 (h:mm) or seconds, got "${fromText}"`,
        );
      }
      const seq = numberParam(query, "seq", { min: 0, integer: true });
      const limit = numberParam(query, "limit", {
        min: 1,
        max: MAX_MESSAGES,
        integer: true,
      }) ?? 100;
      const meta = await data.meta(c.req.param("id"));
      const start = data.scenarioStart(meta);
      const [grade, series] = await Promise.all([
        data.grade(meta).catch((error: Error) => error),
        data.series(meta, { points: FALLBACK_POINTS }),
      ]);
      const log = await data.messages(meta, {
        ...(topic ? { topic } : {}),
        ...(kinds ? { kinds } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(seq !== undefined ? { seq } : {}),
        limit,
      });
      const withDay = meta.simulated > 20 * 3600;
      const here = (params: Record<string, string | undefined>) => {
        const next = new URLSearchParams();
        for (const [key, value] of Object.entries(params)) {
          if (value !== undefined && value !== "") next.set(key, value);
        }
        const text = next.toString();
        return `/runs/${encodeURIComponent(meta.runId)}${
          text ? `?${text}` : ""
        }#log`;
      };
      return renderPage(
        c,
        { title: `${meta.scenario.title}: ${meta.student}`, active: "runs" },
        <>
          <RunStyles />
          <p>
            <a href="/runs">← All runs</a> ·{" "}
            <a href={`/runs/${encodeURIComponent(meta.runId)}/replay`}>
              ▶ Replay this run
            </a>{" "}
            · <a href="/leaderboard">Leaderboard</a>
          </p>
          <p>
            Run <code>{meta.runId}</code>: scenario{" "}
            <strong>{meta.scenario.id}</strong> v{meta.scenario.version},{" "}
            {duration(meta.simulated)} simulated, started {when(meta.startedAt)}
            {" "}
            UTC, {meta.mode} mode
            {meta.group && `, class ${meta.group}`}. Outcome:{" "}
            <strong>
              {outcomeWords(meta.outcome, endedEarly(meta.outcome, meta))}
            </strong>
            {meta.outcomeMessage && ` — ${meta.outcomeMessage}`}
          </p>
          <div class="cards">
            {grade instanceof Error
              ? (
                <section class="card">
                  <h2>Score</h2>
                  <p class="error">Cannot grade this run: {grade.message}</p>
                </section>
              )
              : <ScoreCard grade={grade} />}
            {!(grade instanceof Error) && (
              <section class="card" aria-labelledby="figures-heading">
                <h2 id="figures-heading">Key figures</h2>
                <dl class="figures">
                  {keyFigures(grade, meta).map(([term, value]) => (
                    <>
                      <dt>{term}</dt>
                      <dd>{value}</dd>
                    </>
                  ))}
                </dl>
              </section>
            )}
          </div>
          <section aria-labelledby="charts-heading">
            <h2 id="charts-heading">What the fish lived through</h2>
            {series.actuators.t.length === 0
              ? (
                <p class="muted">
                  This run has no truth samples: nothing to chart.
                </p>
              )
              : (
                <Island
                  name="RunCharts"
                  component={RunCharts}
                  props={{ runId: meta.runId, start, fallback: series }}
                />
              )}
            {series.markers.length > 0 && (
              <details open={series.markers.length <= 12}>
                <summary>
                  Alarms and events ({series.markers.length}; red lines: alarm,
                  purple: scenario events; solid = start, dashed = end)
                </summary>
                <ul>
                  {markerWords(series.markers, start).map((line) => (
                    <li>{line}</li>
                  ))}
                </ul>
              </details>
            )}
          </section>
          <section id="log" aria-labelledby="log-heading">
            <h2 id="log-heading">Message log</h2>
            <form
              class="inline filters"
              method="get"
              action={`/runs/${encodeURIComponent(meta.runId)}#log`}
            >
              <label>
                Topic contains (or MQTT filter)
                <input
                  name="topic"
                  value={topic ?? ""}
                  placeholder="control/heater or +/+/control/#"
                  size={24}
                />
              </label>
              <label>
                Kind
                <select name="kind">
                  <option value="">any</option>
                  {[
                    "publish",
                    "rejected",
                    "connect",
                    "disconnect",
                    "subscribe",
                    "truth",
                    "output",
                    "note",
                  ].map((k) => (
                    <option
                      value={k}
                      selected={kinds?.length === 1 && kinds[0] === k}
                    >
                      {k}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Jump to time since start
                <input
                  name="from"
                  value={fromText ?? ""}
                  placeholder="h:mm, e.g. 2:30"
                  size={10}
                />
              </label>
              <button type="submit">Show</button>
            </form>
            <p class="muted">
              {log.records.length === 0
                ? "No messages match."
                : `Messages ${log.records[0]!.seq}–${
                  log.records.at(-1)!.seq
                } of ${formatNumber(meta.stats.messages)} recorded.`}
            </p>
            {log.records.length > 0 && (
              <div class="table-scroll">
                <MessageLog
                  rows={log.records.map((r) => ({
                    ...r,
                    ...payloadText(r.payload),
                  }))}
                  maxChars={PAYLOAD_CHARS}
                  time={(r) => (
                    <>
                      {clockAt(start, r.t, withDay)}{" "}
                      <span class="muted">+{formatClock(r.t)}</span>
                    </>
                  )}
                />
              </div>
            )}
            <nav class="pager" aria-label="Message log pages">
              {log.next !== null && (
                <a
                  href={here({
                    topic,
                    kind: kinds?.join(","),
                    seq: String(log.next),
                    limit: query.get("limit") ?? undefined,
                  })}
                >
                  Next {limit} messages →
                </a>
              )}
              <a href={`/api/runs/${encodeURIComponent(meta.runId)}/messages`}>
                Log as JSON
              </a>
            </nav>
          </section>
        </>,
      );
    }));
};
