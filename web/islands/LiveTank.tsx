/// <reference lib="dom" />
/**
 * One live tank's card, kept up to date from `/api/live/events` (server-sent events), with a uPlot chart of the last
 * simulated hours and a form per measurement to change its range. Every card on a page shares one event stream.
 *
 * @module
 */

import uPlot from "uplot";
import { useEffect, useRef, useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import { RangeEditor } from "./RangeEditor.tsx";
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
import type { SensorName } from "../../sim/fish_tank_types.ts";

/** Props of {@linkcode LiveTank}: the server's snapshot of the tank. */
export interface LiveTankProps {
  view: TankView;
  history: HistoryPoint[];
  connection: ConnectionView;
  /** Server wall ms when rendered. */
  now: number;
  /** Simulated seconds the chart shows. */
  chartSeconds: number;
}

type Listener = (
  message: LiveUpdate | { type: "snapshot"; snapshot: LiveSnapshot },
) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/** One stream for every card on the page. */
function listen(listener: Listener): () => void {
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
        />
      )}
    >
      <section class="live-chart" aria-label={`Chart of ${view.tank}`}>
        <label>
          Chart:{" "}
          <select
            value={measurement}
            onChange={(e) =>
              setMeasurement(
                (e.target as HTMLSelectElement).value as SensorName,
              )}
          >
            {MEASUREMENTS.map((name) => (
              <option value={name}>{LABELS[name]}</option>
            ))}
          </select>{" "}
          <span class="muted">
            last {Math.round(props.chartSeconds / 360) / 10} simulated hours
          </span>
        </label>
        <Chart
          history={history.current}
          revision={revision}
          name={measurement}
          range={view.ranges[measurement]}
          seconds={props.chartSeconds}
        />
      </section>
    </TankCard>
  );
}

interface ChartProps {
  history: HistoryPoint[];
  revision: number;
  name: SensorName;
  range?: { min?: number; max?: number };
  seconds: number;
}

/** Columns for uPlot: simulated hours, the reading, the range's bounds. */
function columns(props: ChartProps): uPlot.AlignedData {
  const last = props.history.at(-1)?.t ?? 0;
  const points = props.history.filter((p) => p.t >= last - props.seconds);
  return [
    points.map((p) => p.t / 3600),
    points.map((p) => p.values[props.name] ?? null),
    points.map(() => props.range?.min ?? null),
    points.map(() => props.range?.max ?? null),
  ];
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
        legend: { show: true },
      },
      columns(props),
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
    plot.current?.setData(columns(props));
  }, [props.revision, props.range?.min, props.range?.max]);

  return (
    <div ref={box} class="chart" data-field="chart">
      <noscript>
        The chart needs JavaScript; the readings above are a snapshot.
      </noscript>
    </div>
  );
}

if (typeof document !== "undefined") hydrateIslands("LiveTank", LiveTank);
