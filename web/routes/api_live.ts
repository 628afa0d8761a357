/**
 * The live JSON and event API: `GET /api/live/state` (a snapshot), `GET /api/live/events` (server-sent events: a
 * `snapshot`, then `tank` and `connection` updates), `POST /api/live/tanks/:tank/ranges/:name` (a JSON `{min, max}`,
 * checked with the tank's own rules, then published retained on `{root}/{tank}/ranges/{name}`; who may post is
 * decided before, in `../auth.tsx`: same origin, JSON only, and the teacher's login on a locked server) and
 * `GET /api/live/tanks/:tank/history?names=&from=&to=&points=` (the tank's readings from its newest recording in the
 * data store, for charts longer than the relay keeps).
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { WebContext } from "../app.ts";
import type { LiveRelay } from "../live_relay.ts";
import { checkRangeBody } from "../live_range.ts";
import type { LiveUpdate } from "../live_view.ts";
import { findRecording, liveHistory } from "../live_history.ts";
import { RequestError } from "../run_data.ts";
import {
  jsonOrError,
  namesParam,
  pointsParam,
  timeWindow,
} from "./api_runs.ts";
import { DEFAULT_ROOT } from "../../protocol/mod.ts";

/** Largest request body accepted for a range, in bytes. */
const MAX_BODY = 4096;
/** Wall milliseconds between keep-alive comments on an idle event stream. */
const KEEPALIVE_MS = 15_000;

function noBroker(c: Context) {
  return c.json({
    error:
      "no MQTT broker is configured: start the web app with deno task sim --web",
  }, 503);
}

/** Registers the live API, reading from `relay` (absent: every route answers 503). */
export function registerLiveApi(
  app: Hono,
  context: WebContext,
  relay: LiveRelay | undefined,
): void {
  app.get(
    "/api/live/tanks/:tank/history",
    (c) =>
      jsonOrError(c, async (query) => {
        const names = namesParam(query) ?? ["temperature"];
        const window = timeWindow(query);
        const points = pointsParam(query);
        const tank = c.req.param("tank");
        const root = relay?.root ?? DEFAULT_ROOT;
        const meta = await findRecording(context.store, root, tank);
        if (meta === null) {
          throw new RequestError(
            404,
            `tank: no recording of "${tank}" under ${root}/ in the data store; deno task sim --web records its session, deno task record records any broker`,
          );
        }
        const history = await liveHistory(context.store, meta, {
          root,
          tank,
          names,
          ...window,
          points,
        });
        if (history.readings === 0) {
          throw new RequestError(
            404,
            `tank: no readings of "${tank}" in the recording ${meta.runId} (${root}/${tank}/sensors/all never came)`,
          );
        }
        return { tank, points, ...history };
      }),
  );

  app.get("/api/live/state", (c) => {
    if (relay === undefined) return noBroker(c);
    return c.json(relay.snapshot());
  });

  app.get("/api/live/events", (c) => {
    if (relay === undefined) return noBroker(c);
    return streamSSE(c, async (stream) => {
      const queue: LiveUpdate[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      const unsubscribe = relay.subscribe({
        update(update) {
          queue.push(update);
          wake?.();
        },
        closed() {
          ended = true;
          wake?.();
        },
      });
      stream.onAbort(() => {
        ended = true;
        wake?.();
      });
      try {
        await stream.writeSSE({
          event: "snapshot",
          data: JSON.stringify(relay.snapshot()),
        });
        while (!ended && !stream.aborted) {
          if (queue.length === 0) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            const idle = await new Promise<boolean>((resolve) => {
              wake = () => resolve(false);
              timer = setTimeout(() => resolve(true), KEEPALIVE_MS);
            });
            clearTimeout(timer);
            wake = undefined;
            if (idle && !ended) await stream.write(": keep-alive\n\n");
            continue;
          }
          const update = queue.shift()!;
          await stream.writeSSE({
            event: update.type,
            data: JSON.stringify(update),
          });
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.post("/api/live/tanks/:tank/ranges/:name", async (c) => {
    if (relay === undefined) return noBroker(c);
    const tank = c.req.param("tank");
    const name = c.req.param("name");
    if (relay.tank(tank) === undefined) {
      return c.json({
        error:
          `unknown tank "${tank}": no message from it under ${relay.root}/`,
        field: "tank",
      }, 404);
    }
    const text = await c.req.text();
    if (text.length > MAX_BODY) {
      return c.json({
        error: `body too large (at most ${MAX_BODY} bytes)`,
        field: "body",
      }, 413);
    }
    // Only JSON gets here (auth.tsx answers 415 to anything else): a form on another site cannot post one.
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return c.json({
        error: `expected a JSON body like {"min":24,"max":26}`,
        field: "body",
      }, 400);
    }
    const check = checkRangeBody(name, body);
    if (!check.ok) {
      return c.json(
        { error: check.error, field: check.field },
        check.field === "name" ? 404 : 400,
      );
    }
    if (!relay.connected) {
      return c.json({
        error: "not connected to the broker: try again in a moment",
      }, 503);
    }
    const topic = await relay.publishRange(tank, name, check.range);
    return c.json({ topic, range: check.range }, 202);
  });
}
