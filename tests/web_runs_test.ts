/**
 * The stored-runs pages in a real browser: the run report's uPlot charts hold the recorded data, the leaderboard
 * orders students by score; screenshots for the README.
 */

import assert from "node:assert/strict";
import {
  ignoreWithoutChromium,
  launchBrowser,
  PHONE,
  phoneMisfits,
  SCREENSHOTS,
} from "./_browser.ts";
import { startWeb } from "../web/mod.ts";
import { STARTER, storeWithRuns, THERMOSTAT } from "../web/testing.ts";

Deno.test({
  name:
    "the run report draws the recorded series with uPlot, the leaderboard ranks by score (screenshots saved)",
  ignore: ignoreWithoutChromium(),
  async fn() {
    const fixture = await storeWithRuns([
      { student: "ada", controller: THERMOSTAT, group: "3b" },
      { student: "bob", controller: STARTER, group: "3b" },
    ]);
    const web = await startWeb({ store: fixture.store, port: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({
        viewport: { width: 1200, height: 900 },
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const [ada, bob] = fixture.grades;

      await page.goto(`${web.url}/runs/${ada!.runId}`);
      const charts = page.locator(".run-charts");
      await page.waitForSelector('.run-charts[data-drawn="true"]', {
        timeout: 15_000,
      });
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
        document.querySelector("#charts-heading")!.scrollIntoView()
      );
      await page.screenshot({
        path: new URL("run-report.png", SCREENSHOTS).pathname,
        fullPage: false,
      });

      await page.goto(`${web.url}/runs`);
      assert.equal(await page.locator("tbody tr").count(), 2);
      await page.screenshot({
        path: new URL("runs.png", SCREENSHOTS).pathname,
      });

      await page.goto(`${web.url}/leaderboard`);
      const students = await page.locator(
        'table[data-board="overall"] td[data-student]',
      ).allTextContents();
      const expected = [ada!, bob!].sort((a, b) => b.score - a.score).map((g) =>
        g.student
      );
      assert.deepEqual(students, expected);
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
