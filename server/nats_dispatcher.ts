/**
 * The class server's side of grading on NATS JetStream (`deno task serve --nats URL`). The embedded queue
 * ({@linkcode KvJobQueue}) stays the server's record of every job (what the console, the students' status and the
 * re-grades read); the dispatcher carries its jobs to workers on other machines and their results back:
 *
 * - each waiting job is published once to the jobs stream (the job id is the message id, so a server restarted
 *   publishes nothing twice), with the submission's files and the assignment's scenario texts;
 * - a worker asks before grading; the job is claimed for it (or refused: done, cancelled, or held by a live worker);
 * - workers' beats renew the job's lease and carry its progress; a job that is no longer the worker's is cancelled
 *   on it; a worker that stops beating lets its lease lapse, and the job waits again (JetStream redelivers it);
 * - results are read from the results stream and stored once: the runs imported, the grade stored by submission
 *   and attempt (a job graded twice is stored once), then the job done;
 * - a job JetStream gave up on after its last delivery goes to the dead-letter subject and is marked failed.
 *
 * @module
 */

import type {
  Consumer,
  JetStreamClient,
  NatsConnection,
  ObjectStore,
} from "nats";
import type { RunStore } from "../store/mod.ts";
import type { ClassStore } from "./class_store.ts";
import type { Job } from "./job_queue.ts";
import {
  gradingJob,
  recordJobSeconds,
  storeGradedRuns,
} from "./grading_job.ts";
import {
  connectNats,
  decodeMessage,
  encodeMessage,
  ensureStreams,
  NATS_LIMITS,
  NATS_NAMES,
  type NatsCredentials,
  type NatsJob,
  type NatsResult,
  type StartReply,
  subjectToken,
  type WorkerBeat,
} from "./nats_protocol.ts";
import {
  type DeadLetter,
  type KnownWorker,
  type NatsQueueDetails,
  natsQueueDetails,
} from "./nats_queue_details.ts";

/** Options of {@linkcode NatsDispatcher.start}. */
export interface NatsDispatcherOptions {
  credentials?: NatsCredentials | undefined;
  /** The PEM certificate of the authority that signed nats-server's (TLS); see {@linkcode connectNats}. */
  caFile?: string | undefined;
  /** How often waiting jobs are looked for, ms. Default 250. */
  pollMs?: number;
  /** Told of what happens, for logs. */
  log?: (line: string) => void;
}

const ADVISORY =
  `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${NATS_NAMES.jobsStream}.${NATS_NAMES.gradersConsumer}`;

/** Carries the class server's jobs to NATS workers and their results back. */
export class NatsDispatcher {
  readonly url: string;
  readonly #classes: ClassStore;
  readonly #runs: RunStore;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  /** Opened at the first result that needs it. */
  #bucket: Promise<ObjectStore> | undefined;
  readonly #options: NatsDispatcherOptions;
  readonly #published = new Set<string>();
  readonly #workers = new Map<string, KnownWorker>();
  readonly #dead: DeadLetter[] = [];
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];

  private constructor(
    url: string,
    classes: ClassStore,
    runs: RunStore,
    nc: NatsConnection,
    options: NatsDispatcherOptions,
  ) {
    this.url = url;
    this.#classes = classes;
    this.#runs = runs;
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#options = options;
  }

  /** Connects, makes the streams and consumers, and starts publishing jobs and storing results. */
  static async start(
    url: string,
    classes: ClassStore,
    runs: RunStore,
    options: NatsDispatcherOptions = {},
  ): Promise<NatsDispatcher> {
    const nc = await connectNats(url, {
      credentials: options.credentials,
      caFile: options.caFile,
      name: "fishtank-class-server",
    });
    try {
      await ensureStreams(nc);
    } catch (error) {
      await nc.close();
      throw error;
    }
    const d = new NatsDispatcher(url, classes, runs, nc, options);
    d.#serve(NATS_NAMES.start, (data) => d.#mayStart(data));
    d.#listen(NATS_NAMES.beat, (data) => d.#beat(data));
    d.#listen(ADVISORY, (data) => d.#deadLetter(data));
    d.#loops.push(d.#publishLoop(), d.#resultLoop());
    return d;
  }

  /** Stops; jobs stay in the streams for the next start. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
    await this.#nc.drain().catch(() => {});
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  #serve(subject: string, answer: (data: unknown) => Promise<unknown>): void {
    const sub = this.#nc.subscribe(subject);
    (async () => {
      for await (const m of sub) {
        try {
          m.respond(JSON.stringify(await answer(m.json())));
        } catch (error) {
          this.#log(`nats: ${subject}: ${error}`);
        }
      }
    })();
  }

  #listen(subject: string, handle: (data: unknown) => Promise<void>): void {
    const sub = this.#nc.subscribe(subject);
    (async () => {
      for await (const m of sub) {
        await handle(m.json()).catch((error) =>
          this.#log(`nats: ${subject}: ${error}`)
        );
      }
    })();
  }

  async #pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#stop.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  // Jobs out

  async #publishLoop(): Promise<void> {
    const queue = this.#classes.queue;
    while (!this.#stop.signal.aborted) {
      try {
        // A worker that stopped beating: its job waits again (and is published again for its next claim).
        for (const job of await queue.requeueRunning()) {
          this.#log(`job ${job.id}: its worker ${job.worker} went silent`);
          await this.#markSubmission(job, "queued");
        }
        for (const job of await queue.list({ state: "queued" })) {
          // Once per job: a job requeued when its worker went silent is still in the stream, and JetStream
          // delivers it again after the ack wait (a copy would be graded, or dead-lettered, twice).
          const key = job.id;
          if (this.#published.has(key)) continue;
          let message;
          try {
            message = await this.#jobMessage(job);
          } catch (error) {
            // A scenario that does not load fails its job here, once, not on every worker in turn.
            await this.#failHere(job, `cannot make the job: ${error}`);
            continue;
          }
          if (message === undefined) continue;
          await this.#js.publish(
            NATS_NAMES.jobsSubject,
            encodeMessage(message),
            { msgID: key },
          );
          this.#published.add(key);
        }
      } catch (error) {
        if (!this.#stop.signal.aborted) this.#log(`nats: publishing: ${error}`);
      }
      await this.#pause(this.#options.pollMs ?? 250);
    }
  }

  async #jobMessage(job: Job): Promise<NatsJob | undefined> {
    const message = await gradingJob(this.#classes, job);
    if (typeof message === "string") {
      await this.#failHere(job, message);
      return undefined;
    }
    return message;
  }

  /** Fails a waiting job on the server (no worker gets it). */
  async #failHere(job: Job, why: string): Promise<void> {
    const held = await this.#classes.queue.claimById(
      job.id,
      "server",
      NATS_LIMITS.leaseMs,
    );
    if (held && await this.#classes.queue.fail(job.id, "server", why)) {
      await this.#markSubmission(held, "failed", why);
      this.#log(`job ${job.id}: failed: ${why}`);
    }
  }

  async #markSubmission(
    job: Job,
    status: "queued" | "running" | "failed" | "cancelled",
    error?: string,
  ): Promise<void> {
    await this.#classes.updateSubmission(job.submissionId, (s) => {
      if (s.attempt !== job.attempt || s.status === "cancelled") return null;
      if (s.status === "graded") return null;
      const next = { ...s, status };
      if (error !== undefined) next.error = error;
      return next;
    });
  }

  /** A job cancelled while a worker had it: its submission says so (a waiting one was marked when cancelled). */
  async #markCancelled(job: Job): Promise<void> {
    await this.#markSubmission(
      job,
      "cancelled",
      job.error ?? "cancelled by the teacher",
    );
  }

  async #mayStart(data: unknown): Promise<StartReply> {
    const { job: id, worker } = data as { job: string; worker: string };
    const queue = this.#classes.queue;
    let job = await queue.get(id);
    if (job === undefined) return { go: false, why: "no such job" };
    if (job.state === "running" && job.worker !== worker) {
      if ((job.leaseUntil ?? 0) > Date.now()) {
        // Not acked: should that worker die, this delivery is the job's way back.
        return {
          go: false,
          why: `being graded by ${job.worker}`,
          retryMs: NATS_LIMITS.ackWaitMs,
        };
      }
      await queue.requeueRunning();
      job = (await queue.get(id))!;
    }
    if (job.state === "running" && job.worker === worker) {
      return { go: true, why: "yours already" };
    }
    if (job.state !== "queued") return { go: false, why: `job ${job.state}` };
    const claimed = await queue.claimById(id, worker, NATS_LIMITS.leaseMs);
    if (claimed === undefined) {
      return {
        go: false,
        why: "claimed meanwhile",
        retryMs: NATS_LIMITS.ackWaitMs,
      };
    }
    await this.#markSubmission(claimed, "running");
    this.#log(`job ${id}: graded by ${worker} (claim ${claimed.claims})`);
    return { go: true, why: "claimed" };
  }

  async #beat(data: unknown): Promise<void> {
    const beat = data as WorkerBeat;
    this.#workers.set(beat.worker, { ...beat, lastSeen: Date.now() });
    const queue = this.#classes.queue;
    for (const { id, progress } of beat.jobs) {
      const mine = await queue.heartbeat(id, beat.worker, {
        leaseMs: NATS_LIMITS.leaseMs,
        ...(progress ? { progress } : {}),
      });
      if (mine) continue;
      const job = await queue.get(id);
      // Requeued while its worker was still at it (a server restart): give it back to that worker.
      if (job?.state === "queued") {
        const again = await queue.claimById(
          id,
          beat.worker,
          NATS_LIMITS.leaseMs,
        );
        if (again) {
          await this.#markSubmission(again, "running");
          continue;
        }
      }
      this.#nc.publish(NATS_NAMES.cancel, JSON.stringify({ job: id }));
      if (job?.state === "cancelled") await this.#markCancelled(job);
      this.#log(`job ${id}: told ${beat.worker} to stop (${job?.state})`);
    }
  }

  // Results in

  async #resultLoop(): Promise<void> {
    let consumer: Consumer | undefined;
    while (!this.#stop.signal.aborted) {
      try {
        consumer ??= await this.#js.consumers.get(
          NATS_NAMES.resultsStream,
          NATS_NAMES.resultsConsumer,
        );
        const msg = await consumer.next({ expires: 2_000 });
        if (msg === null) continue;
        try {
          const object = msg.headers?.get(NATS_NAMES.resultObjectHeader);
          await this.#store(
            decodeMessage<NatsResult>(
              object ? await this.#resultObject(object) : msg.data,
            ),
          );
          msg.ack();
          // Not fetched again; one left behind (nats-server away) expires.
          if (object) {
            await this.#resultsBucket.then((b) => b.delete(object)).catch(
              () => {},
            );
          }
        } catch (error) {
          this.#log(`nats: storing a result: ${error}; trying again`);
          msg.nak(2_000);
        }
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        consumer = undefined;
        this.#log(`nats: reading results: ${error}; trying again`);
        await this.#pause(1_000);
      }
    }
  }

  get #resultsBucket(): Promise<ObjectStore> {
    return this.#bucket ??= this.#js.views.os(NATS_NAMES.resultsBucket)
      .catch((error) => {
        this.#bucket = undefined;
        throw error;
      });
  }

  /** A result a worker put in the object store (too large for one message). */
  async #resultObject(name: string): Promise<Uint8Array> {
    const data = await (await this.#resultsBucket).getBlob(name);
    if (data === null) {
      throw new Error(`the result object ${name} is not in the object store`);
    }
    return data;
  }

  async #store(result: NatsResult): Promise<void> {
    const { classes } = { classes: this.#classes };
    const queue = classes.queue;
    if (await classes.getGrade(result.submissionId, result.attempt)) {
      this.#log(
        `job ${result.job}: graded before, ${result.worker}'s result not stored`,
      );
      return;
    }
    const job = await queue.get(result.job);
    if (job === undefined || job.state === "cancelled") {
      if (job) await this.#markCancelled(job);
      this.#log(
        `job ${result.job}: ${
          job ? "cancelled" : "unknown"
        }, result not stored`,
      );
      return;
    }
    const stored = await storeGradedRuns(
      classes,
      this.#runs,
      result,
      `result of ${result.job} from ${result.worker}`,
    );
    let holder = (await queue.get(result.job))?.worker;
    const now = await queue.get(result.job);
    if (now?.state === "queued") {
      await queue.claimById(result.job, result.worker, NATS_LIMITS.leaseMs);
      holder = result.worker;
    }
    if (holder !== undefined) await queue.complete(result.job, holder);
    await recordJobSeconds(classes, result.grade.seconds);
    this.#log(
      `job ${result.job}: ${
        stored ? "graded" : "graded before"
      } ${result.grade.score} by ${result.worker} (delivery ${result.delivery})`,
    );
  }

  // Dead letters

  async #deadLetter(data: unknown): Promise<void> {
    const advisory = data as { stream_seq: number; deliveries: number };
    const jsm = await this.#nc.jetstreamManager();
    const stored = await jsm.streams.getMessage(NATS_NAMES.jobsStream, {
      seq: advisory.stream_seq,
    });
    const job = decodeMessage<NatsJob>(stored.data);
    await this.#js.publish(
      `${NATS_NAMES.deadSubject}.${subjectToken(job.id)}`,
      stored.data,
    );
    await jsm.streams.deleteMessage(
      NATS_NAMES.jobsStream,
      advisory.stream_seq,
    );
    const why =
      `gave up after ${advisory.deliveries} deliveries (dead letter on ${NATS_NAMES.deadSubject}.${
        subjectToken(job.id)
      })`;
    const queue = this.#classes.queue;
    let current = await queue.get(job.id);
    if (current?.state === "queued") {
      current = await queue.claimById(job.id, "nats", NATS_LIMITS.leaseMs);
    }
    // Its worker is at it only if that worker's last beat lists it: a worker whose grading failed holds a lease
    // still, but no longer the job.
    const grading = current?.worker !== undefined &&
      this.#workers.get(current.worker)?.jobs.some((j) => j.id === job.id);
    if (
      current?.state === "running" && current.worker && grading &&
      (current.leaseUntil ?? 0) > Date.now() && current.worker !== "nats"
    ) {
      // Another delivery of a job a live worker is grading: that one goes on.
      this.#log(
        `job ${job.id}: a copy dead-lettered; ${current.worker} grades it`,
      );
      return;
    }
    if (current?.state === "running" && current.worker) {
      await queue.fail(job.id, current.worker, why);
      await this.#markSubmission(current, "failed", why);
    }
    this.#dead.push({
      job: job.id,
      deliveries: advisory.deliveries,
      at: new Date().toISOString(),
    });
    if (this.#dead.length > 100) this.#dead.shift();
    this.#log(`job ${job.id}: ${why}`);
  }

  // The console

  /** The workers heard from in the last ten minutes (alive: a beat within the last three beats). */
  workers(now = Date.now()): KnownWorker[] {
    for (const [name, w] of this.#workers) {
      if (now - w.lastSeen > 600_000) this.#workers.delete(name);
    }
    return [...this.#workers.values()].sort((a, b) =>
      a.worker.localeCompare(b.worker)
    );
  }

  /** The teacher queue's `nats` field. */
  async details(): Promise<NatsQueueDetails> {
    return natsQueueDetails({
      url: this.url,
      workers: this.workers(),
      waiting: await this.#classes.queue.list({ state: "queued" }),
      deadLetters: [...this.#dead],
    });
  }
}
