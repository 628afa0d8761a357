/**
 * A real browser for web tests: Debian's Chromium driven by playwright-core, headless, with the flags this machine
 * needs. Screenshots go to `docs/screenshots/` (shown in the README).
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
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
