/// <reference lib="dom" />
/**
 * The run report's charts: one uPlot chart per measurement (the true value over its range band, alarm and fault
 * markers as vertical lines) and the actuators as on/off strips, fed by `/api/runs/:id/series`. The server renders
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
      plugins: [markerPlugin(series.markers)],
    },
    data,
    target,
  );
}

function actuatorChart(
  target: HTMLElement,
  series: RunSeries,
  start: number,
  width: number,
): uPlot {
  const a = series.actuators;
  // Lanes: heater 3–4 (its power fraction), light 2–3, pump 1–2, top-up 0–1; on fills 80 % of a lane.
  const lane = (values: number[], base: number) =>
    values.map((v) => base + 0.8 * v);
  const data: uPlot.AlignedData = [
    a.t,
    a.heater.map((v) => 3 + 0.8 * (v / 100)),
    lane(a.light, 2),
    lane(a.pump, 1),
    lane(a.topup, 0),
  ];
  const stepped = uPlot.paths.stepped!({ align: 1 });
  const names = ["top-up", "pump", "light", "heater"];
  const raw = [a.heater, a.light, a.pump, a.topup];
  const show =
    (i: number) =>
    (_u: uPlot, _v: number | null, _s: number, at: number | null) =>
      at === null
        ? "–"
        : i === 0
        ? `${raw[0]![at]} %`
        : raw[i]![at]
        ? "on"
        : "off";
  return new uPlot(
    {
      width,
      height: 170,
      scales: {
        x: { time: false, range: [series.from, series.to] },
        y: { range: [0, 4] },
      },
      axes: [xAxis(start), {
        size: 60,
        splits: () => [0.4, 1.4, 2.4, 3.4],
        values: (_u: uPlot, splits: number[]) =>
          splits.map((s) => names[Math.floor(s)] ?? ""),
        grid: { show: false },
      }],
      series: [
        { label: "time", value: (_u, t) => t === null ? "–" : clock(start, t) },
        {
          label: "heater",
          stroke: "#c0392b",
          fill: "rgba(192,57,43,0.25)",
          paths: stepped,
          value: show(0),
        },
        {
          label: "light",
          stroke: "#b8860b",
          fill: "rgba(184,134,11,0.25)",
          paths: stepped,
          value: show(1),
        },
        {
          label: "pump",
          stroke: "#1d5fd0",
          fill: "rgba(29,95,208,0.25)",
          paths: stepped,
          value: show(2),
        },
        {
          label: "top-up",
          stroke: "#17823b",
          fill: "rgba(23,130,59,0.25)",
          paths: stepped,
          value: show(3),
        },
      ],
      plugins: [markerPlugin(series.markers)],
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
          — heater power, light, pump and top-up valve as the tank applied them
          (filled = on)
        </figcaption>
        <div data-plot="actuators" />
      </figure>
    </div>
  );
}

if (typeof document !== "undefined") hydrateIslands("RunCharts", RunCharts);
