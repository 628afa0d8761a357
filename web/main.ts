/**
 * `deno task web`: the web front end on the data store: runs, run reports with graphs, the leaderboard (and the live
 * pages when a broker is given). {@linkcode startWeb} starts the same server in-process for tests and
 * `deno task sim --web`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Hono } from "hono";
import { DEFAULT_STORE_PATH, RunStore } from "../store/mod.ts";
import { createApp, type RouteModule, type WebContext } from "./app.ts";
import { buildIslands, type IslandBundles } from "./islands/_build.ts";
import { apiRunsRoutes } from "./routes/api_runs.ts";
import { leaderboardRoutes } from "./routes/leaderboard.tsx";
import { runReportRoutes } from "./routes/run_report.tsx";
import { runsRoutes } from "./routes/runs.tsx";
import { replayRoutes } from "./routes/replay.tsx";
import { liveRoutes } from "./routes/live.tsx";
import { classStudentRoutes } from "./routes/class_student.tsx";
import { classTeacherRoutes } from "./routes/class_teacher.tsx";
import { CLASS_PAGES_PREFIX } from "./routes/class_common.tsx";
import { closeLiveRelay } from "./live_context.ts";
import { isLoopback } from "./auth.tsx";

/** Every route module of the app, in registration order. */
export const ROUTES: readonly RouteModule[] = [
  liveRoutes,
  apiRunsRoutes,
  runsRoutes,
  runReportRoutes,
  replayRoutes,
  leaderboardRoutes,
];

/** The class server's pages (`deno task serve`): students' under `/class`, the teacher's under `/class/teacher`. */
export const CLASS_ROUTES: readonly RouteModule[] = [
  classStudentRoutes,
  classTeacherRoutes,
];

export { CLASS_PAGES_PREFIX };

/** Options of {@linkcode startWeb}. */
export interface WebOptions {
  /** An open store to serve (left open on close); else `db` is opened (and closed on close). */
  store?: RunStore;
  /** Store path when no `store` is given. Default `./data/fishtank.kv`. */
  db?: string;
  /** Port, 0 for any free one. Default 8000. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Serve HTTPS with this certificate chain and private key (PEM text); every cookie is then marked Secure. */
  tls?: { cert: string; key: string };
  /** The broker the live pages show, and the user to connect as (range edits need one on a locked broker). */
  broker?: { url: string; root: string; username?: string; password?: string };
  /** Changing ranges needs the teacher's login with this password (`deno task sim --web --lock`); absent: open. */
  lock?: { password: string };
  /** Prebuilt islands (tests build them once); else built now. */
  islands?: IslandBundles;
  /** Path prefixes whose routes guard themselves (see `WebContext.selfGuarded`). */
  selfGuarded?: readonly string[];
  /** Route modules; default {@linkcode ROUTES}. */
  routes?: readonly RouteModule[];
}

const defaults = {
  db: DEFAULT_STORE_PATH,
  port: 8000,
  host: "127.0.0.1",
};

/** A running server. */
export interface WebServer {
  /** `http://127.0.0.1:8000`. */
  url: string;
  app: Hono;
  close(): Promise<void>;
}

/** `deno task web` with the store and port `options` choose when they are not the defaults. */
function webCommand(options: WebOptions): string {
  const words = ["deno task web"];
  if (options.store === undefined && options.db !== undefined) {
    if (options.db !== defaults.db) words.push(`--db ${options.db}`);
  }
  if (options.port !== undefined && options.port !== defaults.port) {
    if (options.port !== 0) words.push(`--port ${options.port}`);
  }
  if (options.host !== undefined && options.host !== defaults.host) {
    words.push(`--host ${options.host}`);
  }
  return words.join(" ");
}

/** The warning for a server that others on the network reach while anyone may edit ranges, if it is one. */
export function exposureWarning(
  host: string,
  options: Pick<WebOptions, "lock" | "broker">,
): string | undefined {
  if (isLoopback(host) || options.lock || !options.broker) return undefined;
  return `Warning: the web pages listen on ${host} without --lock: anyone on the network may edit the tanks' ranges. Start with --lock (deno task sim --web --lock) or, for deno task web, --broker-user teacher.`;
}

/** The text of the file `path` given to `flag`; a TypeError naming the flag and the file when it cannot be read. */
export async function readOptionFile(
  path: string,
  flag: string,
): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(
      `${flag}: cannot read "${path}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

/** Reads a secret from the file `path` (its first line), for options that must not be on a command line. */
export async function readSecretFile(
  path: string,
  flag: string,
): Promise<string> {
  const text = await readOptionFile(path, flag);
  const secret = text.split(/\r?\n/)[0]!;
  if (secret === "") {
    throw new TypeError(
      `${flag}: "${path}" is empty; put the password on its first line`,
    );
  }
  return secret;
}

/** `handler` with every cookie it sets marked Secure (sent back over HTTPS only). */
function secureCookies(
  handler: (
    request: Request,
    info: Deno.ServeHandlerInfo,
  ) => Response | Promise<Response>,
): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async (request, info) => {
    const response = await handler(request, info);
    const cookies = response.headers.getSetCookie();
    if (cookies.length === 0) return response;
    const secured = new Response(response.body, response);
    secured.headers.delete("set-cookie");
    for (const cookie of cookies) {
      secured.headers.append(
        "set-cookie",
        /;\s*secure\b/i.test(cookie) ? cookie : `${cookie}; Secure`,
      );
    }
    return secured;
  };
}

/** Opens the store, builds the islands and serves the app until `close()`. */
export async function startWeb(options: WebOptions = {}): Promise<WebServer> {
  const store = options.store ?? await RunStore.open(options.db ?? defaults.db);
  try {
    const context: WebContext = {
      store,
      islands: options.islands ?? await buildIslands(),
      ...(options.broker ? { broker: options.broker } : {}),
      ...(options.lock ? { lock: options.lock } : {}),
      ...(options.selfGuarded ? { selfGuarded: options.selfGuarded } : {}),
      listenHost: options.host ?? defaults.host,
      command: webCommand(options),
    };
    const app = await createApp(context, [...(options.routes ?? ROUTES)]);
    const host = options.host ?? defaults.host;
    const warning = exposureWarning(host, options);
    if (warning !== undefined) console.warn(warning);
    const server = Deno.serve({
      hostname: host,
      port: options.port ?? defaults.port,
      onListen: () => {},
      ...(options.tls ?? {}),
    }, options.tls ? secureCookies(app.fetch) : app.fetch);
    const shown = host === "0.0.0.0" ? "127.0.0.1" : host;
    const url = `${options.tls ? "https" : "http"}://${
      shown.includes(":") ? `[${shown}]` : shown
    }:${server.addr.port}`;
    return {
      url,
      app,
      async close() {
        await server.shutdown();
        await closeLiveRelay(context);
        if (options.store === undefined) await store.close();
      },
    };
  } catch (error) {
    if (options.store === undefined) await store.close();
    throw error;
  }
}

const HELP =
  `deno task web [options]: the web front end (runs, reports with graphs, leaderboard, live tank)

  --db PATH          data store (default ${DEFAULT_STORE_PATH})
  --port N           port (default 8000; 0 for any free port)
  --host ADDR        interface (default 127.0.0.1; 0.0.0.0 to serve the classroom)
  --broker URL       MQTT broker for the live pages, e.g. mqtt://127.0.0.1:1883
  --topic-root ROOT  topic root on that broker (default fishtank)
  --broker-user U    user on that broker (teacher, for range edits on deno task sim --lock); the
                     page then asks for that user's password before any range is changed
  --broker-password-file PATH
                     read its password from the first line of PATH; or set the
                     FISHTANK_BROKER_PASSWORD environment variable (never on the command line,
                     where every local process reads it in /proc)
  --help             this text`;

/** Runs `deno task web`; returns the exit code when it cannot start, else serves until killed. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        db: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        broker: { type: "string" },
        "topic-root": { type: "string" },
        "broker-user": { type: "string" },
        "broker-password": { type: "string" },
        "broker-password-file": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = values.port === undefined ? defaults.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(
      `--port: expected a port number 0–65535, got "${values.port}"`,
    );
    return 2;
  }
  if (values["broker-password"] !== undefined) {
    console.error(
      "--broker-password: a password on the command line is visible to every local process (/proc/*/cmdline); set FISHTANK_BROKER_PASSWORD or use --broker-password-file PATH instead",
    );
    return 2;
  }
  let password = Deno.env.get("FISHTANK_BROKER_PASSWORD") ?? "";
  if (values["broker-password-file"] !== undefined) {
    try {
      password = await readSecretFile(
        values["broker-password-file"],
        "--broker-password-file",
      );
    } catch (error) {
      console.error((error as Error).message);
      return 2;
    }
  }
  const user = values.broker ? values["broker-user"] : undefined;
  // With a broker user the page can change ranges: the teacher logs in with that user's password (or one made now).
  let login: string | undefined;
  if (user !== undefined) login = password || crypto.randomUUID().slice(0, 8);
  const started = performance.now();
  const server = await startWeb({
    db: values.db ?? defaults.db,
    port,
    host: values.host ?? defaults.host,
    ...(values.broker
      ? {
        broker: {
          url: values.broker,
          root: values["topic-root"] ?? "fishtank",
          ...(user !== undefined ? { username: user, password } : {}),
        },
      }
      : {}),
    ...(login !== undefined ? { lock: { password: login } } : {}),
  });
  console.log(
    `Fish tank web on ${server.url} (store ${
      values.db ?? defaults.db
    }, ready in ${
      Math.round(performance.now() - started)
    } ms). Ctrl-C to stop.`,
  );
  if (login !== undefined) {
    console.log(
      password
        ? `Range edits need the teacher's login at ${server.url}/login with the broker password.`
        : `Range edits need the teacher's login at ${server.url}/login: password ${login}`,
    );
  }
  Deno.addSignalListener("SIGINT", () => {
    server.close().finally(() => Deno.exit(0));
  });
  return await new Promise<number>(() => {});
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
