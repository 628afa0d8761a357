/**
 * Replaying a stored run: its recorded MQTT traffic (every `publish` record, both directions, with its retain flag
 * and QoS) published again on a broker under a topic prefix (`replay/fishtank/tank1/…`), paced by the recorded
 * simulated time at a chosen speed.
 *
 * @module
 */

import mqtt from "mqtt";
import { describeConnectionError } from "../display/mod.ts";
import type { RunMeta, RunStore } from "../../store/mod.ts";
import { pacedDelayMs, replayTopic } from "./_replay_pace.ts";

/** The prefix used when `--prefix` is not given. */
export const DEFAULT_PREFIX = "replay";
/** Simulated seconds per wall second when `--speed` is not given. */
export const DEFAULT_SPEED = 60;
/** A run cannot be replayed (unknown, or nothing to play). Callers turn it into exit code 2. */
export class ReplayError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReplayError";
  }
}

/** How far a replay has come, reported a few times a second and at the end. */
export interface ReplayProgress {
  /** Messages published so far. */
  published: number;
  /** Simulated seconds reached. */
  t: number;
  /** Simulated seconds the run covers. */
  end: number;
}

/** What {@linkcode replayRun} needs besides the store. */
export interface ReplayRunOptions {
  runId: string;
  /** The broker to publish on. */
  broker: string;
  prefix?: string;
  speed?: number;
  /** Stops the replay between two messages. */
  signal?: AbortSignal;
  /** Called with the run before the first message is sent. */
  onStart?: (meta: RunMeta) => void;
  onProgress?: (progress: ReplayProgress) => void;
  /** Wall milliseconds between progress reports. */
  progressMs?: number;
}

const replayDefaults = {
  prefix: DEFAULT_PREFIX,
  speed: DEFAULT_SPEED,
  progressMs: 250,
};

/**
 * Publishes the run's recorded `publish` records on `options.broker` under the prefix, in their recorded order,
 * each when its simulated time comes at `speed`. Resolves with the last progress (also when stopped by the signal).
 *
 * @throws {ReplayError} for an unknown run
 * @throws {Error} when the broker cannot be reached or refuses a publish (the message names the broker)
 */
export async function replayRun(
  store: RunStore,
  options: ReplayRunOptions,
): Promise<ReplayProgress & { stopped: boolean }> {
  const { prefix, speed, progressMs } = { ...replayDefaults, ...options };
  const meta = await store.getRun(options.runId);
  if (meta === null) {
    throw new ReplayError(
      `No run "${options.runId}" in the data store ${store.path}: check the id (deno task web lists the runs)`,
    );
  }
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(options.broker, {
      clientId: `fishtank-replay-${crypto.randomUUID().slice(0, 8)}`,
      protocolVersion: 4,
      connectTimeout: 5_000,
      reconnectPeriod: 0,
    }, false);
  } catch (error) {
    throw new Error(describeConnectionError(options.broker, error), {
      cause: error,
    });
  }
  client.on("error", () => {});
  const progress: ReplayProgress = {
    published: 0,
    t: 0,
    end: meta.simulated,
  };
  const report = () => options.onProgress?.({ ...progress });
  const timer = setInterval(report, progressMs);
  const signal = options.signal;
  let stopped = false;
  try {
    options.onStart?.(meta);
    const started = performance.now();
    let first: number | undefined;
    for await (
      const record of store.messages(meta.runId, { kinds: ["publish"] })
    ) {
      if (signal?.aborted) break;
      first ??= record.t;
      const wait = pacedDelayMs(
        record.t - first,
        speed,
        performance.now() - started,
      );
      if (wait > 0 && !await sleep(wait, signal)) break;
      await client.publishAsync(
        replayTopic(prefix, record.topic),
        Buffer.from(record.payload),
        { qos: record.qos, retain: record.retain },
      );
      progress.published++;
      progress.t = record.t;
    }
    stopped = signal?.aborted ?? false;
  } finally {
    clearInterval(timer);
    await client.endAsync();
  }
  report();
  return { ...progress, stopped };
}

/** Waits `ms`; resolves false at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
