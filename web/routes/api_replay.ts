/**
 * `GET /api/runs/:id/replay?t=SECONDS`: the tank of a stored run as it was at simulated time `t` (default 0), in the
 * live card's shape. A bad `t` or an unknown run gets a 4xx `{error}`.
 *
 * @module
 */

import type { RouteModule } from "../app.ts";
import { numberParam, runData } from "../run_data.ts";
import { replayFrame } from "../replay_state.ts";
import { jsonOrError } from "./api_runs.ts";
import { loadShedder } from "../_load_shed.ts";

/** Registers `/api/runs/:id/replay`. */
export const apiReplayRoutes: RouteModule = (app, context) => {
  const data = runData(context.store);
  app.use("/api/runs/:id/replay", loadShedder(context).middleware());
  app.get("/api/runs/:id/replay", (c) =>
    jsonOrError(c, async (query) => {
      const t = numberParam(query, "t", { min: 0 }) ?? 0;
      const meta = await data.meta(c.req.param("id"));
      return {
        runId: meta.runId,
        ...await replayFrame(context.store, meta, t),
      };
    }));
};
