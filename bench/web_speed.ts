/**
 * Web speed: the server time of a run report and of the series API on a 24-hour run at 1 s resolution (86,400 truth
 * samples), first (nothing cached) and repeated, and the time a headless Chromium takes from navigation start to the
 * report's first drawn chart. The run is real: the TypeScript example graded in lockstep on `steady-day` with
 * `publish_period: 1s`, recorded into a temporary Deno KV file, served by `startWeb` over HTTP.
 *
 * @module
 */

import { join } from "node:path";
import { parseScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { DIGEST_ATTACHMENT, gradeScenario } from "../harness/grading/mod.ts";
import { RunStore } from "../store/mod.ts";
import { startWeb } from "../web/mod.ts";
import type { RunSeries } from "../grader/mod.ts";
import { launchBrowser } from "../tests/_browser.ts";

/** The figures of {@linkcode benchWeb}, in wall milliseconds unless named otherwise. */
export interface WebSpeed {
  /** Truth samples in the run (86,400 for 24 h at 1 s). */
  truthSamples: number;
  /** Messages recorded in the run. */
  messages: number;
  /** Wall seconds to grade the run that is measured. */
  gradeSeconds: number;
  /** First `GET /runs/:id` after the server started (nothing cached). */
  reportMs: number;
  /** The same page again (median of the repeats). */
  reportCachedMs: number;
  /** First `GET /api/runs/:id/series?points=1000` on a fresh server (nothing cached). */
  seriesMs: number;
  /** The same call again (median of the repeats). */
  seriesCachedMs: number;
  /** Size of the report page, bytes. */
  reportBytes: number;
  /** Size of the series answer, bytes. */
  seriesBytes: number;
  /** First `GET /api/runs/:id/series` of one hour at 2,000 points (finer than the digest: read from the records). */
  zoomMs: number;
  /** First `GET /runs/:id` of the same run with its stored digest removed (as for a run stored before digests). */
  reportWithoutDigestMs: number;
  /** Navigation start to the RunCharts island's `data-drawn="true"`, on a fresh server (nothing cached). */
  firstChartMs: number;
  /** The same with the server's cache warm. */
  firstChartCachedMs: number;
}

/** Options of {@linkcode benchWeb}. */
export interface WebSpeedOptions {
  /** Repeats of the cached requests (median reported). Default 5. */
  repeats?: number;
  /** Whether to measure in Chromium. Default true when `/usr/bin/chromium` exists. */
  browser?: boolean;
}

const SCENARIO = "scenarios/builtin/steady-day.yaml";
const CONTROLLER =
  `"${Deno.execPath()}" run --allow-net --allow-env examples/thermostat.ts`;

/** `steady-day` republished every simulated second, its controller still stepped every 10 s. */
async function scenarioAtOneSecond(): Promise<string> {
  const text = await Deno.readTextFile(SCENARIO);
  const changed = text
    .replace(/^id: steady-day$/m, "id: bench-day-1s")
    .replace(
      /^publish_period: .*$/m,
      "publish_period: 1s\ncontrol_period: 10s",
    );
  if (!changed.includes("bench-day-1s") || !changed.includes("1s\ncontrol")) {
    throw new Error(`${SCENARIO}: expected "id:" and "publish_period:" lines`);
  }
  return changed;
}

async function timed(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  const ms = performance.now() - started;
  if (!response.ok) {
    throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  }
  return { ms, bytes: body.byteLength };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function hasChromium(): Promise<boolean> {
  try {
    return (await Deno.stat("/usr/bin/chromium")).isFile;
  } catch {
    return false;
  }
}

/** Makes the 1 s run and measures its report, its series and its first chart. */
export async function benchWeb(
  options: WebSpeedOptions = {},
): Promise<WebSpeed> {
  const repeats = options.repeats ?? 5;
  const useBrowser = options.browser ?? await hasChromium();
  const dir = await Deno.makeTempDir({ prefix: "fishtank-bench-web-" });
  const path = join(dir, "bench.kv");
  try {
    const yamlPath = join(dir, "bench-day-1s.yaml");
    const yaml = await scenarioAtOneSecond();
    await Deno.writeTextFile(yamlPath, yaml);
    const scenario = parseScenario(yaml, { file: yamlPath });

    let runId: string;
    let gradeSeconds: number;
    {
      const store = await RunStore.open(path);
      const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
      const bus = new AedesBus(broker.aedes);
      try {
        const started = performance.now();
        const grade = await gradeScenario({
          options: { stepTimeoutMs: 100, connectTimeoutMs: 10_000 },
          store,
          harness: new LockstepHarness(broker, bus),
          scenario,
          student: "bench",
          tank: "tank1",
          controller: CONTROLLER,
        });
        gradeSeconds = (performance.now() - started) / 1000;
        runId = grade.runId;
      } finally {
        await bus.close();
        await broker.close();
        await store.close();
      }
    }

    // Each "first" figure gets a server of its own on a freshly opened store, so no cache of an earlier
    // measurement helps it.
    const serve = async <T>(
      measure: (base: string, store: RunStore) => Promise<T>,
    ): Promise<T> => {
      const store = await RunStore.open(path);
      const web = await startWeb({ store, port: 0 });
      try {
        return await measure(web.url, store);
      } finally {
        await web.close();
        await store.close();
      }
    };
    const report = `/runs/${encodeURIComponent(runId)}`;
    const series = `/api/runs/${encodeURIComponent(runId)}/series?points=1000`;

    const reports = await serve(async (base, store) => {
      const meta = await store.getRun(runId);
      const first = await timed(base + report);
      const again: number[] = [];
      for (let i = 0; i < repeats; i++) {
        again.push((await timed(base + report)).ms);
      }
      return {
        first,
        cached: median(again),
        messages: meta?.stats.messages ?? NaN,
      };
    });
    const seriesFigures = await serve(async (base) => {
      const first = await timed(base + series);
      const again: number[] = [];
      for (let i = 0; i < repeats; i++) {
        again.push((await timed(base + series)).ms);
      }
      const body = await (await fetch(base + series)).json() as RunSeries;
      return {
        first,
        cached: median(again),
        truthSamples: body.measurements[0]?.samples ?? 0,
      };
    });

    const zoom = `/api/runs/${
      encodeURIComponent(runId)
    }/series?from=43200&to=46800&points=2000`;
    const zoomMs = await serve(async (base) => (await timed(base + zoom)).ms);
    {
      const store = await RunStore.open(path);
      await store.deleteAttachment(runId, DIGEST_ATTACHMENT);
      await store.close();
    }
    const reportWithoutDigestMs = await serve(async (base) =>
      (await timed(base + report)).ms
    );

    let firstChartMs = NaN;
    let firstChartCachedMs = NaN;
    if (useBrowser) {
      const browser = await launchBrowser();
      try {
        const chartTime = async (base: string) => {
          const page = await browser.newPage();
          try {
            await page.goto(base + report, { waitUntil: "commit" });
            await page.waitForSelector('.run-charts[data-drawn="true"]', {
              timeout: 60_000,
            });
            // Navigation start is the page's time origin.
            return await page.evaluate(() => performance.now());
          } finally {
            await page.close();
          }
        };
        // Warm the browser itself (process start-up is not the page's cost).
        await serve(async (base) => {
          const page = await browser.newPage();
          await page.goto(base + "/static/style.css");
          await page.close();
        });
        [firstChartMs, firstChartCachedMs] = await serve(async (base) => {
          const first = await chartTime(base);
          const again: number[] = [];
          for (let i = 0; i < Math.min(repeats, 3); i++) {
            again.push(await chartTime(base));
          }
          return [first, median(again)] as const;
        });
      } finally {
        await browser.close();
      }
    }

    return {
      truthSamples: seriesFigures.truthSamples,
      messages: reports.messages,
      gradeSeconds,
      reportMs: reports.first.ms,
      reportCachedMs: reports.cached,
      reportBytes: reports.first.bytes,
      seriesMs: seriesFigures.first.ms,
      seriesCachedMs: seriesFigures.cached,
      seriesBytes: seriesFigures.first.bytes,
      zoomMs,
      reportWithoutDigestMs,
      firstChartMs,
      firstChartCachedMs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.log(await benchWeb());
