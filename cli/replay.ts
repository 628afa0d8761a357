/**
 * `deno task replay <run-id>`: plays a stored run's recorded MQTT traffic (every `publish` record, both directions,
 * with its retain flag and QoS) back onto a broker under a topic prefix (`replay/fishtank/tank1/…`), paced by the
 * recorded simulated time at a chosen speed, so any MQTT display can watch the run again. Without `--broker` it starts
 * the embedded broker and keeps it up after the end, so the last (retained) state stays visible until Ctrl-C.
 *
 * @module
 */

import { formatClock } from "../lib/mod.ts";
import { parseArgs } from "node:util";
import { EmbeddedBroker } from "../harness/broker/mod.ts";
import { normalizeBroker } from "../harness/display/mod.ts";
import { DEFAULT_STORE_PATH, RunStore } from "../store/mod.ts";
import { validateTopicPart } from "../protocol/mod.ts";
import {
  DEFAULT_PREFIX,
  DEFAULT_SPEED,
  formatSpeed,
  parseSpeed,
  ReplayError,
  type ReplayProgress,
  replayRun,
} from "../harness/replay/mod.ts";

/** The embedded broker's port when `--port` is not given. */
export const DEFAULT_PORT = 1883;

/** Usage text for `--help`. */
export const HELP =
  `Replay a stored run's MQTT traffic on a broker, so any display can watch it again.

Usage: deno task replay RUN-ID [options]

Options:
  --speed N|max       simulated seconds per wall second (default ${DEFAULT_SPEED}); max = as fast as possible
  --broker URL        publish on this broker ("host:port" works too); default: start the embedded broker
  --port N            the embedded broker's port (default ${DEFAULT_PORT}; 0 = any free port)
  --prefix P          topic prefix: {P}/{original topic} (default ${DEFAULT_PREFIX})
  --db PATH           the data store (default ${DEFAULT_STORE_PATH})
  -h, --help          show this help

Every recorded publish (tank readings and the controller's commands) is sent again with its retain flag and QoS.
With the embedded broker the replay keeps serving after the end (Ctrl-C to quit), so displays keep the last state.
Exit codes: 0 replayed, 1 the broker failed, 2 bad options, unknown run or no data store, 130 stopped by Ctrl-C.

Examples:
  deno task replay 20260310-050000-ab12cd
  deno task replay 20260310-050000-ab12cd --speed 600 --broker mqtt://127.0.0.1:1883
  deno task display --topic-root replay/fishtank --tank tank1   # in another terminal
`;

/** The resolved command line of `deno task replay`. */
export interface ReplayOptions {
  runId: string;
  /** Simulated seconds per wall second; `Infinity` for as fast as possible. */
  speed: number;
  /** The broker to publish on, or null to start the embedded one. */
  broker: string | null;
  /** The embedded broker's port. */
  port: number;
  prefix: string;
  db: string;
}

/**
 * Parses the command line; `"help"` when help was asked for.
 *
 * @throws {TypeError} {RangeError} naming the bad option
 */
export function parseReplayArgs(args: string[]): ReplayOptions | "help" {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      speed: { type: "string" },
      broker: { type: "string" },
      port: { type: "string" },
      prefix: { type: "string", default: DEFAULT_PREFIX },
      db: { type: "string", default: DEFAULT_STORE_PATH },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new TypeError(
      positionals.length === 0
        ? "which run? Give its id, e.g. deno task replay 20260310-050000-ab12cd (deno task web lists them)"
        : `expected one run id, got ${positionals.length}: ${
          positionals.join(" ")
        }`,
    );
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `--port: expected a port number 0–65535, got "${values.port}"`,
    );
  }
  if (values.port !== undefined && values.broker !== undefined) {
    throw new TypeError(
      "--port and --broker exclude each other: --port is for the embedded broker",
    );
  }
  const prefix = values.prefix.replace(/\/+$/, "");
  try {
    validateTopicPart(prefix, "root");
  } catch {
    throw new RangeError(
      `--prefix: expected topic level(s) without +, # or NUL, like "${DEFAULT_PREFIX}", got "${values.prefix}"`,
    );
  }
  return {
    runId: positionals[0]!,
    speed: values.speed === undefined
      ? DEFAULT_SPEED
      : parseSpeed(values.speed),
    broker: values.broker === undefined ? null : normalizeBroker(values.broker),
    port,
    prefix,
    db: values.db,
  };
}

const CLEAR_LINE = "\r\x1b[K";

function progressLine(p: ReplayProgress, speed: number): string {
  const share = p.end > 0 ? Math.min(100, Math.round((p.t / p.end) * 100)) : 0;
  return `▶ t = ${formatClock(p.t)} of ${formatClock(p.end)} (${share} %), ${
    p.published.toLocaleString("en-US")
  } messages, ${formatSpeed(speed)}`;
}

/** Entry point: parses `args`, replays, prints where to watch and how far it got. Returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: ReplayOptions | "help";
  try {
    options = parseReplayArgs(args);
  } catch (error) {
    console.error(
      `replay: ${
        error instanceof Error ? error.message : error
      }\nRun with --help for the options.`,
    );
    return 2;
  }
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  let store: RunStore;
  try {
    store = await RunStore.open(options.db);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  signals.forEach((signal) => Deno.addSignalListener(signal, onSignal));
  const interactive = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let broker: EmbeddedBroker | undefined;
  let lastShare = -1;
  try {
    if ((await store.getRun(options.runId)) === null) {
      throw new ReplayError(
        `No run "${options.runId}" in the data store ${options.db}: check the id (deno task web lists the runs)`,
      );
    }
    if (options.broker === null) {
      broker = await EmbeddedBroker.start({
        port: options.port,
        wsPort: null,
      });
    }
    const url = options.broker ?? broker!.url;
    const speed = options.speed;
    const result = await replayRun(store, {
      runId: options.runId,
      broker: url,
      prefix: options.prefix,
      speed,
      signal: stop.signal,
      onStart: (meta) =>
        console.log(
          `Replaying run ${meta.runId} (${meta.scenario.id}, ${meta.student}) on ${url} under ${options.prefix}/ at ${
            formatSpeed(speed)
          }.\nWatch it: deno task display --broker ${url} --topic-root ${options.prefix}/${meta.root} --tank ${meta.tank}\nPress Ctrl+C to stop.`,
        ),
      onProgress: (p) => {
        if (interactive) {
          Deno.stderr.writeSync(
            encoder.encode(CLEAR_LINE + progressLine(p, speed)),
          );
          return;
        }
        // Not a terminal (a log): one line per tenth of the run.
        const share = p.end > 0 ? Math.floor((p.t / p.end) * 10) : 10;
        if (share > lastShare) {
          lastShare = share;
          console.error(progressLine(p, speed));
        }
      },
    });
    if (interactive) Deno.stderr.writeSync(encoder.encode(CLEAR_LINE));
    const summary = `${result.published.toLocaleString("en-US")} message${
      result.published === 1 ? "" : "s"
    }, up to t = ${formatClock(result.t)}`;
    if (result.stopped) {
      console.log(`Stopped: replayed ${summary}.`);
      return 130;
    }
    console.log(`Replayed ${summary}.`);
    if (broker !== undefined && !stop.signal.aborted) {
      console.log(
        `The broker on ${broker.url} keeps the last state for displays. Press Ctrl+C to quit.`,
      );
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
    return 0;
  } catch (error) {
    if (interactive) Deno.stderr.writeSync(encoder.encode(CLEAR_LINE));
    console.error(
      `replay: ${error instanceof Error ? error.message : String(error)}`,
    );
    return error instanceof ReplayError || error instanceof TypeError ||
        error instanceof RangeError
      ? 2
      : 1;
  } finally {
    signals.forEach((signal) => Deno.removeSignalListener(signal, onSignal));
    await broker?.close();
    await store.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
