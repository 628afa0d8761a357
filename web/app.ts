/**
 * The web application: a Hono app whose routes live one concept per file in `web/routes/`, as Fresh lays them out.
 * Pages are rendered on the server with Preact; small islands are hydrated in the browser from `/islands/<name>.js`.
 *
 * @module
 */

import { Hono } from "hono";
import type { RunStore } from "../store/mod.ts";
import type { IslandBundles } from "./islands/_build.ts";
import { registerAuth } from "./auth.tsx";

/** What every route can use. */
export interface WebContext {
  store: RunStore;
  /** The bundled islands, served at `/islands/<name>.js`. */
  islands: IslandBundles;
  /** The MQTT broker the live pages show (absent: the live page says there is none). */
  broker?: { url: string; root: string; username?: string; password?: string };
  /** Changing anything needs the teacher's login with this password (see `auth.tsx`); absent: open classroom mode. */
  lock?: { password: string };
  /** The address the server listens on: on a loopback one, requests naming another host are refused. */
  listenHost?: string;
  /**
   * Path prefixes whose routes check who may change things themselves (the class API's student tokens): the login
   * and JSON-only rules leave them alone; the same-origin and loopback rules still hold.
   */
  selfGuarded?: readonly string[];
  /** The command that starts this server with the store and port in use (`deno task web --port 8080`), for advice. */
  command?: string;
}

/** A route module registers its paths on the app. */
export type RouteModule = (app: Hono, context: WebContext) => void;

const STYLE = new URL("./static/style.css", import.meta.url);

/** Builds the app from route modules. Unknown paths get a 404 page, errors a 500 with the message logged. */
export async function createApp(
  context: WebContext,
  routes: RouteModule[],
): Promise<Hono> {
  const app = new Hono();
  // First: the same-origin, JSON-only and login rules hold for every route below.
  registerAuth(app, context);
  const css = await Deno.readTextFile(STYLE);
  app.get(
    "/static/style.css",
    (c) => c.body(css, 200, { "content-type": "text/css; charset=utf-8" }),
  );
  app.get("/islands/:file{[A-Za-z0-9_]+\\.js}", (c) => {
    const name = c.req.param("file").slice(0, -3);
    const source = context.islands.get(name);
    if (source === undefined) return c.text(`No island "${name}"`, 404);
    return c.body(source, 200, {
      "content-type": "text/javascript; charset=utf-8",
    });
  });
  for (const register of routes) register(app, context);
  app.notFound((c) => c.text(`Not found: ${c.req.path}`, 404));
  app.onError((error, c) => {
    console.error(
      `web: ${c.req.method} ${c.req.path}: ${
        error instanceof Error ? error.stack : error
      }`,
    );
    return c.text("Internal error: the server logged the details", 500);
  });
  return app;
}
