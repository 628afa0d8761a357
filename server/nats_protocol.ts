/**
 * What the class server and its NATS workers say to each other (issue 17): the JetStream streams and subjects, the
 * messages (a job carries everything a worker needs: the submission's files and the assignment's scenarios as their
 * YAML text; a result carries the runs' records and the grade), gzipped JSON on the wire, and the credentials a
 * process connects with (its own user and password: from the environment or a file, never the command line).
 *
 * | subject                   | from → to        | what                                                        |
 * | ------------------------- | ---------------- | ----------------------------------------------------------- |
 * | `fishtank.jobs`           | server → workers | {@linkcode NatsJob}, stream `FISHTANK_JOBS` (work queue)    |
 * | `fishtank.results.<job>`  | worker → server  | {@linkcode NatsResult}, stream `FISHTANK_RESULTS` (work queue) |
 * | `fishtank.start`          | worker → server  | request: may I grade this job? {@linkcode StartReply}       |
 * | `fishtank.workers.beat`   | worker → server  | {@linkcode WorkerBeat} every couple of seconds              |
 * | `fishtank.cancel`         | server → workers | `{job}`: stop grading it (cancelled, superseded, done)      |
 * | `fishtank.dead.<job>`     | server           | a job given up after its deliveries, stream `FISHTANK_DEAD` |
 *
 * @module
 */

import { isIP } from "node:net";
import { gunzipSync, gzipSync } from "fflate";
import {
  AckPolicy,
  connect,
  type ConnectionOptions,
  DiscardPolicy,
  nanos,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from "nats";
import type { RunDigest } from "../harness/grading/mod.ts";
import type { Assignment } from "./assignment.ts";
import type { Submission, SubmissionGrade } from "./class_store.ts";
import type { JobProgress } from "./job_queue.ts";

/** Stream, consumer and subject names. */
export const NATS_NAMES = {
  jobsStream: "FISHTANK_JOBS",
  jobsSubject: "fishtank.jobs",
  gradersConsumer: "graders",
  resultsStream: "FISHTANK_RESULTS",
  resultsSubject: "fishtank.results",
  resultsConsumer: "server",
  deadStream: "FISHTANK_DEAD",
  deadSubject: "fishtank.dead",
  start: "fishtank.start",
  beat: "fishtank.workers.beat",
  cancel: "fishtank.cancel",
  /** The object store a result too large for one message goes through (its stream is `OBJ_fishtank_results`). */
  resultsBucket: "fishtank_results",
  /** The header of a results message whose result is in {@linkcode NATS_NAMES.resultsBucket}: the object's name. */
  resultObjectHeader: "Fishtank-Result-Object",
} as const;

/** How long JetStream waits for a worker's ack (renewed by in-progress acks every beat), and how often it delivers. */
export const NATS_LIMITS = {
  /** Ack wait: a worker that stops acking (killed) has its job redelivered after this. */
  ackWaitMs: 30_000,
  /** Deliveries before a job goes to the dead-letter subject. */
  maxDeliver: 5,
  /** Back-off of a failed grading: `nak` delays, by delivery (the last one repeats). */
  backoffMs: [2_000, 10_000, 30_000, 60_000],
  /** How long a result in the object store waits to be fetched. */
  resultObjectTtlMs: 7 * 24 * 3_600_000,
  /** A worker's beat (and in-progress ack) interval. */
  beatMs: 2_000,
  /** The server's lease on a job it was told is running: renewed by beats, so a dead worker's lapses fast. */
  leaseMs: 15_000,
  /** Duplicates of a job message (same id and claim count) are dropped within this window. */
  duplicateWindowMs: 24 * 3600_000,
} as const;

/** One scenario of a job: the assignment's entry and the scenario file's text. */
export interface NatsJobScenario {
  /** As the assignment names it (a built-in id or a path): the scenario's `file` on the worker too. */
  file: string;
  text: string;
}

/** A grading job as a worker receives it. */
export interface NatsJob {
  id: string;
  attempt: number;
  submission: Submission;
  assignment: Assignment;
  /** The submission's files, base64. */
  files: { path: string; data: string }[];
  /** In the assignment's order. */
  scenarios: NatsJobScenario[];
  publishedAt: number;
}

/** A graded job as the server receives it. */
export interface NatsResult {
  job: string;
  submissionId: string;
  attempt: number;
  worker: string;
  host: string;
  /** The delivery of the job that graded it (1 the first time). */
  delivery: number;
  grade: SubmissionGrade;
  /** Each scenario's run as `deno task export` writes it (JSON Lines, header first), and its digest. */
  runs: { runId: string; lines: string[]; digest?: RunDigest | null }[];
}

/** A worker's heartbeat. */
export interface WorkerBeat {
  worker: string;
  host: string;
  slots: number;
  busy: number;
  jobs: { id: string; progress?: JobProgress }[];
  startedAt: string;
  graded: number;
}

/** The server's answer to "may I grade this job?". */
export interface StartReply {
  go: boolean;
  why: string;
  /** When not to go: nak and hear again after this many ms (the job is someone else's now), rather than ack. */
  retryMs?: number;
}

/** Gzipped JSON of `value`. */
export function encodeMessage(value: unknown): Uint8Array {
  return gzipSync(new TextEncoder().encode(JSON.stringify(value)));
}

/** The value of a message {@linkcode encodeMessage} wrote. */
export function decodeMessage<T>(data: Uint8Array): T {
  return JSON.parse(new TextDecoder().decode(gunzipSync(data))) as T;
}

/** A NATS user and password. */
export interface NatsCredentials {
  user: string;
  pass: string;
}

/**
 * The credentials from `file` (two lines: user, password; readable by its owner only is advised) or else from
 * `FISHTANK_NATS_USER` and `FISHTANK_NATS_PASSWORD`; undefined when neither is set.
 *
 * @throws {SyntaxError} when the file does not hold a user and a password
 */
export async function natsCredentials(
  file?: string,
): Promise<NatsCredentials | undefined> {
  if (file !== undefined) {
    const [user, pass] = (await Deno.readTextFile(file)).split(/\r?\n/)
      .map((l) => l.trim());
    if (!user || !pass) {
      throw new SyntaxError(
        `${file}: expected two lines, the NATS user and its password`,
      );
    }
    return { user, pass };
  }
  const user = Deno.env.get("FISHTANK_NATS_USER");
  const pass = Deno.env.get("FISHTANK_NATS_PASSWORD");
  return user && pass ? { user, pass } : undefined;
}

/**
 * Checks that `path`, given to `flag`, is a PEM file with a certificate (the authority nats-server's certificate is
 * signed by), and returns it.
 *
 * @throws {TypeError} naming the flag and the file when it cannot be read or holds no certificate
 */
export async function natsCaFile(path: string, flag: string): Promise<string> {
  let text;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(
      `${flag}: cannot read "${path}": ${(error as Error).message}`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TypeError(
      `${flag}: "${path}" is not a PEM certificate (expected a line "-----BEGIN CERTIFICATE-----"): give the certificate of the authority that signed nats-server's`,
    );
  }
  return path;
}

/** What to check when a connection to NATS failed with `error`: the TLS set-up for a certificate error, else the rest. */
export function natsConnectHint(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /certificate|self.signed|tls|ssl/i.test(message)
    ? "nats-server has a TLS certificate this machine does not trust: give the authority that signed it with --nats-ca FILE, and use tls://"
    : "is nats-server running with -js, and are the credentials right?";
}

/** How to reach a NATS server: `nats://host:4222`, or `tls://host:4222` for TLS. */
export const NATS_URL = /^(nats|tls):\/\/\S+$/;

/**
 * Connects to `url` and keeps reconnecting for ever (a restarted nats-server is waited for). A `tls://` URL, or a
 * `caFile` (the PEM certificate of the authority that signed nats-server's certificate, for a school's own CA), makes
 * the connection TLS; without `caFile` the system's authorities are trusted.
 */
export async function connectNats(
  url: string,
  options: {
    credentials?: NatsCredentials | undefined;
    caFile?: string | undefined;
    name: string;
  },
): Promise<NatsConnection> {
  const servers = url.replace(/^(nats|tls):\/\//, "");
  const tls = url.startsWith("tls://") || options.caFile !== undefined;
  const opts: ConnectionOptions = {
    servers,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(options.credentials
      ? { user: options.credentials.user, pass: options.credentials.pass }
      : {}),
    ...(tls ? { tls: tlsOptions(servers, options.caFile) } : {}),
  };
  return await connect(opts);
}

/**
 * The client's TLS options. nats.js leaves the server name empty for an IP address, and node's TLS then checks the
 * certificate against "localhost": for a server given by IP (`tls://10.0.0.5:4222`), its address is named as the host
 * to check, so that a certificate for that IP is accepted.
 */
function tlsOptions(
  servers: string,
  caFile: string | undefined,
): ConnectionOptions["tls"] {
  const host = servers.split(",")[0]!.replace(/:\d+$/, "").replace(
    /^\[(.*)\]$/,
    "$1",
  );
  return {
    ...(caFile ? { caFile } : {}),
    ...(isIP(host) ? { host } as Record<string, string> : {}),
  };
}

/**
 * Creates (or updates) the streams, the graders' and server's durable consumers and the results object store. The
 * server does this.
 */
export async function ensureStreams(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const n = NATS_NAMES;
  const streams = [
    {
      name: n.jobsStream,
      subjects: [n.jobsSubject],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: nanos(NATS_LIMITS.duplicateWindowMs),
    },
    {
      name: n.resultsStream,
      subjects: [`${n.resultsSubject}.>`],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: nanos(NATS_LIMITS.duplicateWindowMs),
    },
    {
      name: n.deadStream,
      subjects: [`${n.deadSubject}.>`],
      retention: RetentionPolicy.Limits,
      max_msgs: 10_000,
      discard: DiscardPolicy.Old,
    },
  ];
  for (const config of streams) {
    const full = { ...config, storage: StorageType.File };
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, full);
    } catch {
      await jsm.streams.add(full);
    }
  }
  const consumers = [
    {
      stream: n.jobsStream,
      durable_name: n.gradersConsumer,
      max_deliver: NATS_LIMITS.maxDeliver,
      max_ack_pending: 10_000,
    },
    {
      stream: n.resultsStream,
      durable_name: n.resultsConsumer,
      max_deliver: -1,
      max_ack_pending: 1_000,
    },
  ];
  for (const { stream, ...config } of consumers) {
    const full = {
      ...config,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(NATS_LIMITS.ackWaitMs),
    };
    try {
      await jsm.consumers.info(stream, config.durable_name);
      await jsm.consumers.update(stream, config.durable_name, full);
    } catch {
      await jsm.consumers.add(stream, full);
    }
  }
  // A result larger than nats-server's max_payload goes in chunks through an object store; one that nobody fetched
  // (its worker died between the object and the message) expires.
  await nc.jetstream().views.os(n.resultsBucket, {
    storage: StorageType.File,
    ttl: nanos(NATS_LIMITS.resultObjectTtlMs),
  });
}

/** The back-off before delivery `delivery` + 1 of a job whose grading failed, ms (the last step repeats). */
export function backoffMs(
  delivery: number,
  steps: readonly number[] = NATS_LIMITS.backoffMs,
): number {
  return steps[Math.min(delivery - 1, steps.length - 1)] ?? steps.at(-1)!;
}

/** `bytes` as base64 (in slices, so that large files do not overflow the call stack). */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** The bytes of base64 `text`. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** A job id as one token of a subject (`.`, `*`, `>`, `#` and spaces replaced). */
export function subjectToken(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_");
}
