/**
 * A grading thread's program (a Web Worker of the class server's process, started by {@linkcode GradingThread}): an
 * embedded broker and a lockstep harness of its own, a scratch store in memory, and one job at a time graded by
 * {@linkcode gradeNatsJob}, exactly as a NATS worker grades it. The server's thread keeps the pages, the API and the
 * store; this one sends back progress (at most four times a second) and the result (the runs and the grade).
 *
 * Messages in: `{kind: "grade", job, options}`, `{kind: "stop"}` (the job in hand ends), `{kind: "close"}`.
 * Messages out: `{kind: "ready"}`, `{kind: "progress", progress}`, `{kind: "done", result}`, `{kind: "failed",
 * message}`, `{kind: "closed"}`.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { RunStore } from "../store/mod.ts";
import type { JobProgress } from "./job_queue.ts";
import { gradeNatsJob } from "./nats_grader.ts";
import type { NatsJob, NatsResult } from "./nats_protocol.ts";

/** What a grading thread is told. */
export type ThreadRequest =
  | { kind: "grade"; job: NatsJob; options: ThreadGradeOptions }
  | { kind: "stop" }
  | { kind: "close" };

/** What a grading thread says. */
export type ThreadReply =
  | { kind: "ready" }
  | { kind: "progress"; progress: JobProgress }
  | {
    kind: "done";
    result: Omit<NatsResult, "worker" | "host" | "delivery">;
  }
  | { kind: "failed"; message: string; stopped: boolean }
  | { kind: "closed" };

/** The grading options a job is sent with. */
export interface ThreadGradeOptions {
  tank: string;
  stepTimeoutMs: number;
  connectTimeoutMs: number;
  tempDir?: string;
  nodeRed?: { runner: string; dir?: string };
}

const PROGRESS_MS = 250;

const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
const harness = new LockstepHarness(broker, new AedesBus(broker.aedes));
const scratch = await RunStore.open(":memory:");
let stop: AbortController | undefined;
let busy: Promise<void> = Promise.resolve();

function reply(message: ThreadReply): void {
  self.postMessage(message);
}

async function grade(job: NatsJob, options: ThreadGradeOptions): Promise<void> {
  stop = new AbortController();
  let last = 0;
  let pending: JobProgress | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const send = () => {
    timer = undefined;
    if (pending !== undefined) reply({ kind: "progress", progress: pending });
    pending = undefined;
    last = performance.now();
  };
  try {
    const graded = await gradeNatsJob(job, {
      harness,
      scratch,
      tank: options.tank,
      signal: stop.signal,
      progress: (p) => {
        pending = p;
        const wait = PROGRESS_MS - (performance.now() - last);
        if (wait <= 0) send();
        else timer ??= setTimeout(send, wait);
      },
      stepTimeoutMs: options.stepTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
      ...(options.nodeRed ? { nodeRed: options.nodeRed } : {}),
    });
    clearTimeout(timer);
    reply({ kind: "done", result: { ...graded, runs: await graded.runs() } });
  } catch (error) {
    clearTimeout(timer);
    reply({
      kind: "failed",
      message: error instanceof Error ? error.message : String(error),
      stopped: stop.signal.aborted,
    });
  } finally {
    stop = undefined;
  }
}

self.onmessage = (event: MessageEvent<ThreadRequest>) => {
  const request = event.data;
  switch (request.kind) {
    case "grade":
      busy = grade(request.job, request.options);
      break;
    case "stop":
      stop?.abort();
      break;
    case "close":
      stop?.abort();
      void busy.then(async () => {
        await harness.bus.close();
        await broker.close();
        await scratch.close();
        reply({ kind: "closed" });
        self.close();
      });
      break;
  }
};

reply({ kind: "ready" });
