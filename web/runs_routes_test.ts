/**
 * The runs pages and API on real runs (the short scenario, two students), through `app.request`.
 */

import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { SENSOR_NAMES } from "../sim/mod.ts";
import { ROUTES } from "./main.ts";
import { STARTER, storeWithRuns, THERMOSTAT } from "./testing.ts";
import {
  DIGEST_ATTACHMENT,
  gradeStoredRun,
  storedDigest,
} from "../harness/grading/mod.ts";
import { readTruth, runSeries } from "../grader/mod.ts";

Deno.test("the runs pages and API answer on real runs, and bad requests get a 4xx naming the parameter", async (t) => {
  const fixture = await storeWithRuns([
    { student: "ada", controller: THERMOSTAT, group: "3b" },
    { student: "bob", controller: STARTER },
  ]);
  try {
    const app = await createApp({ store: fixture.store, islands: new Map() }, [
      ...ROUTES,
    ]);
    const [ada, bob] = fixture.grades;
    const id = ada!.runId;
    const get = async (path: string) => {
      const response = await app.request(path);
      return {
        status: response.status,
        text: await response.text(),
        type: response.headers.get("content-type") ?? "",
      };
    };
    const json = async (path: string) => {
      const response = await get(path);
      assert.match(response.type, /json/, path);
      return { status: response.status, body: JSON.parse(response.text) };
    };

    await t.step(
      "GET /api/runs lists both runs newest first, filters by student, outcome and class",
      async () => {
        const all = await json("/api/runs");
        assert.equal(all.status, 200);
        assert.deepEqual(
          all.body.runs.map((r: { student: string }) => r.student),
          ["bob", "ada"],
        );
        const first = all.body.runs[1];
        assert.equal(first.id, id);
        assert.equal(first.scenario, "short-day");
        assert.equal(first.score, ada!.score);
        assert.equal(first.pass, ada!.pass);
        assert.equal(first.outcome, "completed");
        assert.equal((await json("/api/runs?student=ada")).body.runs.length, 1);
        assert.equal((await json("/api/runs?group=3b")).body.runs.length, 1);
        assert.equal(
          (await json("/api/runs?outcome=crashed")).body.runs.length,
          0,
        );
        assert.equal((await json("/api/runs?limit=1")).body.runs.length, 1);
      },
    );

    await t.step("GET /api/runs/:id gives the meta and the grade", async () => {
      const { status, body } = await json(`/api/runs/${id}`);
      assert.equal(status, 200);
      assert.equal(body.meta.runId, id);
      assert.equal(body.meta.scenario.source, undefined);
      assert.equal(body.grade.score, ada!.score);
      assert.ok(body.grade.components.length > 0);
      assert.equal(body.scenarioStart, Date.parse("2026-03-10T05:00:00Z"));
    });

    await t.step(
      "GET /api/runs/:id/series gives every ranged measurement over the run, windowed and reduced",
      async () => {
        const { body } = await json(`/api/runs/${id}/series`);
        const names = body.measurements.map((m: { name: string }) => m.name);
        assert.ok(
          names.every((n: string) =>
            (SENSOR_NAMES as readonly string[]).includes(n)
          ),
        );
        const temperature = body.measurements[0];
        assert.equal(temperature.name, "temperature");
        assert.equal(temperature.t.length, temperature.value.length);
        assert.ok(temperature.t.length <= 1000);
        assert.equal(body.from, 0);
        assert.equal(body.to, 21_600);
        assert.ok(temperature.min.every((v: number | null) => v === 24));
        assert.ok(body.actuators.t.length > 2);
        const window = (await json(
          `/api/runs/${id}/series?names=ph,level&from=3600&to=7200&points=50`,
        )).body;
        assert.deepEqual(
          window.measurements.map((m: { name: string }) => m.name),
          ["ph", "level"],
        );
        assert.ok(window.measurements[0].t.length <= 50);
        assert.ok(
          window.measurements[0].t.every((s: number) => s >= 3600 && s <= 7200),
        );
        const full =
          (await json(`/api/runs/${id}/series?names=temperature&points=20000`))
            .body;
        assert.equal(
          full.measurements[0].t.length,
          full.measurements[0].samples,
        );
      },
    );

    await t.step(
      "charts come from the digest stored when the run ended, or from the records in a zoom; both keep the peaks",
      async () => {
        const digest = await storedDigest(fixture.store, id);
        assert.ok(digest, "gradeScenario stored a digest");
        assert.deepEqual(
          digest.grade,
          await gradeStoredRun(fixture.store, id),
          "the stored grade is the rescored grade",
        );
        const truth = await readTruth(fixture.store.messages(id));
        const exact = runSeries(truth, { names: ["temperature"] });
        const peak = (values: number[]) => [
          Math.min(...values),
          Math.max(...values),
        ];
        const coarse = (await json(
          `/api/runs/${id}/series?names=temperature&points=300`,
        )).body.measurements[0];
        assert.ok(coarse.t.length <= 300);
        assert.deepEqual(
          peak(coarse.value),
          peak(exact.measurements[0]!.value),
        );
        const zoom = { from: 3600, to: 5400, points: 5000 };
        const zoomed = (await json(
          `/api/runs/${id}/series?names=temperature&from=3600&to=5400&points=5000`,
        )).body;
        const expected = runSeries(truth, { names: ["temperature"], ...zoom });
        assert.deepEqual(zoomed.measurements, expected.measurements);
        assert.deepEqual(zoomed.actuators, expected.actuators);
        // A run stored without a digest gets one made, and stored, by its first report.
        const other = bob!.runId;
        assert.equal(
          await fixture.store.deleteAttachment(other, DIGEST_ATTACHMENT),
          true,
        );
        assert.equal(await storedDigest(fixture.store, other), null);
        assert.equal((await get(`/runs/${other}`)).status, 200);
        assert.deepEqual(
          (await storedDigest(fixture.store, other))?.grade,
          await gradeStoredRun(fixture.store, other),
        );
      },
    );

    await t.step(
      "GET /api/runs/:id/messages filters by topic or MQTT filter and jumps to a time",
      async () => {
        const control =
          (await json(`/api/runs/${id}/messages?topic=control/heater&limit=2`))
            .body;
        assert.equal(control.records.length, 2);
        assert.ok(
          control.records.every((r: { topic: string }) =>
            r.topic.includes("control/heater")
          ),
        );
        assert.equal(typeof control.next, "number");
        const next = (await json(
          `/api/runs/${id}/messages?topic=control/heater&limit=2&seq=${control.next}`,
        )).body;
        assert.ok(next.records[0].seq === control.next);
        const filtered = (await json(
          `/api/runs/${id}/messages?topic=%2B/%2B/sensors/%23&limit=3`,
        )).body;
        assert.ok(
          filtered.records.every((r: { topic: string }) =>
            /^[^/]+\/[^/]+\/sensors\//.test(r.topic)
          ),
        );
        const later =
          (await json(`/api/runs/${id}/messages?from=3600&limit=3`)).body;
        assert.equal(later.records[0].t, 3600);
        const truth =
          (await json(`/api/runs/${id}/messages?kind=truth&limit=1`)).body;
        assert.equal(truth.records[0].kind, "truth");
        assert.equal(truth.records[0].encoding, "utf8");
        assert.equal(JSON.parse(truth.records[0].payload).t, 0);
      },
    );

    await t.step(
      "bad API requests get 4xx JSON errors naming the parameter, never 500",
      async () => {
        for (
          const [path, status, parameter] of [
            ["/api/runs/nope", 404, "run"],
            ["/api/runs/nope/series", 404, "run"],
            ["/api/runs/nope/messages", 404, "run"],
            [`/api/runs/${id}/series?points=abc`, 400, "points"],
            [`/api/runs/${id}/series?points=1000000`, 400, "points"],
            [`/api/runs/${id}/series?names=temperature,fish`, 400, "names"],
            [`/api/runs/${id}/series?from=600&to=60`, 400, "from"],
            [`/api/runs/${id}/series?from=-1`, 400, "from"],
            [`/api/runs/${id}/messages?limit=0`, 400, "limit"],
            [`/api/runs/${id}/messages?from=soon`, 400, "from"],
            [`/api/runs/${id}/messages?kind=gossip`, 400, "kind"],
            ["/api/runs?outcome=won", 400, "outcome"],
            ["/api/runs?limit=x", 400, "limit"],
          ] as const
        ) {
          const response = await json(path);
          assert.equal(response.status, status, path);
          assert.match(
            response.body.error,
            new RegExp(`^${parameter}: `),
            path,
          );
        }
      },
    );

    await t.step(
      "/runs lists the runs with links to their reports, filtered by a GET form",
      async () => {
        const page = await get("/runs");
        assert.equal(page.status, 200);
        assert.match(page.type, /html/);
        assert.ok(page.text.startsWith("<!doctype html>"));
        assert.ok(page.text.includes(`href="/runs/${id}"`));
        assert.ok(page.text.includes(`href="/runs/${bob!.runId}"`));
        assert.match(page.text, /<form[^>]*method="get"/);
        const filtered = await get("/runs?student=bob");
        assert.ok(!filtered.text.includes(`href="/runs/${id}"`));
        assert.equal((await get("/runs?outcome=won")).status, 400);
        assert.equal((await get("/runs?limit=abc")).status, 400);
      },
    );

    await t.step(
      "/runs/:id shows the score card in words, SVG charts, the island and the message log",
      async () => {
        const page = await get(`/runs/${id}`);
        assert.equal(page.status, 200);
        assert.ok(page.text.includes(ada!.pass ? "✓ Pass" : "✗ Fail"));
        for (const component of ada!.components) {
          assert.ok(page.text.includes(component.detail));
        }
        assert.ok(page.text.includes('data-island="RunCharts"'));
        assert.ok(
          page.text.includes(
            '<script type="module" src="/islands/RunCharts.js">',
          ),
        );
        assert.match(page.text, /<svg class="line-svg"/);
        assert.ok(page.text.includes('id="log"'));
        const jumped = await get(
          `/runs/${id}?from=1:00&topic=sensors&kind=publish`,
        );
        assert.equal(jumped.status, 200);
        assert.ok(jumped.text.includes("+1:00:"));
        assert.equal((await get("/runs/nope")).status, 404);
        assert.equal((await get(`/runs/${id}?from=later`)).status, 400);
        assert.equal((await get(`/runs/${id}?limit=-4`)).status, 400);
      },
    );

    await t.step(
      "/leaderboard ranks the students by their best score, per scenario and overall, by class",
      async () => {
        const page = await get("/leaderboard");
        assert.equal(page.status, 200);
        const order = [ada!, bob!].sort((a, b) => b.score - a.score).map((g) =>
          g.student
        );
        const positions = order.map((student) =>
          page.text.indexOf(`data-student="${student}"`)
        );
        assert.ok(
          positions.every((p) => p > 0) && positions[0]! < positions[1]!,
          String(positions),
        );
        assert.ok(page.text.includes(`href="/runs/${id}"`));
        const classOnly = await get("/leaderboard?group=3b");
        assert.ok(classOnly.text.includes('data-student="ada"'));
        assert.ok(!classOnly.text.includes('data-student="bob"'));
      },
    );
  } finally {
    await fixture.close();
  }
});
