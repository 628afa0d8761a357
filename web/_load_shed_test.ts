import assert from "node:assert/strict";
import { Hono } from "hono";
import { LoadShedder } from "./_load_shed.ts";

Deno.test("LoadShedder admits `concurrency` at once, queues `queue` more in order, refuses the rest at once", async () => {
  const shed = new LoadShedder({ concurrency: 2, queue: 1, maxWaitMs: 10_000 });
  assert.equal(await shed.enter(), true);
  assert.equal(await shed.enter(), true);
  const queued = shed.enter();
  assert.equal(shed.waiting, 1);
  assert.equal(await shed.enter(), false, "queue full: refused at once");
  assert.equal(shed.refused, 1);
  shed.leave();
  assert.equal(await queued, true, "the freed slot passes to the queued one");
  assert.equal(shed.running, 2);
  shed.leave();
  shed.leave();
  assert.equal(shed.running, 0);
});

Deno.test("LoadShedder refuses a request that waited maxWaitMs for a slot", async () => {
  const shed = new LoadShedder({ concurrency: 1, queue: 4, maxWaitMs: 20 });
  assert.equal(await shed.enter(), true);
  assert.equal(await shed.enter(), false);
  assert.equal(shed.waiting, 0);
  shed.leave();
  assert.equal(shed.running, 0);
});

Deno.test("LoadShedder rejects options that are not whole numbers from 1 (RangeError naming the option)", () => {
  assert.throws(
    () => new LoadShedder({ concurrency: 0 }),
    /concurrency: expected/,
  );
  assert.throws(() => new LoadShedder({ queue: -1 }), /queue: expected/);
  assert.throws(() => new LoadShedder({ retryAfter: 0.5 }), /retryAfter:/);
});

Deno.test("the load-shedding middleware answers 503 with Retry-After (JSON {error} under /api/, text elsewhere) and takes one slot per request", async () => {
  const shed = new LoadShedder({ concurrency: 1, queue: 0, retryAfter: 3 });
  const app = new Hono();
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  app.use("/api/slow/*", shed.middleware());
  app.use("/api/slow/:id", shed.middleware());
  app.get("/api/slow/:id", async (c) => {
    await held;
    return c.text("done");
  });
  app.use("/page", shed.middleware());
  app.get("/page", (c) => c.text("page"));
  const slow = app.request("/api/slow/1");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(shed.running, 1, "two matching middlewares, one slot");
  const api = await app.request("/api/slow/2");
  assert.equal(api.status, 503);
  assert.equal(api.headers.get("retry-after"), "3");
  assert.match((await api.json()).error, /Busy: .*try again in 3 s/);
  const page = await app.request("/page");
  assert.equal(page.status, 503);
  assert.equal(page.headers.get("retry-after"), "3");
  assert.match(await page.text(), /try again in 3 s/);
  release();
  assert.equal(await (await slow).text(), "done");
  assert.equal(shed.running, 0);
  assert.equal((await app.request("/page")).status, 200);
});
