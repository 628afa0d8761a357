/**
 * The conformance suite of {@linkcode JobQueue}: every implementation runs it (today the Deno KV one, on a real
 * store file; the NATS JetStream one of issue 17 joins the list).
 */

import assert from "node:assert/strict";
import type { JobQueue } from "./job_queue.ts";
import { KvJobQueue } from "./kv_job_queue.ts";

interface Implementation {
  name: string;
  open(): Promise<{ queue: JobQueue; close(): Promise<void> }>;
}

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "KvJobQueue",
    async open() {
      const dir = await Deno.makeTempDir();
      const kv = await Deno.openKv(`${dir}/queue.kv`);
      return {
        queue: new KvJobQueue(kv),
        async close() {
          kv.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    },
  },
];

for (const impl of IMPLEMENTATIONS) {
  const test = (name: string, fn: (queue: JobQueue) => Promise<void>) =>
    Deno.test(`${impl.name}: ${name}`, async () => {
      const { queue, close } = await impl.open();
      try {
        await fn(queue);
      } finally {
        await close();
      }
    });

  test("enqueue is idempotent by submission and attempt", async (q) => {
    const a = await q.enqueue("s1", 1);
    const again = await q.enqueue("s1", 1);
    assert.deepEqual(again, a);
    await q.enqueue("s1", 2);
    assert.deepEqual((await q.list()).map((j) => j.id), ["s1#1", "s1#2"]);
    assert.equal(a.state, "queued");
  });

  test("claim hands out the oldest waiting job, once", async (q) => {
    for (const id of ["a", "b", "c"]) await q.enqueue(id, 1);
    const first = await q.claim("w1", 10_000);
    assert.equal(first?.id, "a#1");
    assert.equal(first?.state, "running");
    assert.equal(first?.claims, 1);
    // Workers racing: every job to one of them.
    const raced = await Promise.all(
      ["w2", "w3", "w4", "w5"].map((w) => q.claim(w, 10_000)),
    );
    const got = raced.filter((j) => j !== undefined).map((j) => j!.id).sort();
    assert.deepEqual(got, ["b#1", "c#1"]);
    assert.equal(await q.claim("w6", 10_000), undefined);
  });

  test("heartbeat keeps progress and run ids for the holder only", async (q) => {
    await q.enqueue("s", 1);
    await q.claim("w1", 10_000);
    const progress = {
      scenario: 0,
      scenarios: 2,
      label: "x",
      t: 60,
      duration: 1800,
      stepsPerSecond: 100,
    };
    assert.ok(
      await q.heartbeat("s#1", "w1", {
        leaseMs: 10_000,
        progress,
        runIds: ["r1"],
      }),
    );
    assert.equal(
      await q.heartbeat("s#1", "intruder", { leaseMs: 10_000 }),
      false,
    );
    const job = await q.get("s#1");
    assert.deepEqual(job?.progress, progress);
    assert.deepEqual(job?.runIds, ["r1"]);
  });

  test("complete and fail count only for the holder", async (q) => {
    await q.enqueue("s", 1);
    await q.enqueue("t", 1);
    await q.claim("w1", 10_000);
    await q.claim("w2", 10_000);
    assert.equal(await q.complete("s#1", "w2"), false);
    assert.ok(await q.complete("s#1", "w1"));
    assert.equal(await q.complete("s#1", "w1"), false);
    assert.ok(await q.fail("t#1", "w2", "harness error"));
    assert.equal((await q.get("s#1"))?.state, "done");
    assert.equal((await q.get("t#1"))?.error, "harness error");
    assert.deepEqual(
      (await q.list({ state: "failed" })).map((j) => j.id),
      ["t#1"],
    );
  });

  test("cancel: a waiting job is never claimed; a running one's holder learns at its heartbeat", async (q) => {
    await q.enqueue("a", 1);
    await q.enqueue("b", 1);
    assert.ok(await q.cancel("b#1"));
    const running = await q.claim("w1", 10_000);
    assert.equal(running?.id, "a#1");
    assert.equal(await q.claim("w2", 10_000), undefined);
    assert.ok(await q.cancel("a#1"));
    assert.equal(await q.heartbeat("a#1", "w1", { leaseMs: 10_000 }), false);
    assert.equal(await q.complete("a#1", "w1"), false);
    assert.equal(await q.cancel("a#1"), false);
    assert.equal((await q.get("a#1"))?.state, "cancelled");
  });

  test("requeueRunning puts back expired leases (or all after a restart), run ids kept, claimed again", async (q) => {
    await q.enqueue("a", 1);
    await q.enqueue("b", 1);
    await q.claim("w1", 1_000);
    await q.claim("w2", 1_000_000);
    await q.heartbeat("a#1", "w1", { leaseMs: 1_000, runIds: ["partial"] });
    const expired = await q.requeueRunning({ now: Date.now() + 10_000 });
    assert.deepEqual(expired.map((j) => j.id), ["a#1"]);
    assert.equal(await q.heartbeat("a#1", "w1", { leaseMs: 1_000 }), false);
    const again = await q.claim("w3", 10_000);
    assert.equal(again?.id, "a#1");
    assert.equal(again?.claims, 2);
    assert.deepEqual(again?.runIds, ["partial"]);
    const all = await q.requeueRunning({ all: true });
    assert.deepEqual(all.map((j) => j.id).sort(), ["a#1", "b#1"]);
    assert.equal((await q.list({ state: "queued" })).length, 2);
  });
}
