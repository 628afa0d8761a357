/**
 * The live page in a real browser, beside a running simulation (in-process broker and tank, advanced at 600× real
 * time, recorded into a data store as `deno task sim --web` does): readings change as the tank publishes; a range
 * typed into the page reaches MQTT and the tank; a bad range is refused in the page and nothing is published; the
 * chart's longer window comes from the recording; a tank started after the page loaded gets its card; on a phone the
 * page fits the screen.
 */

import assert from "node:assert/strict";
import { loadScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { runLive, TankNode } from "../harness/live/mod.ts";
import { startWeb } from "../web/mod.ts";
import { RunStore } from "../store/mod.ts";
import { recordBroker } from "../harness/record/mod.ts";
import { chromium } from "playwright-core";
import {
  CHROMIUM,
  ignoreWithoutChromium,
  PHONE,
  phoneMisfits,
  SCREENSHOTS,
} from "./_browser.ts";
import { eventually, recorder } from "./_processes.ts";

Deno.test({
  name:
    "live page: changing readings, a range edited in the page reaches the tank, a bad range is refused",
  ignore: ignoreWithoutChromium(),
  async fn() {
    const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
    const bus = new AedesBus(broker.aedes);
    const tank = await TankNode.start({
      bus,
      scenario: await loadScenario("steady-day"),
      tank: "tank1",
      speed: 600,
    });
    const stop = new AbortController();
    const running = runLive([tank], { speed: 600, signal: stop.signal });
    const store = await RunStore.open(":memory:");
    const stopRecording = new AbortController();
    let recordingId = "";
    const recording = recordBroker(store, {
      broker: broker.url,
      root: "fishtank",
      tank: null,
      db: ":memory:",
    }, {
      signal: stopRecording.signal,
      onStart: (runId) => recordingId = runId,
    });
    await eventually(() => recordingId !== "", 5000, "the recording to start");
    const web = await startWeb({
      store,
      broker: { url: broker.url, root: "fishtank" },
      port: 0,
    });
    let tank2: TankNode | undefined;
    const watcher = await recorder(broker.url, [
      "fishtank/tank1/ranges/temperature",
    ]);
    // A persistent context: `launchBrowser()` passes --user-data-dir to launch(), which playwright refuses.
    const profile = await Deno.makeTempDir({ prefix: "fishtank-chromium-" });
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
      viewport: { width: 1200, height: 900 },
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(web.url);
      const card = page.locator('article[data-tank="tank1"]');
      const simTime = card.locator('[data-field="sim-time"]');
      const first = await simTime.textContent();
      assert.match(first ?? "", /t = /);
      // The island takes over from the server's snapshot and follows the tank.
      await page.waitForFunction(
        (before) =>
          document.querySelector('[data-tank="tank1"] [data-field="sim-time"]')
            ?.textContent !== before,
        first,
        { timeout: 10_000 },
      );
      const changed = await simTime.textContent();
      assert.notEqual(changed, first);
      await card.locator(".uplot canvas").first().waitFor({ timeout: 10_000 });

      await card.locator("summary", { hasText: "Change a range" }).click();
      const form = card.locator('form[data-range="temperature"]');
      const published = () => watcher.messages.length;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the retained range arrives first
      const before = published();

      // min ≥ max: refused in the page, nothing sent.
      await form.locator('input[name="min"]').fill("27");
      await form.locator('input[name="max"]').fill("26");
      await form.locator('button[type="submit"]').click();
      const message = form.locator('[data-field="message"]');
      await page.waitForFunction(
        () =>
          document.querySelector(
            'form[data-range="temperature"] [data-field="message"]',
          )?.textContent?.includes("must be below"),
        null,
        { timeout: 5000 },
      );
      assert.match(
        (await message.textContent()) ?? "",
        /min \(27\) must be below max \(26\)/,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(published(), before, "nothing was published");

      // A good range: published retained, used by the tank, shown on the card.
      await form.locator('input[name="min"]').fill("23");
      await form.locator('input[name="max"]').fill("25.5");
      await form.locator('button[type="submit"]').click();
      await eventually(
        () =>
          watcher.messages.slice(before).find((m) =>
            m.text === '{"min":23,"max":25.5}'
          ),
        5000,
        "the range on MQTT",
      );
      await eventually(
        () => tank.ranges.get("temperature")?.max === 25.5,
        5000,
        "the tank to use the range",
      );
      assert.deepEqual(tank.ranges.get("temperature"), { min: 23, max: 25.5 });
      await page.waitForFunction(
        () =>
          document.querySelector(
            '[data-tank="tank1"] [data-measurement="temperature"] [data-field="range"]',
          )?.textContent === "23–25.5 °C",
        null,
        { timeout: 5000 },
      );

      // The longer window comes from the recording in the data store.
      await card.locator('[data-field="chart-span"]').selectOption("Infinity");
      await page.waitForFunction(
        (id) =>
          document.querySelector(
            '[data-tank="tank1"] [data-field="chart-source"]',
          )
            ?.textContent?.includes(`from the data store (run ${id})`),
        recordingId,
        { timeout: 10_000 },
      );
      const drawn = Number(
        await card.locator('[data-field="chart"]').getAttribute("data-points"),
      );
      assert.ok(drawn > 10, `${drawn} points drawn from the data store`);

      // A tank that starts after the page loaded gets a card without a reload.
      tank2 = await TankNode.start({
        bus,
        scenario: await loadScenario("cold-room"),
        tank: "tank2",
        speed: 600,
      });
      await page.locator('article[data-tank="tank2"]').waitFor({
        timeout: 10_000,
      });
      assert.deepEqual(errors, []);
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({
        path: new URL("live.png", SCREENSHOTS).pathname,
      });

      // A phone: everything fits the width (no sideways scrolling), and the edit form is still there.
      await page.setViewportSize(PHONE);
      await page.evaluate(() => scrollTo(0, 0));
      assert.deepEqual(await phoneMisfits(page), []);
      const sticking = await page.evaluate(() =>
        [...document.querySelectorAll("article[data-tank]")].flatMap((card) => {
          const right = card.getBoundingClientRect().right;
          return [
            card,
            ...card.querySelectorAll(
              ".table-scroll, form, .chart, table:not(.table-scroll table)",
            ),
          ]
            .filter((e) => e.getBoundingClientRect().right > right + 1)
            .map((e) => e.className || e.tagName);
        })
      );
      assert.deepEqual(sticking, [], "nothing sticks out of a card");
      await page.screenshot({
        path: new URL("live-phone.png", SCREENSHOTS).pathname,
      });
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
      await watcher.close();
      await web.close();
      stopRecording.abort();
      await recording;
      await store.close();
      await tank2?.stop();
      stop.abort();
      await running;
      await tank.stop();
      await bus.close();
      await broker.close();
    }
  },
});
