/**
 * A grading worker on NATS JetStream (`deno task worker`): `slots` loops that each pull one job at a time from the
 * graders' durable consumer and grade it as sealed runs on the worker's own embedded broker ({@linkcode gradeNatsJob}).
 * The grading begins while the server is asked whether the job is still to be graded; a "no" (a copy of a job graded
 * elsewhere, a cancelled job) stops it, and the job is acked and skipped. The result goes to the results stream (in
 * chunks through the results object store when it is larger than a message), and only then is the job acked; the
 * slot pulls and grades its next job meanwhile (one result on its way per slot). While a job runs or its result is
 * sent, every beat sends an in-progress ack (so the ack wait never lapses for a live worker) and a heartbeat to the
 * server; a worker that dies stops both, and JetStream delivers its job to another worker after the ack wait. A
 * grading that throws is nak'ed with a back-off; after the consumer's last delivery the server dead-letters it.
 *
 * @module
 */

import { hostname } from "node:os";
import { headers as natsHeaders, type JsMsg, type NatsConnection } from "nats";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { RunStore } from "../store/mod.ts";
import { withDefaults } from "../lib/mod.ts";
import type { JobProgress } from "./job_queue.ts";
import { type GradedJob, gradeNatsJob } from "./nats_grader.ts";
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

/** A graded job's result, its runs still to export. */
type GradedResult = Omit<NatsResult, "runs"> & Pick<GradedJob, "runs">;

/** Room for a message's headers and subject, bytes: a result larger than max_payload less this goes in chunks. */
const MESSAGE_HEADROOM = 4_096;

/** How long a graded job's result waits for the slot's next grading to begin before it is sent anyway, ms. */
const SEND_AFTER_MS = 100;

interface Running {
  id: string;
  msg: JsMsg;
  progress?: JobProgress;
  stop: AbortController;
  /** The server said go: until then the job is graded but not in the beats (whose jobs the server claims). */
  claimed: boolean;
  /** Graded: its result is on its way to the server (the slot grades the next job meanwhile). */
  sending: boolean;
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
  readonly #running = new Set<Running>();
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
    for (const r of this.#running) r.stop.abort();
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
        for (const r of this.#running) {
          if (r.id === job) r.stop.abort();
        }
      }
    })().catch(() => {});
  }

  #heartbeat(): void {
    for (const r of this.#running) r.msg.working();
    const jobs = [...this.#running].filter((r) => r.claimed);
    const beat: WorkerBeat = {
      worker: this.name,
      host: hostname(),
      slots: this.slots,
      // A job whose result is being sent is listed (its lease renewed) but its slot is grading the next one.
      busy: [...this.#running].filter((r) => !r.sending).length,
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
    // The previous job's result, on its way to the server while this slot pulls and grades the next one. It goes
    // once the next grading has begun (its files written, its controller starting up: the worker's thread is free
    // then), or after a moment without one.
    let sending: Promise<void> = Promise.resolve();
    let send = () => {};
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
        const handled = await this.#handle(msg, slot, () => send());
        if ("outcome" in handled) {
          send();
          this.#options.onJobEnd?.(handled.job, handled.outcome);
          continue;
        }
        // One result on its way per slot: the one before has had a whole grading's time.
        await sending;
        const ready = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, SEND_AFTER_MS);
          send = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        sending = ready
          .then(() => this.#send(handled.result, handled.running))
          .then((end) => this.#options.onJobEnd?.(end.job, end.outcome));
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        consumer = undefined;
        console.error(`worker ${this.name}: ${error}; trying again`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    send();
    await sending;
  }

  /**
   * Grades the job of `msg` on `slot` (`onStarted` once its files are written): its result to send, or how it ended
   * without one.
   */
  async #handle(
    msg: JsMsg,
    slot: number,
    onStarted: () => void,
  ): Promise<
    { job: string; outcome: string } | {
      result: GradedResult;
      running: Running;
    }
  > {
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
    if ([...this.#running].some((r) => r.id === job.id)) {
      msg.ack();
      return { job: job.id, outcome: "skipped (a copy is graded here now)" };
    }
    const running: Running = {
      id: job.id,
      msg,
      stop: new AbortController(),
      claimed: false,
      sending: false,
    };
    this.#running.add(running);
    // The grading starts (files written, the controller started) while the server is asked whether it may; a "no"
    // (rare: a copy of a job graded elsewhere, a cancelled job) stops it.
    const asked = this.#mayStart(job.id).then((reply) => {
      if (reply.go) {
        running.claimed = true;
        this.#heartbeat();
      } else running.stop.abort();
      return reply;
    });
    const grading = gradeNatsJob(job, {
      harness: this.#harness,
      scratch: this.#scratch,
      tank: `tank${slot + 1}`,
      signal: AbortSignal.any([running.stop.signal, this.#stop.signal]),
      progress: (p) => {
        if (running.progress === undefined) onStarted();
        running.progress = p;
      },
      stepTimeoutMs: this.#options.stepTimeoutMs,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      ...(this.#options.tempDir ? { tempDir: this.#options.tempDir } : {}),
      ...(this.#options.nodeRed ? { nodeRed: this.#options.nodeRed } : {}),
    });
    // Handled here until the reply is in (a grading that fails at once must not reject unhandled meanwhile).
    grading.catch(() => {});
    const reply = await asked;
    if (!reply.go) {
      await grading.catch(() => {});
      this.#running.delete(running);
      if (reply.retryMs !== undefined) msg.nak(reply.retryMs);
      else msg.ack();
      return { job: job.id, outcome: `skipped (${reply.why})` };
    }
    try {
      const graded = await grading;
      running.sending = true;
      return {
        result: { ...graded, worker: this.name, host: hostname(), delivery },
        running,
      };
    } catch (error) {
      this.#running.delete(running);
      // At once, so that the server knows the job is no longer graded here before JetStream's next move on it.
      this.#heartbeat();
      return { job: job.id, outcome: this.#handBack(error, running) };
    }
  }

  /** Publishes a graded job's result, then acks the job; the job stays in the beats (its lease renewed) till then. */
  async #send(
    graded: GradedResult,
    running: Running,
  ): Promise<{ job: string; outcome: string }> {
    const result: NatsResult = { ...graded, runs: [] };
    try {
      result.runs = await graded.runs();
      await this.#publishResult(result, running);
      running.msg.ack();
      this.#graded++;
      return {
        job: result.job,
        outcome: `graded ${result.grade.score} (delivery ${result.delivery})`,
      };
    } catch (error) {
      return { job: result.job, outcome: this.#handBack(error, running) };
    } finally {
      this.#running.delete(running);
      this.#heartbeat();
    }
  }

  /** Naks or acks a job whose grading or sending failed; says how it ended. */
  #handBack(error: unknown, running: Running): string {
    const { msg } = running;
    if (this.#stop.signal.aborted) {
      msg.nak();
      return "stopped: handed back";
    }
    if (running.stop.signal.aborted) {
      msg.ack();
      return "stopped: the server cancelled it";
    }
    const message = error instanceof Error ? error.message : String(error);
    const delivery = msg.info.deliveryCount;
    const again = backoffMs(delivery, this.#options.backoffMs);
    msg.nak(again);
    return `failed (delivery ${delivery}; again after ${again} ms): ${message}`;
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

  /**
   * Publishes `result` on the results stream: in the message when it fits nats-server's `max_payload`, else in chunks
   * through the results object store, the message naming the object. Tries again while the server is away, not
   * once the job is cancelled or the worker stops.
   */
  async #publishResult(result: NatsResult, running: Running): Promise<void> {
    const js = this.#nc.jetstream({ checkAPI: false });
    const data = encodeMessage(result);
    const id = `${result.job}/${result.delivery}`;
    const inline = data.length + MESSAGE_HEADROOM <=
      (this.#nc.info?.max_payload ?? 0);
    for (let attempt = 1;; attempt++) {
      try {
        const h = natsHeaders();
        if (!inline) {
          const bucket = await js.views.os(NATS_NAMES.resultsBucket);
          await bucket.putBlob({ name: id }, data);
          h.set(NATS_NAMES.resultObjectHeader, id);
        }
        await js.publish(
          `${NATS_NAMES.resultsSubject}.${subjectToken(result.job)}`,
          inline ? data : new Uint8Array(),
          { msgID: id, headers: h },
        );
        return;
      } catch (error) {
        if (
          this.#stop.signal.aborted || running.stop.signal.aborted ||
          attempt >= 600
        ) throw error;
        running.msg.working();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
