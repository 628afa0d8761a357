/**
 * Recording any broker's traffic into the data store as a run (`deno task record`, and `deno task sim --web`'s
 * session recording): every message of one tank (or all tanks) with its simulated time.
 *
 * A recording has one time axis: the simulator's. Its time is the latest `t` of a simulated tank's `…/clock` or
 * `…/sensors/all`; a rig (an outside tank: `rigs`, or a tank whose status says `"rig": true`) may publish a `t` of its
 * own, which is recorded with its message but never moves the recording's clock.
 *
 * @module
 */

import mqtt from "mqtt";
import { describeConnectionError } from "../display/mod.ts";
import {
  emptyRunStats,
  newRunId,
  type RunMeta,
  type RunStore,
  studentName,
} from "../../store/mod.ts";

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
  /**
   * Rigs on the broker (`deno task sim --rig`): outside tanks whose own `t` is not the simulation's time. A tank whose
   * status says `"rig": true` is taken for one too, from then on.
   */
  rigs?: readonly string[];
  /** User and password on the broker (`viewer` on a locked simulation; a mosquitto user such as `recorder`). */
  username?: string;
  password?: string;
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

/** Whether a status payload says its tank is a rig (`{"rig": true, …}`, as examples/rig/demo_rig.py says). */
function saysRig(payload: Uint8Array): boolean {
  try {
    return JSON.parse(decoder.decode(payload))?.rig === true;
  } catch {
    return false;
  }
}

/** The tank id of a topic under `root`, or undefined for a topic outside it. */
function tankOf(root: string, topic: string): string | undefined {
  if (!topic.startsWith(`${root}/`)) return undefined;
  return topic.slice(root.length + 1).split("/", 1)[0];
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
  const rigs = new Set(options.rigs ?? []);
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
  if (rigs.size > 0) {
    note(
      `rigs ${
        [...rigs].join(", ")
      }: outside tanks, their own t is not the recording's clock`,
    );
  }
  note(
    `recorder connected to ${options.broker} (MQTT ${
      client.options.protocolVersion === 5 ? "5" : "3.1.1"
    }) as ${client.options.clientId}`,
  );

  client.on("message", (topic, payload, packet) => {
    if (stop.signal.aborted) return;
    try {
      const tank = tankOf(options.root, topic);
      if (
        tank !== undefined && !rigs.has(tank) && STATUS_TOPIC.test(topic) &&
        saysRig(payload)
      ) {
        rigs.add(tank);
        note(
          `${tank} says it is a rig: its own t is not the recording's clock`,
        );
      }
      if (SIM_TIME_TOPIC.test(topic) && !rigs.has(tank ?? "")) {
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
