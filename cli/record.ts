/**
 * `deno task record`: records every message of a tank (or of every tank) on any MQTT broker into a new run in the
 * data store, until Ctrl-C, SIGTERM or `--duration`. The recording can then be replayed to the grader or inspected
 * like any run. MQTT does not say who published, so every message is stored with client `$unknown`; its simulated
 * time is the latest `t` seen on a `…/clock` or `…/sensors/all` topic (a retained one only when it moves time forward:
 * brokers replay retained messages after live ones have started to flow).
 *
 * @module
 */

import mqtt from "mqtt";
import { parseArgs } from "node:util";
import { parseDuration } from "../scenarios/mod.ts";
import { describeConnectionError, normalizeBroker } from "../harness/display/display.ts";
import { emptyRunStats, type RunMeta } from "../store/run_record.ts";
import { DEFAULT_STORE_PATH, newRunId, RunStore } from "../store/run_store.ts";
import { studentName } from "../store/student_name.ts";
import { DEFAULT_ROOT, DEFAULT_TANK, validateTopicPart } from "../protocol/topics.ts";

/** Usage text for `--help`. */
export const HELP =
  `Record every message of a fish tank on an MQTT broker into the data store, as a run.

Usage: deno task record --broker mqtt://host:port [options]

Options:
  --broker URL        the broker to record (required; "host:port" works too)
  --topic-root ROOT   first topic level(s) (default ${DEFAULT_ROOT})
  --tank ID           record {root}/{ID}/# (default ${DEFAULT_TANK})
  --all               record {root}/# instead: every tank under the root
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

/** The resolved command line of `deno task record`. */
export interface RecordOptions {
  broker: string;
  root: string;
  /** The tank to record, or null for every tank (`--all`). */
  tank: string | null;
  db: string;
  /** `--name`, when given. */
  name?: string;
  /** Wall seconds to record; undefined for "until stopped". */
  duration?: number;
  /** User and password on the broker (`viewer` on a locked simulation; a mosquitto user such as `recorder`). */
  username?: string;
  password?: string;
}

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

/** What a recording did. */
export interface RecordingResult {
  runId: string;
  /** Records stored (the broker's messages plus the recorder's own connect/disconnect notes). */
  records: number;
  /** The broker's messages among them. */
  messages: number;
}

/** Hooks for {@linkcode recordBroker}: where progress goes, and how the recording is stopped. */
export interface RecordHooks {
  /** Stops the recording (outcome `completed`). */
  signal?: AbortSignal;
  /** Called with the run id once the run exists. */
  onStart?: (runId: string, filter: string) => void;
  /** Called about twice a second while recording. */
  onProgress?: (progress: RecordProgress) => void;
}

/** Progress of a recording, for the progress line. */
export interface RecordProgress {
  runId: string;
  messages: number;
  /** The latest simulated time seen. */
  t: number;
  /** Records waiting for the store. */
  queued: number;
  connected: boolean;
}

/** Thrown when the broker cannot be reached; the message is the sentence to show. */
export class BrokerConnectError extends Error {
  override name = "BrokerConnectError";
}

const CONNECT_TIMEOUT_MS = 10_000;
const RECONNECT_MS = 2_000;
const PROGRESS_MS = 500;
const SIM_TIME_TOPIC = /\/(clock|sensors\/all)$/;
const STATUS_TOPIC = /\/status$/;
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Connects once, trying MQTT 5 (whose "retain as published" keeps live retain flags) then 3.1.1. */
async function connect(
  broker: string,
  username: string | undefined,
  password: string | undefined,
): Promise<mqtt.MqttClient> {
  const attempt = (protocolVersion: 4 | 5) =>
    new Promise<mqtt.MqttClient>((resolve, reject) => {
      const client = mqtt.connect(broker, {
        clientId: `fishtank-record-${crypto.randomUUID().slice(0, 8)}`,
        ...(username !== undefined
          ? { username, password: password ?? "" }
          : {}),
        protocolVersion,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_TIMEOUT_MS,
      });
      const timer = setTimeout(
        () =>
          fail(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })),
        CONNECT_TIMEOUT_MS + 500,
      );
      const done = () => {
        clearTimeout(timer);
        client.off("connect", onConnect);
        client.off("error", fail);
        client.off("close", onClose);
      };
      const onConnect = () => {
        done();
        resolve(client);
      };
      const onClose = () => fail(new Error("the broker closed the connection"));
      function fail(error: Error) {
        done();
        client.end(true);
        reject(error);
      }
      client.on("connect", onConnect);
      client.on("error", fail);
      client.on("close", onClose);
    });
  try {
    return await attempt(5);
  } catch (error) {
    // CONNACK "unsupported protocol version": 132 in MQTT 5, 1 from a 3.1.1-only broker.
    const code = (error as { code?: unknown }).code;
    if (code === 132 || code === 1) return await attempt(4);
    throw error;
  }
}

function recordingMeta(
  runId: string,
  options: RecordOptions,
  student: string,
): RunMeta {
  return {
    runId,
    scenario: {
      id: "recording",
      version: 0,
      title: `Recording of ${options.broker}`,
      hash: "",
      source: "",
    },
    seed: 0,
    simulatorVersion: "",
    controller: { command: null, exitCode: null, signal: null },
    student,
    tank: options.tank ?? "*",
    root: options.root,
    mode: "record",
    ackMode: "none",
    startedAt: new Date().toISOString(),
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
  };
}

/** The scenario named by a tank's `status` JSON, or undefined when it names none. */
function scenarioOfStatus(
  payload: Uint8Array,
): RunMeta["scenario"] | undefined {
  try {
    const status = JSON.parse(decoder.decode(payload));
    if (typeof status?.scenario !== "string" || status.scenario === "") {
      return undefined;
    }
    return {
      id: status.scenario,
      version: typeof status.version === "number" ? status.version : 0,
      title: typeof status.title === "string" ? status.title : status.scenario,
      hash: "",
      source: "",
    };
  } catch {
    return undefined;
  }
}

function simTime(payload: Uint8Array): number | undefined {
  try {
    const t = JSON.parse(decoder.decode(payload))?.t;
    return typeof t === "number" && Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records the broker's traffic into a new run of `store` until `hooks.signal` aborts or `options.duration` passes.
 *
 * @throws {BrokerConnectError} when the broker cannot be reached (no run is created then)
 */
export async function recordBroker(
  store: RunStore,
  options: RecordOptions,
  hooks: RecordHooks = {},
): Promise<RecordingResult> {
  const filter = options.tank === null
    ? `${options.root}/#`
    : `${options.root}/${options.tank}/#`;
  let client: mqtt.MqttClient;
  try {
    client = await connect(options.broker, options.username, options.password);
  } catch (error) {
    throw new BrokerConnectError(
      describeConnectionError(options.broker, error),
      { cause: error },
    );
  }
  const runId = newRunId();
  const recorder = store.recorder(runId);
  let t = 0;
  let firstT: number | undefined;
  let messages = 0;
  let connected = true;
  let scenario: RunMeta["scenario"] | undefined;
  let failure: unknown;
  let flushing: Promise<void> | undefined;
  let updating = Promise.resolve();
  const stop = new AbortController();
  const fail = (error: unknown) => {
    failure ??= error;
    stop.abort();
  };
  const note = (text: string) =>
    recorder.append({
      t,
      wall: Date.now(),
      kind: "note",
      client: "$harness",
      topic: filter,
      payload: EMPTY,
      qos: 0,
      retain: false,
      note: text,
    });

  try {
    await store.createRun(
      recordingMeta(runId, options, await studentName(options.name)),
    );
  } catch (error) {
    await client.endAsync(true);
    await recorder.close();
    throw error;
  }
  hooks.onStart?.(runId, filter);
  note(
    `recorder connected to ${options.broker} (MQTT ${
      client.options.protocolVersion === 5 ? "5" : "3.1.1"
    }) as ${client.options.clientId}`,
  );

  client.on("message", (topic, payload, packet) => {
    if (stop.signal.aborted) return;
    try {
      if (SIM_TIME_TOPIC.test(topic)) {
        const next = simTime(payload);
        // A retained message may be a replay older than what live traffic already said; a live one may go back
        // (a simulator restarted).
        if (next !== undefined && (!packet.retain || next > t)) {
          t = next;
          firstT ??= next;
        }
      } else if (scenario === undefined && STATUS_TOPIC.test(topic)) {
        scenario = scenarioOfStatus(payload);
        if (scenario !== undefined) {
          const patch = { scenario };
          updating = updating.then(() => store.finishRun(runId, patch))
            .then(() => {}, fail);
        }
      }
      recorder.append({
        t,
        wall: Date.now(),
        kind: "publish",
        client: "$unknown",
        topic,
        payload,
        qos: packet.qos,
        retain: packet.retain,
      });
      messages++;
      if (recorder.overloaded && flushing === undefined) {
        flushing = recorder.flush().then(
          () => flushing = undefined,
          fail,
        );
      }
    } catch (error) {
      fail(error);
    }
  });
  client.on("close", () => {
    if (!connected || stop.signal.aborted) return;
    connected = false;
    note(`recorder disconnected from ${options.broker}; reconnecting`);
  });
  client.on("connect", () => {
    if (connected) return;
    connected = true;
    note(`recorder reconnected to ${options.broker}`);
    // A clean session forgets the subscription.
    client.subscribe(filter, { qos: 2, rap: true }, (error) => {
      if (error) fail(error);
    });
  });
  client.on("error", () => {
    // Reported by "close"; mqtt.js retries while the recording goes on.
  });

  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    const granted = await client.subscribeAsync(filter, { qos: 2, rap: true });
    if (granted.some((grant) => grant.qos >= 128)) {
      throw new Error(`the broker refused the subscription to ${filter}`);
    }
    client.options.reconnectPeriod = RECONNECT_MS;
    const onAbort = () => stop.abort();
    hooks.signal?.addEventListener("abort", onAbort, { once: true });
    if (hooks.signal?.aborted) stop.abort();
    if (options.duration !== undefined) {
      timers.push(setTimeout(() => stop.abort(), options.duration * 1000));
    }
    const progress = () =>
      hooks.onProgress?.({
        runId,
        messages,
        t,
        queued: recorder.pending,
        connected,
      });
    timers.push(setInterval(progress, PROGRESS_MS));
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    hooks.signal?.removeEventListener("abort", onAbort);
    progress();
  } catch (error) {
    failure ??= error;
  } finally {
    timers.forEach((timer) => clearTimeout(timer));
    stop.abort();
  }

  if (connected) note(`recorder disconnecting from ${options.broker}`);
  connected = false;
  await client.endAsync();
  await updating;
  try {
    await recorder.close();
  } catch (error) {
    failure ??= error;
  }
  const failed = failure !== undefined;
  await store.finishRun(runId, {
    outcome: failed ? "error" : "completed",
    ...(failed
      ? {
        outcomeMessage: `The recording stopped: ${
          failure instanceof Error ? failure.message : String(failure)
        }`,
      }
      : {}),
    ...(scenario !== undefined ? { scenario } : {}),
    endedAt: new Date().toISOString(),
    simulated: firstT === undefined ? 0 : Math.max(0, t - firstT),
    stats: { ...recordingMeta(runId, options, "").stats, messages },
  });
  if (failed) throw failure;
  return { runId, records: recorder.count, messages };
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
