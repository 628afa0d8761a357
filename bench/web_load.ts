/**
 * The web under load in live mode: `deno task sim --web` in its own process (30×, four tanks, recording), 2,000
 * requests 100 at a time at the running run's report and replay pages and APIs, while an MQTT subscriber times the
 * readings and `/proc` gives the process's memory. The same burst as `tests/web_load_test.ts`.
 *
 * @module
 */

import {
  webLoad,
  type WebLoadOptions,
  type WebLoadResult,
} from "../tests/_web_load.ts";

/** The burst of `deno task bench`. */
export const BENCH_WEB_LOAD: WebLoadOptions = {
  speed: 30,
  tanks: 4,
  warmupMs: 30_000,
  requests: 2000,
  concurrency: 100,
  timeoutMs: 30_000,
};

/** Runs the burst and measures it. */
export function benchWebLoad(
  options: Partial<WebLoadOptions> = {},
): Promise<WebLoadResult> {
  return webLoad({ ...BENCH_WEB_LOAD, ...options });
}

if (import.meta.main) {
  const { gapsMs: _gaps, output: _output, ...figures } = await benchWebLoad();
  console.log(figures);
}
