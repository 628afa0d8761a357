/**
 * The runs API (JSON): the list of runs, one run with its grade, its chart series and its message log. A bad
 * parameter or an unknown run gets a 4xx `{error}` naming the parameter.
 *
 * @module
 */

import type { Context } from "hono";
import type { RouteModule } from "../app.ts";
import { SENSOR_NAMES, type SensorName } from "../../sim/mod.ts";
import {
  numberParam,
  payloadText,
  RECORD_KINDS,
  RequestError,
  runData,
  runFilterParams,
  summarize,
  textParam,
} from "../run_data.ts";
import type { RecordKind } from "../../store/mod.ts";
import { loadShedder } from "../_load_shed.ts";

/** Most points per series the API sends. */
export const MAX_POINTS = 20_000;
/** Most records per page of the message log. */
export const MAX_MESSAGES = 2000;

/** Runs `handler`, turning a {@linkcode RequestError} into its status with `{error}`. */
export async function jsonOrError(
  c: Context,
  handler: (query: URLSearchParams) => Promise<unknown>,
): Promise<Response> {
  try {
    return c.json(await handler(new URL(c.req.url).searchParams));
  } catch (error) {
    if (error instanceof RequestError) {
      return c.json({ error: error.message }, error.status);
    }
    throw error;
  }
}

/** `names=temperature,ph`: known measurement names, or undefined for the default. */
export function namesParam(
  query: URLSearchParams,
): SensorName[] | undefined {
  const raw = textParam(query, "names");
  if (raw === undefined) return undefined;
  const names = raw.split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!SENSOR_NAMES.includes(name as SensorName)) {
      throw new RequestError(
        400,
        `names: unknown measurement "${name}"; expected some of ${
          SENSOR_NAMES.join(", ")
        }`,
      );
    }
  }
  return names as SensorName[];
}

/** `kind=publish,note`: known record kinds. */
export function kindsParam(
  query: URLSearchParams,
): RecordKind[] | undefined {
  const raw = textParam(query, "kind");
  if (raw === undefined) return undefined;
  const kinds = raw.split(",").map((kind) => kind.trim()).filter(Boolean);
  for (const kind of kinds) {
    if (!RECORD_KINDS.includes(kind as RecordKind)) {
      throw new RequestError(
        400,
        `kind: unknown record kind "${kind}"; expected some of ${
          RECORD_KINDS.join(", ")
        }`,
      );
    }
  }
  return kinds as RecordKind[];
}

/** `points`: about how many points per series, 10 to {@linkcode MAX_POINTS}; 1000 by default. */
export function pointsParam(query: URLSearchParams): number {
  return numberParam(query, "points", {
    min: 10,
    max: MAX_POINTS,
    integer: true,
  }) ?? 1000;
}

/** `from` and `to` in simulated seconds, with `from ≤ to`. */
export function timeWindow(
  query: URLSearchParams,
): { from?: number; to?: number } {
  const from = numberParam(query, "from", { min: 0 });
  const to = numberParam(query, "to", { min: 0 });
  if (from !== undefined && to !== undefined && from > to) {
    throw new RequestError(
      400,
      `from: must not be after to (got from=${from}, to=${to})`,
    );
  }
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  };
}

/** Registers `/api/runs`, `/api/runs/:id`, `/api/runs/:id/series` and `/api/runs/:id/messages`. */
export const apiRunsRoutes: RouteModule = (app, context) => {
  const data = runData(context.store);
  // One run's grade, charts and log are the expensive reads: a few at a time, the rest refused with Retry-After.
  const shed = loadShedder(context).middleware();
  app.use("/api/runs/:id", shed);
  app.use("/api/runs/:id/*", shed);

  app.get("/api/runs", (c) =>
    jsonOrError(c, async (query) => {
      const runs = await context.store.listRuns(runFilterParams(query, 100));
      return { runs: runs.map(summarize) };
    }));

  app.get("/api/runs/:id", (c) =>
    jsonOrError(c, async () => {
      const meta = await data.meta(c.req.param("id"));
      // A run that cannot be graded (a recording names its scenario but has no text) is still a run: as the report
      // page does, say why instead of failing.
      const grade = await data.grade(meta).catch((error: Error) => error);
      const { source: _source, ...scenario } = meta.scenario;
      return {
        meta: { ...meta, scenario },
        scenarioStart: data.scenarioStart(meta),
        grade: grade instanceof Error ? null : grade,
        ...(grade instanceof Error ? { gradeError: grade.message } : {}),
      };
    }));

  app.get("/api/runs/:id/series", (c) =>
    jsonOrError(c, async (query) => {
      const names = namesParam(query);
      const window = timeWindow(query);
      const points = pointsParam(query);
      const meta = await data.meta(c.req.param("id"));
      return {
        runId: meta.runId,
        scenarioStart: data.scenarioStart(meta),
        points,
        ...await data.series(meta, {
          ...(names ? { names } : {}),
          ...window,
          points,
        }),
      };
    }));

  app.get("/api/runs/:id/messages", (c) =>
    jsonOrError(c, async (query) => {
      const topic = textParam(query, "topic");
      const kinds = kindsParam(query);
      const from = numberParam(query, "from", { min: 0 });
      const seq = numberParam(query, "seq", { min: 0, integer: true });
      const limit = numberParam(query, "limit", {
        min: 1,
        max: MAX_MESSAGES,
        integer: true,
      }) ?? 200;
      const meta = await data.meta(c.req.param("id"));
      const page = await data.messages(meta, {
        ...(topic ? { topic } : {}),
        ...(kinds ? { kinds } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(seq !== undefined ? { seq } : {}),
        limit,
      });
      return {
        runId: meta.runId,
        total: await context.store.countMessages(meta.runId),
        next: page.next,
        records: page.records.map((r) => ({
          seq: r.seq,
          t: r.t,
          wall: r.wall,
          kind: r.kind,
          client: r.client,
          topic: r.topic,
          ...payloadText(r.payload),
          qos: r.qos,
          retain: r.retain,
          ...(r.note !== undefined ? { note: r.note } : {}),
        })),
      };
    }));
};
