/**
 * A burst of requests at the report and replay pages of a run still being recorded, against `deno task sim --web` in
 * its own process, while an MQTT subscriber times the tank's readings and the process's memory is sampled: what
 * `tests/web_load_test.ts` asserts and `deno task bench` reports.
 *
 * @module
 */

import mqtt from "mqtt";
import { join } from "node:path";
import { Child } from "./_processes.ts";

/** Options of {@linkcode webLoad}. */
export interface WebLoadOptions {
  /** The simulation's speed (simulated seconds per wall second). */
  speed: number;
  /** Simulated tanks (the recording holds them all: more tanks, a bigger run). */
  tanks: number;
  /** Wall milliseconds the run is recorded before the burst. */
  warmupMs: number;
  /** Requests in the burst. */
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Longest a request may take before it counts as hung. */
  timeoutMs: number;
}

/** What a burst did to the simulation and what the requests got. */
export interface WebLoadResult {
  /** The scenario's publish period, simulated seconds, and in wall milliseconds at this speed. */
  periodSeconds: number;
  periodMs: number;
  /** Wall milliseconds between readings arriving at the subscriber during the burst, sorted. */
  gapsMs: number[];
  /** The 99th percentile and the largest of {@linkcode gapsMs}. */
  p99GapMs: number;
  maxGapMs: number;
  /**
   * The largest gap between readings in the warm-up before the burst (its first five seconds left out): what the
   * machine's own load does to the period, with no request at all.
   */
  quietMaxGapMs: number;
  /** How far the readings' simulated time fell behind speed × wall time during the burst (simulated seconds). */
  worstLagSeconds: number;
  /** The simulation process's resident memory: before the burst and the most seen during it, MB. */
  rssBeforeMb: number;
  peakRssMb: number;
  /** Responses by status; `timeouts` did not answer within the timeout. */
  statuses: Record<number, number>;
  timeouts: number;
  /** 503 answers without a `Retry-After` header, or whose body says nothing. */
  badRefusals: number;
  /** Wall milliseconds the burst took. */
  burstMs: number;
  /** Records in the run when the burst began. */
  recordsBefore: number;
  runId: string;
  /** The simulation's output (its errors, if any). */
  output: string;
}

/** The resident memory of a process, MB, from `/proc/<pid>/status`; NaN where there is no `/proc`. */
export function rssMb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

/** The `q` quantile (0–1) of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The paths a class hammers when everyone opens the running run's report and replay at once. */
function paths(runId: string, i: number): string {
  const id = encodeURIComponent(runId);
  const list = [
    `/runs/${id}`,
    `/runs/${id}/replay`,
    `/api/runs/${id}`,
    `/api/runs/${id}/series?points=1000`,
    `/api/runs/${id}/messages?limit=200&from=${i % 300}`,
    `/api/runs/${id}/replay?t=${(i * 7) % 600}`,
    `/runs/${id}/replay?t=${(i * 13) % 600}`,
    `/runs/${id}?kind=publish&limit=50`,
  ];
  return list[i % list.length]!;
}

/** Starts the simulation with `--web`, records for a while, fires the burst and measures. */
export async function webLoad(options: WebLoadOptions): Promise<WebLoadResult> {
  const { speed, tanks, warmupMs, requests, concurrency, timeoutMs } = options;
  const periodSeconds = 10; // steady-day's publish_period
  const periodMs = (periodSeconds / speed) * 1000;
  const dir = await Deno.makeTempDir({ prefix: "fishtank-web-load-" });
  const child = new Child(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    "cli/sim.ts",
    "--web",
    "--scenario=steady-day",
    `--tanks=${tanks}`,
    "--host=127.0.0.1",
    "--port=0",
    "--ws-port=0",
    "--web-port=0",
    `--speed=${speed}`,
    "--quiet",
    `--db=${join(dir, "class.kv")}`,
  ]);
  let client: mqtt.MqttClient | undefined;
  try {
    const mqttUrl =
      (await child.waitFor(/MQTT\s+(mqtt:\/\/[\d.]+:\d+)/, 60_000))[1]!;
    const runId = (await child.waitFor(/Recording\s+run (\S+)/, 60_000))[1]!;
    const web = (await child.waitFor(/Web\s+(http:\/\/\S+)/, 120_000))[1]!;
    const pid = child.process.pid;

    const readings: { at: number; t: number }[] = [];
    client = await mqtt.connectAsync(mqttUrl, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    client.on("message", (_topic, payload, packet) => {
      if (packet.retain) return;
      readings.push({
        at: performance.now(),
        t: JSON.parse(String(payload)).t,
      });
    });
    await client.subscribeAsync("fishtank/tank1/sensors/all", { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, warmupMs));

    const recordsBefore: number = (await (await fetch(
      `${web}/api/runs/${encodeURIComponent(runId)}/messages?limit=1`,
    )).json()).total ?? 0;

    const rssBeforeMb = rssMb(pid);
    let peakRssMb = rssBeforeMb;
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, rssMb(pid));
    }, 50);
    const statuses: Record<number, number> = {};
    let timeouts = 0;
    let badRefusals = 0;
    let next = 0;
    const burstStart = performance.now();
    const worker = async () => {
      while (next < requests) {
        const i = next++;
        try {
          const response = await fetch(`${web}${paths(runId, i)}`, {
            signal: AbortSignal.timeout(timeoutMs),
          });
          const body = await response.text();
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          if (
            response.status === 503 &&
            (!/^\d+$/.test(response.headers.get("retry-after") ?? "") ||
              !/try again/i.test(body))
          ) badRefusals++;
        } catch {
          timeouts++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const burstEnd = performance.now();
    // The readings that were due during the burst arrive up to a period later.
    await new Promise((resolve) => setTimeout(resolve, periodMs * 2));
    clearInterval(sampler);
    peakRssMb = Math.max(peakRssMb, rssMb(pid));

    const during = readings.filter((r) =>
      r.at >= burstStart && r.at <= burstEnd + periodMs * 2
    );
    const quiet = readings.filter((r) =>
      r.at < burstStart && r.at >= burstStart - warmupMs + 5_000
    );
    const quietMaxGapMs = Math.max(
      0,
      ...quiet.slice(1).map((r, i) => r.at - quiet[i]!.at),
    );
    const before = readings.filter((r) => r.at < burstStart).at(-1);
    const series = before ? [before, ...during] : during;
    const gapsMs = series.slice(1).map((r, i) => r.at - series[i]!.at)
      .sort((a, b) => a - b);
    // Lag against the last reading before the burst: how much later the tank's time is than the wall clock says.
    const anchor = series[0];
    const worstLagSeconds = anchor === undefined ? NaN : Math.max(
      0,
      ...series.map((r) =>
        speed * ((r.at - anchor.at) / 1000) - (r.t - anchor.t)
      ),
    );
    return {
      periodSeconds,
      periodMs,
      gapsMs,
      p99GapMs: quantile(gapsMs, 0.99),
      maxGapMs: gapsMs.at(-1) ?? NaN,
      quietMaxGapMs,
      worstLagSeconds,
      rssBeforeMb,
      peakRssMb,
      statuses,
      timeouts,
      badRefusals,
      burstMs: burstEnd - burstStart,
      recordsBefore,
      runId,
      output: child.output,
    };
  } finally {
    await client?.endAsync(true);
    await child.kill();
    await Deno.remove(dir, { recursive: true });
  }
}
