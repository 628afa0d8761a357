/**
 * The live display at `/`: one card per tank on the broker, rendered on the server (a snapshot that reads without
 * JavaScript), then kept live by the `LiveBoard` island (which adds a card for a tank that appears later); and the
 * live API (see `api_live.ts`).
 *
 * @module
 */

import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import type { RouteModule } from "../app.ts";
import { Island } from "../components/island.tsx";
import { Layout } from "../components/layout.tsx";
import LiveBoard from "../islands/LiveBoard.tsx";
import { liveRelayFor } from "../live_context.ts";
import { UPLOT_CSS } from "../live_chart_css.ts";
import { registerLiveApi } from "./api_live.ts";
import { editAccess } from "../auth.tsx";

/** Simulated seconds the live chart shows. */
const CHART_SECONDS = 2 * 3600;

function page(body: ComponentChildren): string {
  return "<!doctype html>" +
    renderToString(<Layout title="Live tanks" active="live">{body}</Layout>);
}

/** The live page and API. Starts the context's relay (see `live_context.ts`). */
export const liveRoutes: RouteModule = (app, context) => {
  const relay = liveRelayFor(context);
  registerLiveApi(app, context, relay);
  app.get("/", async (c) => {
    if (relay === undefined) {
      return c.html(
        page(
          <section class="card" data-field="no-broker">
            <h2>No MQTT broker configured</h2>
            <p>
              This server shows stored runs only. To watch tanks live, start it
              with the broker they publish to:{" "}
              <code data-field="broker-command">
                {context.command ?? "deno task web"}{" "}
                --broker mqtt://127.0.0.1:1883
              </code>{" "}
              (beside{" "}
              <code>deno task sim</code>, whose broker listens on 1883 unless
              you gave it{" "}
              <code>--port</code>; use that port here). Or start a simulation
              with its own web page: <code>deno task sim --web</code>.
            </p>
          </section>,
        ),
      );
    }
    // Give a freshly started relay a moment to receive the retained state, so the first page is not empty.
    if (!relay.connected) await relay.waitConnected(1000);
    if (relay.tanks.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const snapshot = relay.snapshot();
    const access = editAccess(c, context);
    const tanks = snapshot.tanks.map((view) => ({
      view,
      history: (snapshot.history[view.tank] ?? []).filter((p, _, all) =>
        p.t >= (all.at(-1)?.t ?? 0) - CHART_SECONDS
      ),
      connection: snapshot.connection,
      now: snapshot.now,
      chartSeconds: CHART_SECONDS,
    }));
    return c.html(page(
      <>
        <style dangerouslySetInnerHTML={{ __html: UPLOT_CSS }} />
        <p class="muted" data-field="broker">
          Broker <code>{snapshot.broker}</code>, topics{" "}
          <code>{snapshot.root}/+/#</code> · {snapshot.connection.state}
          {snapshot.connection.error ? ` (${snapshot.connection.error})` : ""}
          {access.locked && (
            <span data-field="teacher">
              {" · "}
              {access.csrf
                ? (
                  <>
                    teacher logged in (<a href="/logout">log out</a>)
                  </>
                )
                : (
                  <>
                    locked: <a href="/login">teacher login</a> to change ranges
                  </>
                )}
            </span>
          )}
        </p>
        <Island
          name="LiveBoard"
          component={LiveBoard}
          props={{
            tanks,
            root: snapshot.root,
            chartSeconds: CHART_SECONDS,
            access,
          }}
        />
      </>,
    ));
  });
};
