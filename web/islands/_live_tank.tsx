/// <reference lib="dom" />
/**
 * One live tank's card, kept up to date from `/api/live/events` (server-sent events), with a uPlot chart and a form
 * per measurement to change its range. The chart shows the last simulated hours the server's relay keeps, or a longer
 * window read from the tank's recording in the data store (`/api/live/tanks/:tank/history`) and extended with the
 * live readings. Every card on a page shares one event stream. Shown by the `LiveBoard` island.
 *
 * @module
 */

import uPlot from "uplot";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type EditAccess, RangeEditor } from "./RangeEditor.tsx";
import { TankCard } from "../components/tank_card.tsx";
import {
  type ConnectionView,
  type HistoryPoint,
  LABELS,
  type LiveSnapshot,
  type LiveUpdate,
  MEASUREMENTS,
  type TankView,
  unit,
} from "../live_view.ts";
import type { SensorName } from "../../sim/mod.ts";

/** Props of {@linkcode LiveTank}: the server's snapshot of the tank. */
export interface LiveTankProps {
  view: TankView;
  history: HistoryPoint[];
  connection: ConnectionView;
  /** Server wall ms when rendered. */
  now: number;
  /** Simulated seconds the chart shows. */
  chartSeconds: number;
  /** Whether range edits need the teacher's login (default: open). */
  access?: EditAccess;
}

type Listener = (
  message: LiveUpdate | { type: "snapshot"; snapshot: LiveSnapshot },
) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/** One stream for every card on the page. */
export function listen(listener: Listener): () => void {
  listeners.add(listener);
  if (source === undefined) {
    source = new EventSource("/api/live/events");
    const send = (message: Parameters<Listener>[0]) => {
      for (const l of listeners) l(message);
    };
    source.addEventListener(
      "snapshot",
      (e) =>
        send({
          type: "snapshot",
          snapshot: JSON.parse((e as MessageEvent).data),
        }),
    );
    for (const type of ["tank", "connection"]) {
      source.addEventListener(
        type,
        (e) => send(JSON.parse((e as MessageEvent).data)),
      );
    }
    source.addEventListener("error", () =>
      send({
        type: "connection",
        now: Date.now() + skew,
        connection: {
          state: "reconnecting",
          since: Date.now() + skew,
          error: "lost the page's link to the server",
        },
      }));
  }
  return () => listeners.delete(listener);
}

/** Server clock minus browser clock, from the latest message. */
let skew = 0;

/** The card of one tank, live. */
export function LiveTank(props: LiveTankProps) {
  const [view, setView] = useState(props.view);
  const [connection, setConnection] = useState(props.connection);
  const [now, setNow] = useState(props.now);
  const [measurement, setMeasurement] = useState<SensorName>("temperature");
  const history = useRef<HistoryPoint[]>(props.history);
  const [revision, setRevision] = useState(0);
  /** Simulated seconds of a stored window, 0 for the live feed. */
  const [span, setSpan] = useState(0);
  const [stored, setStored] = useState<{
    series?: StoredHistory;
    error?: string;
    revision: number;
  }>({ revision: 0 });

  useEffect(() => {
    if (span === 0) return;
    let cancelled = false;
    const load = () => {
      const last = history.current.at(-1)?.t ?? 0;
      const query = new URLSearchParams({
        names: measurement,
        points: String(Math.max(500, Math.round(innerWidth * 2))),
      });
      if (span !== Infinity) {
        query.set("from", String(Math.max(0, last - span)));
      }
      fetch(
        `/api/live/tanks/${
          encodeURIComponent(props.view.tank)
        }/history?${query}`,
      ).then(async (response) => {
        const body = await response.json();
        if (!response.ok) throw new Error(body.error ?? response.statusText);
        if (!cancelled) {
          setStored((s) => ({ series: body, revision: s.revision + 1 }));
        }
      }).catch((e) => {
        if (!cancelled) {
          setStored((s) => ({
            error: `Cannot load the history: ${e.message}`,
            revision: s.revision + 1,
          }));
        }
      });
    };
    setStored((s) => ({ revision: s.revision + 1 }));
    load();
    const timer = setInterval(load, STORED_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [span, measurement]);

  useEffect(() => {
    skew = props.now - Date.now();
    const stop = listen((message) => {
      if (message.type === "snapshot") {
        skew = message.snapshot.now - Date.now();
        setConnection(message.snapshot.connection);
        const fresh = message.snapshot.tanks.find((t) =>
          t.tank === props.view.tank
        );
        if (fresh) setView(fresh);
        history.current = message.snapshot.history[props.view.tank] ?? [];
        setRevision((r) => r + 1);
        return;
      }
      skew = message.now - Date.now();
      if (message.type === "connection") setConnection(message.connection);
      else if (
        message.type === "tank" && message.tank.tank === props.view.tank
      ) {
        setView(message.tank);
        if (message.points.length > 0) {
          const h = history.current;
          const first = message.points[0]!.t;
          // A restarted simulation starts again from zero.
          history.current = h.length > 0 && first < h.at(-1)!.t
            ? [...message.points]
            : [...h, ...message.points];
          setRevision((r) => r + 1);
        }
      }
    });
    const timer = setInterval(() => setNow(Date.now() + skew), 1000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, []);

  const range = view.ranges[measurement];
  const data = useMemo(
    () =>
      span === 0
        ? liveColumns(history.current, measurement, range, props.chartSeconds)
        : storedColumns(stored.series, history.current, measurement, range),
    [revision, stored.revision, measurement, span, range?.min, range?.max],
  );

  return (
    <TankCard
      view={view}
      connection={connection}
      now={now}
      editor={(name) => (
        <RangeEditor
          key={name}
          tank={view.tank}
          name={name}
          range={view.ranges[name]}
          {...(props.access ? { access: props.access } : {})}
        />
      )}
    >
      <section class="live-chart" aria-label={`Chart of ${view.tank}`}>
        <div class="chart-controls">
          <label>
            Chart:{" "}
            <select
              value={measurement}
              data-field="chart-measurement"
              onChange={(e) =>
                setMeasurement(
                  (e.target as HTMLSelectElement).value as SensorName,
                )}
            >
              {MEASUREMENTS.map((name) => (
                <option value={name}>{LABELS[name]}</option>
              ))}
            </select>
          </label>{" "}
          <label>
            over:{" "}
            <select
              value={String(span)}
              data-field="chart-span"
              onChange={(e) =>
                setSpan(Number((e.target as HTMLSelectElement).value))}
            >
              <option value="0">
                the last {hoursWords(props.chartSeconds)} (live)
              </option>
              {STORED_SPANS.map((seconds) => (
                <option value={String(seconds)}>
                  {seconds === Infinity
                    ? "the whole recording"
                    : `the last ${hoursWords(seconds)}`} (data store)
                </option>
              ))}
            </select>
          </label>{" "}
          <span class="muted" data-field="chart-source" aria-live="polite">
            {span === 0
              ? "simulated time, from the live feed"
              : stored.error ?? (stored.series
                ? `from the data store (run ${stored.series.runId}), then live`
                : "loading from the data store…")}
          </span>
        </div>
        <Chart data={data} name={measurement} />
      </section>
    </TankCard>
  );
}

/** Longer chart windows, read from the data store (simulated seconds; Infinity for all of it). */
const STORED_SPANS = [12 * 3600, 24 * 3600, Infinity];
/** Wall milliseconds between reloads of a stored window while it is shown. */
const STORED_REFRESH_MS = 30_000;

/** What the card's chart read from `/api/live/tanks/:tank/history`. */
interface StoredHistory {
  runId: string;
  from: number;
  to: number;
  measurements: {
    name: SensorName;
    t: number[];
    value: (number | null)[];
    min: (number | null)[];
    max: (number | null)[];
  }[];
}

function hoursWords(seconds: number): string {
  const hours = Math.round(seconds / 360) / 10;
  return `${hours} simulated hour${hours === 1 ? "" : "s"}`;
}

/** Columns for uPlot from the live feed: simulated hours, the reading, the range's bounds. */
function liveColumns(
  history: readonly HistoryPoint[],
  name: SensorName,
  range: { min?: number; max?: number } | undefined,
  seconds: number,
): uPlot.AlignedData {
  const last = history.at(-1)?.t ?? 0;
  const points = history.filter((p) => p.t >= last - seconds);
  return [
    points.map((p) => p.t / 3600),
    points.map((p) => p.values[name] ?? null),
    points.map(() => range?.min ?? null),
    points.map(() => range?.max ?? null),
  ];
}

/** The stored window, then the live points after it. */
function storedColumns(
  stored: StoredHistory | undefined,
  history: readonly HistoryPoint[],
  name: SensorName,
  range: { min?: number; max?: number } | undefined,
): uPlot.AlignedData {
  const series = stored?.measurements.find((m) => m.name === name);
  const after = history.filter((p) => p.t > (stored?.to ?? Infinity));
  return [
    [...(series?.t ?? []), ...after.map((p) => p.t)].map((t) => t / 3600),
    [...(series?.value ?? []), ...after.map((p) => p.values[name] ?? null)],
    [...(series?.min ?? []), ...after.map(() => range?.min ?? null)],
    [...(series?.max ?? []), ...after.map(() => range?.max ?? null)],
  ];
}

interface ChartProps {
  data: uPlot.AlignedData;
  name: SensorName;
}

/** Simulated hours as `h:mm`. */
function hoursText(hours: number): string {
  const minutes = Math.round(hours * 60);
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}

function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const u = unit(props.name);
    plot.current = new uPlot(
      {
        width: Math.max(280, element.clientWidth || 480),
        height: 200,
        scales: { x: { time: false } },
        axes: [
          {
            label: "simulated time (h:mm)",
            values: (_, ticks) => ticks.map(hoursText),
          },
          { label: `${LABELS[props.name]}${u ? ` (${u})` : ""}`, size: 60 },
        ],
        series: [
          {},
          { label: LABELS[props.name], stroke: "#0f3d5e", width: 2 },
          {
            label: "min",
            stroke: "#1d5fd0",
            dash: [6, 4],
            points: { show: false },
          },
          {
            label: "max",
            stroke: "#c0392b",
            dash: [6, 4],
            points: { show: false },
          },
        ],
        // A key to the lines, without the cursor's values (empty `--` while the pointer is elsewhere).
        legend: { show: true, live: false },
      },
      props.data,
      element,
    );
    const resize = () =>
      plot.current?.setSize({
        width: Math.max(280, element.clientWidth),
        height: 200,
      });
    globalThis.addEventListener("resize", resize);
    return () => {
      globalThis.removeEventListener("resize", resize);
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [props.name]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  return (
    <div
      ref={box}
      class="chart"
      data-field="chart"
      data-points={String(props.data[0].length)}
    >
      <noscript>
        The chart needs JavaScript; the readings above are a snapshot.
      </noscript>
    </div>
  );
}
