/**
 * Terminal charts of a recorded run: for each measurement with a range, what the fish lived through (the true value
 * from the run's truth samples) against the range's bounds over the simulated time. `deno task grade --rescore <id>
 * --plot` prints them; the web front end draws the same data with more detail.
 *
 * @module
 */

import asciichart from "asciichart";
import type { Scenario } from "../scenarios/mod.ts";
import { SENSOR_NAMES, SENSOR_UNITS, type SensorName } from "../sim/mod.ts";
import type { MessageRecord, TruthSample } from "../store/mod.ts";
import { decodeTruth } from "./_truth.ts";
import { clockAt } from "./_format.ts";

/** Options of {@linkcode renderRunCharts}. */
export interface ChartOptions {
  /** Points across (one per column), default 72. */
  width?: number;
  /** Rows of each chart, default 8. */
  height?: number;
  color?: boolean;
}

/**
 * One chart per measurement with a range. Long runs are reduced to `width` columns by taking, per column, the value
 * furthest from the middle of the range, so that an excursion is never averaged away.
 */
export function renderRunCharts(
  scenario: Scenario,
  records: Iterable<MessageRecord>,
  options: ChartOptions = {},
): string {
  const width = options.width ?? 72;
  const height = options.height ?? 8;
  const samples: TruthSample[] = [];
  for (const record of records) {
    if (record.kind !== "truth") continue;
    const sample = decodeTruth(record.payload);
    if (sample) samples.push(sample);
  }
  if (samples.length === 0) {
    return "(no truth samples in this run: nothing to chart)";
  }
  const sections: string[] = [];
  for (const name of SENSOR_NAMES) {
    const bounded = samples.filter((s) => s.ranges[name] !== undefined);
    if (bounded.length === 0) continue;
    sections.push(
      chartOf(scenario, name, samples, width, height, options.color ?? false),
    );
  }
  return sections.join("\n\n");
}

function chartOf(
  scenario: Scenario,
  name: SensorName,
  samples: TruthSample[],
  width: number,
  height: number,
  color: boolean,
): string {
  const columns = Math.min(width, samples.length);
  const per = samples.length / columns;
  const values: number[] = [];
  const mins: number[] = [];
  const maxs: number[] = [];
  for (let c = 0; c < columns; c++) {
    const bucket = samples.slice(
      Math.floor(c * per),
      Math.max(Math.floor((c + 1) * per), Math.floor(c * per) + 1),
    );
    const range = bucket[0]!.ranges[name] ?? {};
    const middle = range.min !== undefined && range.max !== undefined
      ? (range.min + range.max) / 2
      : range.min ?? range.max ?? 0;
    let pick = bucket[0]!.values[name];
    for (const s of bucket) {
      if (Math.abs(s.values[name] - middle) > Math.abs(pick - middle)) {
        pick = s.values[name];
      }
    }
    values.push(pick);
    mins.push(range.min ?? NaN);
    maxs.push(range.max ?? NaN);
  }
  // Keep the bounds in view but do not let a far bound flatten the curve.
  const all = values.concat(
    mins.filter(Number.isFinite),
    maxs.filter(Number.isFinite),
  );
  const series = [
    values,
    mins.map((v, i) => Number.isFinite(v) ? v : values[i]!),
    maxs.map((v, i) => Number.isFinite(v) ? v : values[i]!),
  ];
  const chart = asciichart.plot(series, {
    height,
    min: Math.min(...all),
    max: Math.max(...all),
    colors: color
      ? [asciichart.default, asciichart.blue, asciichart.red]
      : undefined,
    format: (x: number) =>
      x.toFixed(name === "light" ? 0 : name === "ph" ? 2 : 1).padStart(8),
  });
  const first = samples[0]!.t;
  const last = samples.at(-1)!.t;
  const axis = `${" ".repeat(10)}${clockAt(scenario.start, first, true)}${
    " ".repeat(Math.max(1, columns - 22))
  }${clockAt(scenario.start, last, true)}`;
  const unit = SENSOR_UNITS[name];
  return `${name} (${unit}): true value, with the range's min and max\n${chart}\n${axis}`;
}
