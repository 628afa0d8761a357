/**
 * The replay page and its tank-state API on a real run (the short scenario), through `app.request`.
 */

import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { ROUTES } from "./main.ts";
import { storeWithRuns, THERMOSTAT } from "./testing.ts";
import { lastBatch } from "../store/testing.ts";
import { formatReading } from "./live_view.ts";
import { frameFromStart, ReplayIndex } from "./replay_state.ts";

Deno.test("the replay page renders a run at t = 0 or ?t=, its API gives the tank at any time, unknown runs get 404", async (t) => {
  const fixture = await storeWithRuns([
    { student: "ada", controller: THERMOSTAT },
  ]);
  try {
    const store = fixture.store;
    const app = await createApp({ store, islands: new Map() }, [...ROUTES]);
    const id = fixture.grades[0]!.runId;
    const meta = (await store.getRun(id))!;
    const middle = Math.round(meta.simulated / 2);

    await t.step(
      "GET /runs/:id/replay renders the card, controls, charts and log at t = 0",
      async () => {
        const response = await app.request(`/runs/${id}/replay`);
        assert.equal(response.status, 200);
        const html = await response.text();
        assert.match(html, /data-island="Replay"/);
        assert.match(html, /<script type="module" src="\/islands\/Replay.js">/);
        assert.match(html, /type="range"[^>]*name="t"/);
        assert.match(html, /aria-pressed="false"[^>]*>▶ Play/);
        assert.match(html, /Simulated time/);
        assert.match(html, /data-field="sim-time"/);
        assert.match(html, /Messages around this time/);
        assert.match(html, /class="line-svg"/, "the charts' SVG first paint");
        const batch = await lastBatch(store, id, 0);
        assert.match(
          html,
          new RegExp(formatReading("temperature", batch.temperature)),
        );
      },
    );

    await t.step("?t= renders the tank as recorded at that time", async () => {
      const html = await (await app.request(`/runs/${id}/replay?t=${middle}`))
        .text();
      const batch = await lastBatch(store, id, middle);
      assert.match(
        html,
        new RegExp(formatReading("temperature", batch.temperature)),
      );
      assert.match(html, new RegExp(batch.time.slice(11, 19)));
    });

    await t.step(
      "GET /api/runs/:id/replay?t= gives the last batch at t, as the index and a full fold agree",
      async () => {
        const response = await app.request(
          `/api/runs/${id}/replay?t=${middle}`,
        );
        assert.equal(response.status, 200);
        const body = await response.json();
        const batch = await lastBatch(store, id, middle);
        assert.equal(body.t, middle);
        assert.equal(body.view.tank, meta.tank);
        assert.equal(body.view.readings.temperature.value, batch.temperature);
        assert.equal(body.view.sim.t, batch.t);
        assert.ok(body.view.ranges.temperature, "the retained range is known");
        assert.ok(body.view.actuators, "the applied actuators are known");
        const index = await ReplayIndex.build(store, meta);
        for (const at of [0, 1, middle, meta.simulated - 7, meta.simulated]) {
          assert.deepEqual(
            await index.frameAt(at),
            await frameFromStart(store, meta, at),
            `t = ${at}`,
          );
        }
      },
    );

    await t.step(
      "unknown runs and bad times get a 4xx page or {error}, not a 500",
      async () => {
        const page = await app.request("/runs/nope/replay");
        assert.equal(page.status, 404);
        assert.match(await page.text(), /no run &quot;nope&quot;/);
        const api = await app.request("/api/runs/nope/replay?t=5");
        assert.equal(api.status, 404);
        assert.match((await api.json()).error, /no run "nope"/);
        const bad = await app.request(`/api/runs/${id}/replay?t=soon`);
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error, /^t: expected a number/);
        assert.equal(
          (await app.request(`/runs/${id}/replay?t=-1`)).status,
          400,
        );
      },
    );
  } finally {
    await fixture.close();
  }
});

Deno.test("LOG_KINDS lists every record kind but truth, in the store's order", async () => {
  const { LOG_KINDS } = await import("./replay_view.ts");
  const { RECORD_KINDS } = await import("../store/mod.ts");
  assert.deepEqual(LOG_KINDS, RECORD_KINDS.filter((kind) => kind !== "truth"));
});

Deno.test("the browser islands bundle without Deno APIs: nothing server-side is pulled in through a mod.ts", async () => {
  const { buildIslands } = await import("./islands/_build.ts");
  const bundles = await buildIslands();
  assert.ok(bundles.size >= 4, `${bundles.size} islands`);
  for (const [name, source] of bundles) {
    assert.doesNotMatch(
      source,
      /\bDeno\.(openKv|Command|listen|readFile)/,
      `island ${name} carries server code`,
    );
  }
});
