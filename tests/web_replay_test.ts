/**
 * The replay page in a real browser: moving the scrub bar to the middle of a real run moves the tank card to the
 * readings recorded then, the charts get a cursor and the keyboard plays and pauses; screenshot for the README.
 */

import assert from "node:assert/strict";
import {
  ignoreWithoutChromium,
  launchBrowser,
  SCREENSHOTS,
} from "./_browser.ts";
import { formatReading, startWeb } from "../web/mod.ts";
import { storeWithRuns, THERMOSTAT } from "../web/testing.ts";
import { lastBatch } from "../store/testing.ts";
import { formatDuration } from "../lib/mod.ts";

Deno.test({
  name:
    "the replay page follows its scrub bar: the tank card shows the recorded readings at that time (screenshot saved)",
  ignore: ignoreWithoutChromium(),
  async fn() {
    const fixture = await storeWithRuns([
      { student: "ada", controller: THERMOSTAT },
    ]);
    const web = await startWeb({ store: fixture.store, port: 0 });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({
        viewport: { width: 1280, height: 900 },
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const runId = fixture.grades[0]!.runId;
      const meta = (await fixture.store.getRun(runId))!;
      const card = page.locator(".replay .live-card");
      const simTime = card.locator('[data-field="sim-time"]');
      const temperature = card.locator(
        '[data-measurement="temperature"] [data-field="value"]',
      );

      await page.goto(`${web.url}/runs/${runId}/replay`);
      await page.waitForSelector('.run-charts[data-drawn="true"]', {
        timeout: 15_000,
      });
      const first = await lastBatch(fixture.store, runId, 0);
      assert.match(await simTime.textContent() ?? "", /t = 0\.0 s/);
      assert.equal(
        await page.locator('[data-field="connection"]').textContent(),
        "replay, paused",
        "the card says it is a replay, not a live connection",
      );
      assert.equal(
        await temperature.textContent(),
        formatReading("temperature", first.temperature),
      );
      // At 1280 px the card's readings table fits its card: no inner scrollbar, nothing clipped.
      assert.deepEqual(
        await card.locator(".table-scroll").evaluate((box) => ({
          scrolls: box.scrollWidth > box.clientWidth,
        })),
        { scrolls: false },
      );
      assert.doesNotMatch(
        await card.textContent() ?? "",
        /×0/,
        "a lockstep run's pace is said in words",
      );

      const slider = page.getByLabel("Simulated time");
      const step = Number(await slider.getAttribute("step"));
      const middle = Math.round(meta.simulated / 2 / step) * step;
      await slider.fill(String(middle));
      await page.waitForSelector(`.replay[data-frame-t="${middle}"]`, {
        timeout: 10_000,
      });
      const batch = await lastBatch(fixture.store, runId, middle);
      assert.equal(
        await temperature.textContent(),
        formatReading("temperature", batch.temperature),
      );
      const shown = await simTime.textContent() ?? "";
      assert.ok(shown.includes(`t = ${formatDuration(batch.t)}`), shown);
      assert.ok(shown.includes(batch.time.slice(11, 19)), shown);
      assert.ok(
        (await page.locator(".replay-log tr.replay-now").count()) === 1,
        "the log marks the current message",
      );
      assert.ok(
        (await page.locator(".u-over .replay-cursor").count()) >= 2,
        "every chart has a cursor",
      );

      // Keyboard: the arrow key steps one period, space plays and pauses.
      await slider.focus();
      await page.keyboard.press("ArrowRight");
      await page.waitForSelector(`.replay[data-t="${middle + step}"]`);
      await page.keyboard.press(" ");
      await page.waitForSelector('.replay[data-playing="true"]');
      await page.waitForFunction(
        (from) =>
          Number(document.querySelector<HTMLElement>(".replay")!.dataset.t) >
            from,
        middle + step,
      );
      await page.keyboard.press(" ");
      await page.waitForSelector('.replay[data-playing="false"]');

      await slider.fill(String(middle));
      await page.waitForSelector(`.replay[data-frame-t="${middle}"]`);
      await page.screenshot({
        path: new URL("replay.png", SCREENSHOTS).pathname,
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await web.close();
      await fixture.close();
    }
  },
});
