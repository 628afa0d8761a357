/**
 * `/runs/:id/replay`: a stored run played back: the live page's tank card, the report's charts and the message log,
 * moving together over the run's simulated time (the `Replay` island). Rendered on the server at `?t=` seconds
 * (default 0) so the page is a snapshot without JavaScript, with a form to pick another time. Also registers the
 * island's tank-state API (`api_replay.ts`).
 *
 * @module
 */

import type { RouteModule } from "../app.ts";
import { duration, outcomeWords } from "../components/format.ts";
import { endedEarly } from "../../grader/mod.ts";
import { Island } from "../components/island.tsx";
import { pageOrError, renderPage } from "../components/page.tsx";
import { RunStyles } from "../components/run_styles.tsx";
import Replay from "../islands/Replay.tsx";
import { numberParam, payloadText, runData } from "../run_data.ts";
import { replayFrame, replayIndex } from "../replay_state.ts";
import {
  LOG_KINDS,
  LOG_ROWS,
  logFrom,
  type LogRow,
  type ReplayProps,
} from "../replay_view.ts";
import { apiReplayRoutes } from "./api_replay.ts";
import { loadShedder } from "../_load_shed.ts";

/** Points per chart in the first paint (the island then loads the full series). */
const FALLBACK_POINTS = 240;

const REPLAY_CSS = `
.replay-controls{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;position:sticky;top:0;z-index:2}
.replay-controls button{font-size:1rem;min-width:6.5rem}
.replay-scrub{display:flex;align-items:center;gap:.5rem;flex:1 1 18rem}
.replay-scrub input{flex:1}
.replay-controls output{font-variant-numeric:tabular-nums}
.replay-grid{display:grid;grid-template-columns:minmax(34rem,1fr) minmax(0,1.5fr);gap:1rem;align-items:start;margin-top:1rem}
.replay-grid section{margin:0}
.replay-log-box h2{margin-top:0;font-size:1.1rem}
.replay-log td{font-size:.8rem}
.replay-log .log-topic{word-break:break-all;font-weight:600}
.replay-log tr.replay-now{background:#fff3cd;font-weight:600}
.replay-log tr.replay-later{opacity:.55}
.replay-cursor{position:absolute;top:0;bottom:0;width:2px;margin-left:-1px;background:#e67e22;pointer-events:none}
.live-card h2{margin:.2rem 0 .4rem}.live-card table{margin:.5rem 0}
@media (max-width:1180px){.replay-grid{grid-template-columns:minmax(0,1fr)}}
`;

/** Registers `/runs/:id/replay` and `/api/runs/:id/replay`. */
export const replayRoutes: RouteModule = (app, context) => {
  apiReplayRoutes(app, context);
  const data = runData(context.store);
  app.use("/runs/:id/replay", loadShedder(context).middleware());
  app.get("/runs/:id/replay", (c) =>
    pageOrError(c, "runs", async (query) => {
      const asked = numberParam(query, "t", { min: 0 });
      const meta = await data.meta(c.req.param("id"));
      const start = data.scenarioStart(meta);
      const fallback = await data.series(meta, { points: FALLBACK_POINTS });
      const end = Math.max(meta.simulated, fallback.to);
      const step = meta.stats.steps > 0 && meta.simulated > 0
        ? Math.max(1, Math.round(meta.simulated / meta.stats.steps))
        : 1;
      const t = Math.min(end, asked ?? 0);
      // Build the run's index in the background: the island's first jumps use it.
      replayIndex(context.store, meta).catch(() => {});
      const [frame, page] = await Promise.all([
        replayFrame(context.store, meta, t),
        data.messages(meta, {
          from: logFrom(t, step),
          kinds: LOG_KINDS,
          limit: LOG_ROWS,
        }),
      ]);
      const log: LogRow[] = page.records.map((r) => ({
        seq: r.seq,
        t: r.t,
        kind: r.kind,
        client: r.client,
        topic: r.topic,
        ...payloadText(r.payload),
        ...(r.note !== undefined ? { note: r.note } : {}),
      }));
      const props: ReplayProps = {
        runId: meta.runId,
        start,
        end,
        step,
        frame,
        log,
        fallback,
      };
      const report = `/runs/${encodeURIComponent(meta.runId)}`;
      return renderPage(
        c,
        {
          title: `Replay: ${meta.scenario.title}, ${meta.student}`,
          active: "runs",
        },
        <>
          <RunStyles />
          <style dangerouslySetInnerHTML={{ __html: REPLAY_CSS }} />
          <p>
            <a href={report}>← Run report</a> · <a href="/runs">All runs</a>
          </p>
          <p>
            Run <code>{meta.runId}</code>: scenario{" "}
            <strong>{meta.scenario.id}</strong> v{meta.scenario.version},{" "}
            {duration(meta.simulated)} simulated, tank{" "}
            <code>{meta.tank}</code>. Outcome:{" "}
            <strong>
              {outcomeWords(meta.outcome, endedEarly(meta.outcome, meta))}
            </strong>. Press <kbd>Space</kbd>{" "}
            to play or pause; the arrow keys step {step}{" "}
            s of tank time. To watch it in any MQTT display:{" "}
            <code>deno task replay {meta.runId}</code>.
          </p>
          {fallback.actuators.t.length === 0 && (
            <p class="muted">
              This run has no truth samples: the charts stay empty.
            </p>
          )}
          <Island name="Replay" component={Replay} props={props} />
        </>,
      );
    }));
};
