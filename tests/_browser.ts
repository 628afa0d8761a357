/**
 * A real browser for web tests: Debian's Chromium driven by playwright-core, headless, with the flags this machine
 * needs. Screenshots go to `docs/screenshots/` (shown in the README).
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";
import { hasCommand, ignoreWithout } from "./_peers.ts";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** `ignore` for browser tests: true when Chromium is missing and peers are not required (see `_peers.ts`). */
export function ignoreWithoutChromium(): boolean {
  return ignoreWithout(hasCommand(CHROMIUM, ["--version"]), "chromium");
}

/**
 * Launches headless Chromium; close it with `await browser.close()`. Playwright gives it a throwaway profile of its
 * own (it refuses a `--user-data-dir` flag on `launch`).
 */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The folder the browser tests save screenshots in. */
export const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url);

/** A phone's screen, in CSS pixels (a common Android size). */
export const PHONE = { width: 360, height: 780 };

/**
 * What does not fit a narrow screen on the page shown: the page's own sideways overflow, and every element of `main`
 * (outside a scrolling table) whose right edge is past the screen's. Empty when everything fits.
 */
export async function phoneMisfits(page: Page): Promise<string[]> {
  // Let a resized page lay itself out and its charts follow their "resize" handlers.
  await page.evaluate(() =>
    new Promise((resolve) =>
      requestAnimationFrame(() => requestAnimationFrame(resolve))
    )
  );
  return await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const problems: string[] = [];
    const overflow = document.documentElement.scrollWidth - width;
    if (overflow > 0) problems.push(`the page scrolls ${overflow} px sideways`);
    for (const element of document.querySelectorAll("main *")) {
      if (element.closest(".table-scroll, .visually-hidden")) continue;
      const right = element.getBoundingClientRect().right;
      if (right > width + 1) {
        problems.push(
          `<${element.tagName.toLowerCase()} class="${element.className}"> ends at ${
            Math.round(right)
          } px`,
        );
      }
    }
    return problems.slice(0, 10);
  });
}
