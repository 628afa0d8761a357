/**
 * The `nats` field of the teacher's queue (`GET /api/class/teacher/queue` on `deno task serve --nats`): the workers
 * the server has heard from (where, slots, busy, last seen, their jobs' progress), the slots free across them, each
 * waiting job's position, the dead letters, and a plain sentence for "is a worker free?". Pure: what the dispatcher
 * knows in, the field out.
 *
 * @module
 */

import type { Job } from "./job_queue.ts";
import { NATS_LIMITS, NATS_NAMES, type WorkerBeat } from "./nats_protocol.ts";

/** A worker as the server last heard of it. */
export interface KnownWorker extends WorkerBeat {
  lastSeen: number;
}

/** A job JetStream gave up on. */
export interface DeadLetter {
  job: string;
  deliveries: number;
  at: string;
}

/** The `nats` field of the teacher's queue: the workers, their slots, and a plain answer to "is a worker free?". */
export interface NatsQueueDetails {
  url: string;
  workers: {
    name: string;
    host: string;
    slots: number;
    busy: number;
    graded: number;
    lastSeen: string;
    alive: boolean;
    jobs: WorkerBeat["jobs"];
  }[];
  slots: number;
  busy: number;
  free: number;
  waiting: number;
  /** Waiting jobs in order: position 1 is graded next. */
  positions: { job: string; position: number }[];
  /** "No worker is free: …", said plainly. */
  note: string;
  deadLetterSubject: string;
  deadLetters: DeadLetter[];
}

/** The field from the workers heard from, the waiting jobs (in order) and the dead letters. */
export function natsQueueDetails(
  input: {
    url: string;
    workers: KnownWorker[];
    waiting: Job[];
    deadLetters: DeadLetter[];
    now?: number;
  },
): NatsQueueDetails {
  const now = input.now ?? Date.now();
  // Alive: a beat within the last three beats.
  const alive = (w: KnownWorker) => now - w.lastSeen <= 3 * NATS_LIMITS.beatMs;
  const { workers, waiting } = input;
  const live = workers.filter(alive);
  const slots = live.reduce((n, w) => n + w.slots, 0);
  const busy = live.reduce((n, w) => n + w.busy, 0);
  const free = Math.max(0, slots - busy);
  const wait = waiting.length;
  const noun = wait === 1 ? "submission waits" : "submissions wait";
  const plural = (n: number, word: string) =>
    `${n} ${word}${n === 1 ? "" : "s"}`;
  const note = live.length === 0
    ? `No worker is connected: ${wait} ${noun} (the next at position 1); start one with deno task worker --nats ${input.url}.`
    : free === 0 && wait > 0
    ? `No worker is free: all ${plural(slots, "slot")} of ${
      plural(live.length, "worker")
    } are busy; ${wait} ${noun} (the next at position 1).`
    : `${free} of ${plural(slots, "slot")} free on ${
      plural(live.length, "worker")
    }; ${wait} ${noun}.`;
  return {
    url: input.url,
    workers: workers.map((w) => ({
      name: w.worker,
      host: w.host,
      slots: w.slots,
      busy: w.busy,
      graded: w.graded,
      lastSeen: new Date(w.lastSeen).toISOString(),
      alive: alive(w),
      jobs: w.jobs,
    })),
    slots,
    busy,
    free,
    waiting: wait,
    positions: waiting.map((j, i) => ({ job: j.id, position: i + 1 })),
    note,
    deadLetterSubject: `${NATS_NAMES.deadSubject}.>`,
    deadLetters: input.deadLetters,
  };
}
