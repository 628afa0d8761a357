import assert from "node:assert/strict";
import type { Job } from "./job_queue.ts";
import { type KnownWorker, natsQueueDetails } from "./nats_queue_details.ts";
import {
  backoffMs,
  decodeMessage,
  encodeMessage,
  NATS_LIMITS,
  subjectToken,
} from "./nats_protocol.ts";

const NOW = 1_800_000_000_000;

function waiting(n: number): Job[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `s${i}#1`,
    submissionId: `s${i}`,
    attempt: 1,
    state: "queued",
    enqueuedAt: NOW - 1000 + i,
    claims: 0,
  }));
}

function worker(name: string, busy: number, ageMs: number): KnownWorker {
  return {
    worker: name,
    host: "lab",
    slots: 1,
    busy,
    jobs: [],
    startedAt: "2027-01-15T08:00:00Z",
    graded: 0,
    lastSeen: NOW - ageMs,
  };
}

const base = { url: "nats://teacher:4222", deadLetters: [], now: NOW };

Deno.test("natsQueueDetails() says plainly that no worker is connected, with the queue position", () => {
  const d = natsQueueDetails({ ...base, workers: [], waiting: waiting(3) });
  assert.equal(
    d.note,
    "No worker is connected: 3 submissions wait (the next at position 1); start one with deno task worker --nats nats://teacher:4222.",
  );
  assert.deepEqual(d.positions.map((p) => [p.job, p.position]), [
    ["s0#1", 1],
    ["s1#1", 2],
    ["s2#1", 3],
  ]);
});

Deno.test("natsQueueDetails() says no worker is free when every live slot is busy; a silent worker does not count", () => {
  const silent = worker("gone", 0, 3 * NATS_LIMITS.beatMs + 1);
  const d = natsQueueDetails({
    ...base,
    workers: [worker("w1", 1, 0), worker("w2", 1, 100), silent],
    waiting: waiting(1),
  });
  assert.equal(
    d.note,
    "No worker is free: all 2 slots of 2 workers are busy; 1 submission waits (the next at position 1).",
  );
  assert.equal(d.free, 0);
  assert.deepEqual(d.workers.map((w) => [w.name, w.alive]), [
    ["w1", true],
    ["w2", true],
    ["gone", false],
  ]);
  const free = natsQueueDetails({
    ...base,
    workers: [worker("w1", 0, 0)],
    waiting: [],
  });
  assert.equal(free.note, "1 of 1 slot free on 1 worker; 0 submissions wait.");
});

Deno.test("NATS messages: gzipped JSON round-trips; subject tokens carry no wildcard or dot; back-off grows then stays", () => {
  const value = {
    id: "abc#2",
    files: [{ path: "a.py", data: "x".repeat(10_000) }],
  };
  const bytes = encodeMessage(value);
  assert.ok(bytes.length < 1_000);
  assert.deepEqual(decodeMessage(bytes), value);
  assert.equal(subjectToken("0mk3-ab.c*>#2"), "0mk3-ab_c___2");
  assert.deepEqual([1, 2, 3, 4, 9].map((d) => backoffMs(d)), [
    2_000,
    10_000,
    30_000,
    60_000,
    60_000,
  ]);
  // A worker's own steps (deno task worker --backoff 1,5): the last repeats.
  assert.deepEqual([1, 2, 3].map((d) => backoffMs(d, [1_000, 5_000])), [
    1_000,
    5_000,
    5_000,
  ]);
});
