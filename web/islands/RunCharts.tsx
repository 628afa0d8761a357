/// <reference lib="dom" />
/**
 * The run report's charts: one uPlot chart per measurement (the true value over its range band, alarm and fault
 * markers as vertical lines) and the actuators as on/off lanes, fed by `/api/runs/:id/series`. The server renders
 * the same component with small inline SVG charts from its props, which stay when JavaScript is off. Once drawn, the
 * root element carries `data-drawn="true"`, `data-points` (points drawn per measurement, JSON) and `data-source` (the
 * series URL they came from).
 *
 * @module
 */

import uPlot from "uplot";
import { useEffect, useRef, useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import { LineSvg } from "../components/line_svg.tsx";
import type { Marker, RunSeries } from "../../grader/mod.ts";

/** Props of {@linkcode RunCharts}. */
export interface RunChartsProps {
  runId: string;
  /** Scenario start, epoch ms (the tank's local clock stored as UTC). */
  start: number;
  /** A small version of the series for the first paint. */
  fallback: RunSeries;
}

const MAX_POINTS = 20_000;

function clock(start: number, t: number): string {
  const date = new Date(start + Math.round(t) * 1000);
  return `${String(date.getUTCHours()).padStart(2, "0")}:${
    String(date.getUTCMinutes()).padStart(2, "0")
  }`;
}

function markerPlugin(markers: readonly Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        ctx.save();
        for (const marker of markers) {
          const x = Math.round(u.valToPos(marker.t, "x", true));
          ctx.strokeStyle = marker.kind === "alarm" ? "#c0392b" : "#8e44ad";
          ctx.lineWidth = 2 * uPlot.pxRatio;
          ctx.setLineDash(
            marker.state === "start"
              ? []
              : [6 * uPlot.pxRatio, 4 * uPlot.pxRatio],
          );
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

function xAxis(start: number): uPlot.Axis {
  return {
    values: (_u: uPlot, splits: number[]) => splits.map((t) => clock(start, t)),
    space: 70,
    // Round tank-clock steps (10 min … 1 day) instead of uPlot's decimal ones.
    incrs: [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
  };
}

function measurementChart(
  target: HTMLElement,
  series: RunSeries,
  index: number,
  start: number,
  width: number,
): uPlot {
  const m = series.measurements[index]!;
  const data: uPlot.AlignedData = [m.t, m.value, m.max, m.min];
  return new uPlot(
    {
      width,
      height: 220,
      scales: { x: { time: false, range: [series.from, series.to] } },
      axes: [xAxis(start), { label: m.unit, size: 60 }],
      series: [
        { label: "time", value: (_u, t) => t === null ? "–" : clock(start, t) },
        { label: m.name, stroke: "#0f3d5e", width: 2 },
        { label: "max", stroke: "#17823b", dash: [4, 4], width: 1 },
        { label: "min", stroke: "#17823b", dash: [4, 4], width: 1 },
      ],
      bands: [{ series: [2, 3], fill: "rgba(23,130,59,0.12)" }],
      // The caption names the lines; the legend is the pointer's read-out, shown over the chart only while the pointer
      // is on it (see `.uplot:hover .u-legend` in the run styles), never an empty "time: – … --" row under it.
      legend: { show: true, live: true },
      plugins: [markerPlugin(series.markers)],
    },
    data,
    target,
  );
}

/** One actuator's lane in the strip chart: its name, the series key, and its fill (opaque, so a test can find it). */
interface Lane {
  name: string;
  values: (a: RunSeries["actuators"]) => number[];
  /** What an "on" sample is worth: 1 for switches, 100 for the heater's power in %. */
  full: number;
  color: string;
}

/** Top to bottom. Colours apart from the alarm and fault markers' red and purple. */
const LANES: readonly Lane[] = [
  { name: "heater", values: (a) => a.heater, full: 100, color: "#e8743b" },
  { name: "light", values: (a) => a.light, full: 1, color: "#e0b000" },
  { name: "pump", values: (a) => a.pump, full: 1, color: "#3b7ddd" },
  { name: "top-up", values: (a) => a.topup, full: 1, color: "#2ca25f" },
];

/** Lane height in y units; a bar fills at most {@linkcode BAR} of it, so lanes never touch. */
const BAR = 0.75;

/**
 * Draws each actuator in its own lane: a filled bar while it is on (the heater's as tall as its power), nothing while
 * it is off, each lane framed so an empty one reads as "off all run". Drawn as rectangles rather than uPlot's area
 * fills, which fill down to the scale's zero and so cover the lanes below.
 */
function lanesPlugin(series: RunSeries): uPlot.Plugin {
  const a = series.actuators;
  return {
    hooks: {
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        const { left, width } = u.bbox;
        const right = left + width;
        const x = (t: number) => u.valToPos(t, "x", true);
        const y = (v: number) => u.valToPos(v, "y", true);
        const geometry: { name: string; top: number; bottom: number }[] = [];
        ctx.save();
        LANES.forEach((lane, index) => {
          const base = LANES.length - 1 - index;
          const values = lane.values(a);
          const laneTop = Math.round(y(base + BAR));
          const laneBottom = Math.round(y(base));
          geometry.push({ name: lane.name, top: laneTop, bottom: laneBottom });
          ctx.strokeStyle = "#c9ced6";
          ctx.lineWidth = uPlot.pxRatio;
          ctx.strokeRect(left, laneTop, width, laneBottom - laneTop);
          ctx.fillStyle = lane.color;
          for (let i = 0; i < a.t.length; i++) {
            const level = Math.min(
              1,
              Math.max(0, (values[i] ?? 0) / lane.full),
            );
            if (!(level > 0)) continue;
            // A sample holds until the next one (or the end of the run).
            const from = Math.max(left, x(a.t[i]!));
            const to = Math.min(right, x(a.t[i + 1] ?? series.to));
            if (to <= from) continue;
            const top = Math.round(y(base + BAR * level));
            ctx.fillRect(
              Math.floor(from),
              top,
              Math.max(1, Math.ceil(to) - Math.floor(from)),
              laneBottom - top,
            );
          }
        });
        ctx.restore();
        // Where each lane was drawn, in canvas pixels, for tests and tools that read the picture.
        u.root.dataset.lanes = JSON.stringify({
          left: Math.round(left),
          width: Math.round(width),
          lanes: geometry,
        });
      },
    },
  };
}

function actuatorChart(
  target: HTMLElement,
  series: RunSeries,
  start: number,
  width: number,
): uPlot {
  const a = series.actuators;
  // uPlot keeps the x axis, the cursor and the markers; the lanes plugin draws the bars (the series draw nothing).
  const data: uPlot.AlignedData = [a.t, a.t.map(() => null)];
  return new uPlot(
    {
      width,
      height: 40 + 34 * LANES.length,
      scales: {
        x: { time: false, range: [series.from, series.to] },
        y: { range: [-0.125, LANES.length - 0.125] },
      },
      axes: [xAxis(start), {
        size: 60,
        splits: () => LANES.map((_lane, i) => i + BAR / 2),
        values: (_u: uPlot, splits: number[]) =>
          splits.map((s) =>
            LANES[LANES.length - 1 - Math.floor(s)]?.name ?? ""
          ),
        grid: { show: false },
        ticks: { show: false },
      }],
      series: [{}, { label: "actuators", show: false }],
      legend: { show: false },
      plugins: [lanesPlugin(series), markerPlugin(series.markers)],
    },
    data,
    target,
  );
}

/** The charts of one run. */
export default function RunCharts({ runId, start, fallback }: RunChartsProps) {
  const root = useRef<HTMLDivElement>(null);
  const [series, setSeries] = useState<RunSeries | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [url, setUrl] = useState<string | undefined>(undefined);

  useEffect(() => {
    const width = root.current?.clientWidth ?? 800;
    const points = Math.min(MAX_POINTS, Math.max(500, Math.round(width * 2)));
    const source = `/api/runs/${
      encodeURIComponent(runId)
    }/series?points=${points}`;
    setUrl(source);
    fetch(source)
      .then(async (response) => {
        const body = await response.json();
        if (!response.ok) throw new Error(body.error ?? response.statusText);
        setSeries(body as RunSeries);
      })
      .catch((e) => setError(`Cannot load the chart data: ${e.message}`));
  }, [runId]);

  useEffect(() => {
    if (series === null || root.current === null) return;
    const element = root.current;
    const width = () => Math.max(280, element.clientWidth - 8);
    const plots: uPlot[] = [];
    series.measurements.forEach((_m, i) => {
      const target = element.querySelector<HTMLElement>(`[data-plot="${i}"]`);
      if (target) {
        plots.push(measurementChart(target, series, i, start, width()));
      }
    });
    const strips = element.querySelector<HTMLElement>(
      '[data-plot="actuators"]',
    );
    if (strips) plots.push(actuatorChart(strips, series, start, width()));
    const onResize = () => {
      for (const plot of plots) {
        plot.setSize({ width: width(), height: plot.height });
      }
    };
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      for (const plot of plots) plot.destroy();
    };
  }, [series]);

  const drawn = series !== null;
  const shown = series ?? fallback;
  return (
    <div
      ref={root}
      class="run-charts"
      data-drawn={drawn ? "true" : "false"}
      data-source={url}
      data-points={drawn
        ? JSON.stringify(
          Object.fromEntries(
            series.measurements.map((m) => [m.name, m.t.length]),
          ),
        )
        : undefined}
    >
      {error && <p class="error" role="alert">{error}</p>}
      {shown.measurements.map((m, i) => (
        <figure class="chart">
          <figcaption>
            <strong>{m.name.replace("_", " ")}</strong>{" "}
            ({m.unit}) — true value; the shaded band is the target range
          </figcaption>
          {!drawn && (
            <LineSvg
              label={`${m.name}, ${m.unit}`}
              t={m.t}
              value={m.value}
              min={m.min}
              max={m.max}
              from={shown.from}
              to={shown.to}
            />
          )}
          <div data-plot={String(i)} />
        </figure>
      ))}
      <figure class="chart">
        <figcaption>
          <strong>Actuators</strong>{" "}
          — one lane each for the heater, light, pump and top-up valve as the
          tank applied them: a filled bar while on, empty while off; the
          heater's bar is as tall as its power
        </figcaption>
        <div data-plot="actuators" />
      </figure>
    </div>
  );
}

if (typeof document !== "undefined") hydrateIslands("RunCharts", RunCharts);
