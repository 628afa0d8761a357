/**
 * `deno task record`: records every message of a tank (or of every tank) on any MQTT broker into a new run in the
 * data store, until Ctrl-C, SIGTERM or `--duration`. The recording can then be replayed to the grader or inspected
 * like any run. MQTT does not say who published, so every message is stored with client `$unknown`; its simulated
 * time is the latest `t` seen on a `…/clock` or `…/sensors/all` topic (a retained one only when it moves time forward:
 * brokers replay retained messages after live ones have started to flow). A rig's own `t` (`--rig ID`, or a tank whose
 * status says `"rig": true`) is never taken for the simulation's time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseDuration } from "../scenarios/mod.ts";
import { normalizeBroker } from "../harness/display/mod.ts";
import { DEFAULT_STORE_PATH, RunStore } from "../store/mod.ts";
import { recordBroker, type RecordOptions } from "../harness/record/mod.ts";
import {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  validateTopicPart,
} from "../protocol/mod.ts";

/** Usage text for `--help`. */
export const HELP =
  `Record every message of a fish tank on an MQTT broker into the data store, as a run.

Usage: deno task record --broker mqtt://host:port [options]

Options:
  --broker URL        the broker to record (required; "host:port" works too)
  --topic-root ROOT   first topic level(s) (default ${DEFAULT_ROOT})
  --tank ID           record {root}/{ID}/# (default ${DEFAULT_TANK})
  --all               record {root}/# instead: every tank under the root
  --rig ID            a rig on the broker (deno task sim --rig ID; repeatable): its own t never sets the
                      recording's simulated time (a rig whose status says "rig": true is known without it)
  --db PATH           the data store (default ${DEFAULT_STORE_PATH})
  --name NAME         who is recording (default: git's user.name, else the login name)
  --duration D        stop after this long (wall time, e.g. 90s, 10m, 1h); default: until Ctrl-C
  --user U            user on the broker (viewer on deno task sim --lock; e.g. recorder on mosquitto)
  --password P        its password (or the FISHTANK_BROKER_PASSWORD environment variable)
  -h, --help          show this help

The run ends "completed" when stopped by Ctrl-C, SIGTERM or --duration; a recorder that was killed leaves its run
"interrupted" (marked at the next start). Exit codes: 0 recorded, 2 bad options or no broker / data store.

Examples:
  deno task record --broker mqtt://127.0.0.1:1883
  deno task record --broker 192.168.1.20:1883 --all --duration 10m --name "Class 5B"
`;

/**
 * Parses the command line; `"help"` when help was asked for.
 *
 * @throws {TypeError} {RangeError} {SyntaxError} naming the bad option
 */
export function parseRecordArgs(args: string[]): RecordOptions | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      broker: { type: "string" },
      "topic-root": { type: "string" },
      tank: { type: "string" },
      all: { type: "boolean", default: false },
      rig: { type: "string", multiple: true },
      db: { type: "string", default: DEFAULT_STORE_PATH },
      name: { type: "string" },
      duration: { type: "string" },
      user: { type: "string" },
      password: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (values.broker === undefined) {
    throw new TypeError(
      "--broker: which broker to record? e.g. --broker mqtt://127.0.0.1:1883",
    );
  }
  if (values.all && values.tank !== undefined) {
    throw new TypeError(
      "--tank and --all exclude each other: record one tank or every tank",
    );
  }
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = parseDuration(values.duration, "--duration");
    if (!(duration > 0)) {
      throw new RangeError(
        `--duration: must be longer than zero, got "${values.duration}"`,
      );
    }
  }
  return {
    broker: normalizeBroker(values.broker),
    root: validateTopicPart(values["topic-root"] ?? DEFAULT_ROOT, "root"),
    tank: values.all
      ? null
      : validateTopicPart(values.tank ?? DEFAULT_TANK, "tank"),
    db: values.db,
    ...(values.rig !== undefined && values.rig.length > 0
      ? { rigs: values.rig.map((rig) => validateTopicPart(rig, "tank")) }
      : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(duration !== undefined ? { duration } : {}),
    ...(values.user !== undefined
      ? {
        username: values.user,
        password: values.password ??
          Deno.env.get("FISHTANK_BROKER_PASSWORD") ?? "",
      }
      : {}),
  };
}

const CLEAR_LINE = "\r\x1b[K";

/** Entry point: parses `args`, records, prints the run id and how many messages it stored. Returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: RecordOptions | "help";
  try {
    options = parseRecordArgs(args);
  } catch (error) {
    console.error(
      `record: ${
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
  const interactive = Deno.stdout.isTerminal();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  signals.forEach((signal) => Deno.addSignalListener(signal, onSignal));
  const encoder = new TextEncoder();
  try {
    const marked = await store.markInterrupted();
    if (marked.length > 0) {
      console.error(
        `(marked ${marked.length} run(s) left by a harness that stopped as interrupted)`,
      );
    }
    const result = await recordBroker(store, options, {
      signal: stop.signal,
      onStart: (runId, filter) =>
        console.log(
          `Recording ${filter} from ${options.broker} into run ${runId} (${options.db}).` +
            (options.duration === undefined
              ? " Press Ctrl+C to stop."
              : ` Stopping after ${options.duration} s.`),
        ),
      onProgress: interactive
        ? (p) =>
          Deno.stdout.writeSync(encoder.encode(
            `${CLEAR_LINE}${p.connected ? "●" : "○ reconnecting"} ${
              p.messages.toLocaleString("en-US")
            } messages, t = ${
              Math.round(p.t)
            } s, ${p.queued} waiting for the store`,
          ))
        : undefined,
    });
    if (interactive) Deno.stdout.writeSync(encoder.encode(CLEAR_LINE));
    console.log(
      `Stored ${result.messages.toLocaleString("en-US")} message${
        result.messages === 1 ? "" : "s"
      } in run ${result.runId}.`,
    );
    return 0;
  } catch (error) {
    if (interactive) Deno.stdout.writeSync(encoder.encode("\n"));
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  } finally {
    signals.forEach((signal) => Deno.removeSignalListener(signal, onSignal));
    await store.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
