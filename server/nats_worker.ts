/**
 * A grading worker on NATS JetStream (`deno task worker`): `slots` loops that each pull one job at a time from the
 * graders' durable consumer, ask the server whether the job is still to be graded (a duplicate or a cancelled job is
 * acked and skipped), grade it as sealed runs on the worker's own embedded broker ({@linkcode gradeNatsJob}), publish
 * the result to the results stream and only then ack the job. While a job runs, every beat sends an in-progress ack
 * (so the ack wait never lapses for a live worker) and a heartbeat to the server; a worker that dies stops both, and
 * JetStream delivers its job to another worker after the ack wait. A grading that throws is nak'ed with a back-off;
 * after the consumer's last delivery the server dead-letters it.
 *
 * @module
 */

import { hostname } from "node:os";
import type { JsMsg, NatsConnection } from "nats";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { RunStore } from "../store/mod.ts";
import { withDefaults } from "../lib/mod.ts";
import type { JobProgress } from "./job_queue.ts";
import { gradeNatsJob } from "./nats_grader.ts";
import {
  backoffMs,
  connectNats,
  decodeMessage,
  encodeMessage,
  NATS_LIMITS,
  NATS_NAMES,
  type NatsCredentials,
  type NatsJob,
  type NatsResult,
  type StartReply,
  subjectToken,
  type WorkerBeat,
} from "./nats_protocol.ts";

/** Options of {@linkcode NatsWorker.start}. */
export interface NatsWorkerOptions {
  /** Jobs graded at once. Default 1. */
  slots?: number;
  credentials?: NatsCredentials | undefined;
  /** The PEM certificate of the authority that signed nats-server's (TLS); see {@linkcode connectNats}. */
  caFile?: string | undefined;
  /** The worker's name (default `host-pid`). */
  name?: string;
  stepTimeoutMs?: number;
  connectTimeoutMs?: number;
  tempDir?: string;
  nodeRed?: { runner: string; dir?: string };
  /** Waits before a job whose grading failed is delivered again, ms, by delivery (the last repeats). */
  backoffMs?: readonly number[];
  /** Told of each job that ended, for logs. */
  onJobEnd?: (job: string, outcome: string) => void;
}

const defaults = {
  slots: 1,
  name: "",
  stepTimeoutMs: 100,
  connectTimeoutMs: 10_000,
  tempDir: "",
  backoffMs: NATS_LIMITS.backoffMs as readonly number[],
} satisfies Omit<
  Required<NatsWorkerOptions>,
  "credentials" | "caFile" | "nodeRed" | "onJobEnd"
>;

interface Running {
  id: string;
  msg: JsMsg;
  progress?: JobProgress;
  stop: AbortController;
}

/** A worker process's grading slots on NATS. */
export class NatsWorker {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #options: typeof defaults & NatsWorkerOptions;
  readonly #broker: EmbeddedBroker;
  readonly #harness: LockstepHarness;
  readonly #scratch: RunStore;
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #running = new Map<number, Running>();
  readonly #startedAt = new Date().toISOString();
  #graded = 0;
  #beat: ReturnType<typeof setInterval> | undefined;

  private constructor(
    nc: NatsConnection,
    broker: EmbeddedBroker,
    scratch: RunStore,
    options: NatsWorkerOptions,
  ) {
    this.#nc = nc;
    this.#broker = broker;
    this.#scratch = scratch;
    this.#harness = new LockstepHarness(broker, new AedesBus(broker.aedes));
    this.#options = { ...withDefaults(defaults, options), ...options };
    this.name = this.#options.name || `${hostname()}-${Deno.pid}`;
  }

  /** Connects to `url` and starts the slots. */
  static async start(
    url: string,
    options: NatsWorkerOptions = {},
  ): Promise<NatsWorker> {
    const nc = await connectNats(url, {
      credentials: options.credentials,
      caFile: options.caFile,
      name: `fishtank-worker ${options.name ?? hostname()}`,
    });
    const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
    const scratch = await RunStore.open(":memory:");
    const worker = new NatsWorker(nc, broker, scratch, options);
    worker.#listenForCancels();
    worker.#beat = setInterval(() => worker.#heartbeat(), NATS_LIMITS.beatMs);
    worker.#heartbeat();
    for (let slot = 0; slot < worker.slots; slot++) {
      worker.#loops.push(worker.#loop(slot));
    }
    return worker;
  }

  /** Jobs graded at once. */
  get slots(): number {
    return Math.max(1, this.#options.slots);
  }

  /** Stops pulling; jobs in hand are nak'ed (redelivered at once to another worker). */
  async close(): Promise<void> {
    this.#stop.abort();
    for (const r of this.#running.values()) r.stop.abort();
    await Promise.allSettled(this.#loops);
    clearInterval(this.#beat);
    await this.#nc.drain().catch(() => {});
    await this.#harness.bus.close();
    await this.#broker.close();
    await this.#scratch.close();
  }

  #listenForCancels(): void {
    const sub = this.#nc.subscribe(NATS_NAMES.cancel);
    (async () => {
      for await (const m of sub) {
        const { job } = m.json<{ job: string }>();
        for (const r of this.#running.values()) {
          if (r.id === job) r.stop.abort();
        }
      }
    })().catch(() => {});
  }

  #heartbeat(): void {
    const jobs = [...this.#running.values()];
    for (const r of jobs) r.msg.working();
    const beat: WorkerBeat = {
      worker: this.name,
      host: hostname(),
      slots: this.slots,
      busy: jobs.length,
      jobs: jobs.map((r) => ({
        id: r.id,
        ...(r.progress ? { progress: r.progress } : {}),
      })),
      startedAt: this.#startedAt,
      graded: this.#graded,
    };
    try {
      this.#nc.publish(NATS_NAMES.beat, JSON.stringify(beat));
    } catch {
      // Reconnecting: the next beat goes.
    }
  }

  async #loop(slot: number): Promise<void> {
    let consumer;
    while (!this.#stop.signal.aborted) {
      try {
        consumer ??= await this.#nc.jetstream().consumers.get(
          NATS_NAMES.jobsStream,
          NATS_NAMES.gradersConsumer,
        );
        const msg = await consumer.next({ expires: 5_000 });
        if (msg === null) continue;
        if (this.#stop.signal.aborted) {
          msg.nak();
          break;
        }
        const { job, outcome } = await this.#handle(msg, slot);
        this.#options.onJobEnd?.(job, outcome);
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        consumer = undefined;
        console.error(`worker ${this.name}: ${error}; trying again`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  async #handle(
    msg: JsMsg,
    slot: number,
  ): Promise<{ job: string; outcome: string }> {
    let job: NatsJob;
    try {
      job = decodeMessage<NatsJob>(msg.data);
    } catch (error) {
      msg.term(`not a job: ${error}`);
      return {
        job: "?",
        outcome: `refused a message that is not a job: ${error}`,
      };
    }
    const delivery = msg.info.deliveryCount;
    if ([...this.#running.values()].some((r) => r.id === job.id)) {
      msg.ack();
      return { job: job.id, outcome: "skipped (a copy is graded here now)" };
    }
    const reply = await this.#mayStart(job.id);
    if (!reply.go) {
      if (reply.retryMs !== undefined) msg.nak(reply.retryMs);
      else msg.ack();
      return { job: job.id, outcome: `skipped (${reply.why})` };
    }
    const running: Running = { id: job.id, msg, stop: new AbortController() };
    this.#running.set(slot, running);
    this.#heartbeat();
    try {
      const graded = await gradeNatsJob(job, {
        harness: this.#harness,
        scratch: this.#scratch,
        tank: `tank${slot + 1}`,
        signal: AbortSignal.any([running.stop.signal, this.#stop.signal]),
        progress: (p) => running.progress = p,
        stepTimeoutMs: this.#options.stepTimeoutMs,
        connectTimeoutMs: this.#options.connectTimeoutMs,
        ...(this.#options.tempDir ? { tempDir: this.#options.tempDir } : {}),
        ...(this.#options.nodeRed ? { nodeRed: this.#options.nodeRed } : {}),
      });
      const result: NatsResult = {
        ...graded,
        worker: this.name,
        host: hostname(),
        delivery,
      };
      await this.#publishResult(result, msg);
      msg.ack();
      this.#graded++;
      return {
        job: job.id,
        outcome: `graded ${result.grade.score} (delivery ${delivery})`,
      };
    } catch (error) {
      if (this.#stop.signal.aborted) {
        msg.nak();
        return { job: job.id, outcome: "stopped: handed back" };
      }
      if (running.stop.signal.aborted) {
        msg.ack();
        return { job: job.id, outcome: "stopped: the server cancelled it" };
      }
      const message = error instanceof Error ? error.message : String(error);
      const again = backoffMs(delivery, this.#options.backoffMs);
      msg.nak(again);
      return {
        job: job.id,
        outcome:
          `failed (delivery ${delivery}; again after ${again} ms): ${message}`,
      };
    } finally {
      this.#running.delete(slot);
      // At once, so that the server knows the job is no longer graded here before JetStream's next move on it.
      this.#heartbeat();
    }
  }

  async #mayStart(job: string): Promise<StartReply> {
    try {
      const m = await this.#nc.request(
        NATS_NAMES.start,
        JSON.stringify({ job, worker: this.name }),
        { timeout: 5_000 },
      );
      return m.json<StartReply>();
    } catch {
      // The server is away (restarting): grade anyway; it stores the result once when it is back.
      return { go: true, why: "the server did not answer" };
    }
  }

  async #publishResult(result: NatsResult, msg: JsMsg): Promise<void> {
    const js = this.#nc.jetstream();
    const data = encodeMessage(result);
    for (let attempt = 1;; attempt++) {
      try {
        await js.publish(
          `${NATS_NAMES.resultsSubject}.${subjectToken(result.job)}`,
          data,
          {
            msgID: `${result.job}/${result.delivery}`,
          },
        );
        return;
      } catch (error) {
        if (this.#stop.signal.aborted || attempt >= 600) throw error;
        msg.working();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
