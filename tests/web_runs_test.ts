/**
 * The stored-runs pages in a real browser: the run report's uPlot charts hold the recorded data, its actuator lanes
 * show what was on, the leaderboard orders students by outcome, then score; screenshots for the README.
 */

import assert from "node:assert/strict";
import {
  ignoreWithoutChromium,
  launchBrowser,
  PHONE,
  phoneMisfits,
  SCREENSHOTS,
} from "./_browser.ts";
import type { Page } from "playwright-core";
import { startWeb } from "../web/mod.ts";
import {
  CRASH,
  SILENT,
  STARTER,
  storeWithRuns,
  THERMOSTAT,
} from "../web/testing.ts";
import type { RunSeries } from "../grader/mod.ts";

/** What the actuator chart of the report shown painted in each lane, read from its canvas. */
interface LaneInk {
  name: string;
  /** Fraction of the plot's columns with the lane's colour in its bottom row (the actuator on). */
  on: number;
  /** Tallest bar, as a fraction of the lane's height. */
  tallest: number;
  /** Pixels of the lane's colour outside its lane. */
  outside: number;
  top: number;
  bottom: number;
}

const LANE_COLOURS: Record<string, [number, number, number]> = {
  heater: [0xe8, 0x74, 0x3b],
  light: [0xe0, 0xb0, 0x00],
  pump: [0x3b, 0x7d, 0xdd],
  "top-up": [0x2c, 0xa2, 0x5f],
};

async function laneInk(page: Page): Promise<LaneInk[]> {
  return await page.evaluate((colours) => {
    const root = document.querySelector<HTMLElement>(
      '[data-plot="actuators"] .uplot',
    )!;
    const canvas = root.querySelector("canvas")!;
    const { left, width, lanes } = JSON.parse(root.dataset.lanes!) as {
      left: number;
      width: number;
      lanes: { name: string; top: number; bottom: number }[];
    };
    const pixels = canvas.getContext("2d")!.getImageData(
      0,
      0,
      canvas.width,
      canvas.height,
    ).data;
    const is = (x: number, y: number, [r, g, b]: number[]) => {
      const i = (y * canvas.width + x) * 4;
      return pixels[i + 3]! > 200 && Math.abs(pixels[i]! - r!) < 8 &&
        Math.abs(pixels[i + 1]! - g!) < 8 && Math.abs(pixels[i + 2]! - b!) < 8;
    };
    return lanes.map((lane) => {
      const colour = colours[lane.name]!;
      let on = 0;
      let tallest = 0;
      let outside = 0;
      for (let x = left + 1; x < left + width - 1; x++) {
        if (is(x, lane.bottom - 2, colour)) on++;
        for (let y = 0; y < canvas.height; y++) {
          if (!is(x, y, colour)) continue;
          if (y < lane.top || y > lane.bottom) outside++;
          else {
            tallest = Math.max(
              tallest,
              (lane.bottom - y) / (lane.bottom - lane.top),
            );
          }
        }
      }
      return {
        name: lane.name,
        on: on / (width - 2),
        tallest,
        outside,
        top: lane.top,
        bottom: lane.bottom,
      };
    });
  }, LANE_COLOURS);
}

/** Fraction of the run each actuator was on, and its highest level (1 = full), from the series the page drew. */
function onFractions(series: RunSeries): Record<string, [number, number]> {
  const a = series.actuators;
  const lanes = {
    heater: a.heater.map((v) => v / 100),
    light: a.light,
    pump: a.pump,
    "top-up": a.topup,
  };
  return Object.fromEntries(
    Object.entries(lanes).map(([name, values]) => {
      let on = 0;
      for (let i = 0; i < a.t.length; i++) {
        if (values[i]! > 0) on += (a.t[i + 1] ?? series.to) - a.t[i]!;
      }
      return [
        name,
        [on / (series.to - series.from), Math.max(0, ...values)],
      ];
    }),
  );
}

/** Opens a run's report, waits for its charts, and checks its actuator lanes against its series; returns the ink. */
async function checkLanes(
  page: Page,
  url: string,
  runId: string,
): Promise<LaneInk[]> {
  await page.goto(`${url}/runs/${runId}`);
  await page.waitForSelector('.run-charts[data-drawn="true"]', {
    timeout: 15_000,
  });
  await page.waitForSelector('[data-plot="actuators"] .uplot[data-lanes]');
  const source = await page.locator(".run-charts").getAttribute(
    "data-source",
  );
  const series = await (await fetch(`${url}${source}`)).json() as RunSeries;
  const expected = onFractions(series);
  const ink = await laneInk(page);
  assert.deepEqual(ink.map((l) => l.name), Object.keys(LANE_COLOURS));
  for (let i = 0; i < ink.length; i++) {
    const lane = ink[i]!;
    const [on, level] = expected[lane.name]!;
    // Lanes are stacked apart, and each colour stays in its own lane.
    if (i > 0) assert.ok(lane.top > ink[i - 1]!.bottom, `${lane.name} lane`);
    assert.equal(lane.outside, 0, `${lane.name} painted outside its lane`);
    assert.ok(
      Math.abs(lane.on - on) < 0.03,
      `${lane.name}: drawn on ${lane.on.toFixed(3)} of the run, was on ${
        on.toFixed(3)
      }`,
    );
    assert.ok(
      Math.abs(lane.tallest - level) < 0.1,
      `${lane.name}: tallest bar ${lane.tallest.toFixed(2)}, level ${level}`,
    );
  }
  return ink;
}

Deno.test({
  name:
    "the run report draws the recorded series with uPlot and one actuator lane each, the leaderboard ranks by outcome then score (screenshots saved)",
  ignore: ignoreWithoutChromium(),
  async fn() {
    const fixture = await storeWithRuns([
      { student: "ada", controller: THERMOSTAT, group: "3b" },
      { student: "bob", controller: STARTER, group: "3b" },
      { student: "cy", controller: CRASH, group: "3b" },
      { student: "dee", controller: SILENT, connectTimeoutMs: 1_000 },
    ]);
    const web = await startWeb({ store: fixture.store, port: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({
        viewport: { width: 1200, height: 900 },
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const [ada, bob, cy, dee] = fixture.grades;

      // A controller that never connected left every actuator off: four empty lanes.
      const idle = await checkLanes(page, web.url, dee!.runId);
      assert.deepEqual(idle.map((l) => [l.name, l.on, l.tallest]), [
        ["heater", 0, 0],
        ["light", 0, 0],
        ["pump", 0, 0],
        ["top-up", 0, 0],
      ]);
      // The thermostat switched its heater: part of the heater lane is filled, at full power.
      const ink = await checkLanes(page, web.url, ada!.runId);
      const heater = ink.find((l) => l.name === "heater")!;
      assert.ok(heater.on > 0.05 && heater.on < 0.95, `heater ${heater.on}`);
      // No empty "time: – … --" legend under the charts; the pointer on a chart shows its values over it.
      const legend = page.locator(".run-charts .u-legend").first();
      assert.equal(await legend.isVisible(), false, "legend hidden at rest");
      const over = page.locator(".run-charts .u-over").first();
      await over.hover(); // scrolled into view, the pointer in its middle
      await page.waitForFunction(
        () => {
          const l = document.querySelector<HTMLElement>(
            ".run-charts .u-legend",
          );
          return l !== null && l.offsetParent !== null &&
            /\d:\d\d/.test(l.textContent ?? "") &&
            /\d\.\d/.test(l.textContent ?? "");
        },
        undefined,
        { timeout: 10_000 },
      );
      await page.mouse.move(0, 0);

      const charts = page.locator(".run-charts");
      const canvases = await page.locator(".run-charts canvas").count();
      const source = await charts.getAttribute("data-source");
      const drawn = JSON.parse((await charts.getAttribute("data-points"))!);
      const api = await (await fetch(`${web.url}${source}`)).json();
      assert.ok(
        canvases >= api.measurements.length + 1,
        `${canvases} canvases`,
      );
      for (const m of api.measurements) {
        assert.equal(drawn[m.name], m.t.length, m.name);
        assert.ok(m.t.length > 100, `${m.name}: ${m.t.length} points`);
      }
      // uPlot painted something: the temperature canvas is not blank.
      const painted = await page.evaluate(() => {
        const canvas = document.querySelector<HTMLCanvasElement>(
          ".run-charts canvas",
        )!;
        const pixels = canvas.getContext("2d")!.getImageData(
          0,
          0,
          canvas.width,
          canvas.height,
        ).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) inked++;
        return inked;
      });
      assert.ok(painted > 1000, `${painted} pixels drawn`);
      assert.equal(
        await page.locator(".line-svg").count(),
        0,
        "the SVG fallback gives way to uPlot",
      );
      await page.evaluate(() =>
        document.querySelector('[data-plot="actuators"]')!.scrollIntoView({
          block: "end",
        })
      );
      await page.screenshot({
        path: new URL("run-report.png", SCREENSHOTS).pathname,
        fullPage: false,
      });

      await page.goto(`${web.url}/runs`);
      assert.equal(await page.locator("tbody tr").count(), 4);
      await page.screenshot({
        path: new URL("runs.png", SCREENSHOTS).pathname,
      });

      await page.goto(`${web.url}/leaderboard`);
      // Completed runs first (passing before failing), then the runs that did not complete, whatever their scores.
      const rank = (g: typeof ada) =>
        (g!.outcome === "completed" ? 2 : 0) + (g!.pass ? 1 : 0);
      const expected = [ada!, bob!, cy!, dee!]
        .sort((a, b) =>
          rank(b) - rank(a) || b.score - a.score ||
          a.student.localeCompare(b.student)
        )
        .map((g) => g.student);
      const board = page.locator('table[data-board^="short-day@"]');
      assert.deepEqual(
        await board.locator("td[data-student]").allTextContents(),
        expected,
      );
      assert.deepEqual(
        await board.locator("tbody tr").evaluateAll((rows) =>
          rows.map((row) => row.getAttribute("data-outcome"))
        ),
        expected.map((student) =>
          fixture.grades.find((g) => g.student === student)!.outcome
        ),
      );
      await page.screenshot({
        path: new URL("leaderboard.png", SCREENSHOTS).pathname,
      });

      // On a phone every page fits the width (wide tables scroll inside their box).
      await page.setViewportSize(PHONE);
      for (
        const path of [
          `/runs/${ada!.runId}`,
          "/runs",
          "/leaderboard",
          `/runs/${ada!.runId}/replay`,
        ]
      ) {
        await page.goto(web.url + path);
        if (path === `/runs/${ada!.runId}`) {
          await page.waitForSelector('.run-charts[data-drawn="true"]');
          // The score table fits without scrolling: every percentage in view.
          assert.equal(
            await page.locator('[data-table="components"]').evaluate((box) =>
              box.scrollWidth - box.clientWidth
            ),
            0,
            "the score components table scrolls sideways on a phone",
          );
          await page.screenshot({
            path: new URL("run-report-phone.png", SCREENSHOTS).pathname,
          });
        }
        assert.deepEqual(await phoneMisfits(page), [], path);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await web.close();
      await fixture.close();
    }
  },
});
