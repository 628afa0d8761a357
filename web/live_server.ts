/**
 * The live web app served beside a running simulation (`deno task sim --web`): the live routes on an in-memory run
 * store, with the islands bundled at start. A stop-gap until `web/main.ts`'s `startWeb()` serves every page.
 *
 * @module
 */

import { RunStore } from "../harness/run_store.ts";
import { createApp } from "./app.ts";
import { buildIslands } from "./islands/_build.ts";
import { closeLiveRelay, liveRelayFor } from "./live_context.ts";
import { liveRoutes } from "./routes/live.tsx";

/** Options of {@linkcode startLiveServer}. */
export interface LiveServerOptions {
  broker: { url: string; root: string };
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  hostname?: string;
}

/** A running live web server. */
export interface LiveServer {
  /** Where to open it, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds the islands, starts the relay and serves the live page; resolves once listening. */
export async function startLiveServer(
  options: LiveServerOptions,
): Promise<LiveServer> {
  const islands = await buildIslands();
  const store = await RunStore.open(":memory:");
  const context = { store, islands, broker: options.broker };
  try {
    const app = await createApp(context, [liveRoutes]);
    await liveRelayFor(context)?.waitConnected(5000);
    const hostname = options.hostname ?? "127.0.0.1";
    const server = Deno.serve({
      port: options.port ?? 8000,
      hostname,
      onListen: () => {},
    }, app.fetch);
    const port = server.addr.port;
    const shown = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
    return {
      url: `http://${shown}:${port}/`,
      port,
      async close() {
        // The relay first: it ends the event streams, which lets the server shut down.
        await closeLiveRelay(context);
        await server.shutdown();
        await store.close();
      },
    };
  } catch (error) {
    await closeLiveRelay(context);
    await store.close();
    throw error;
  }
}
