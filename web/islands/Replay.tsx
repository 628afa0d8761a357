/// <reference lib="dom" />
/**
 * The replay of a stored run: play, pause, a speed and a scrub bar over the run's simulated time, driving the live
 * tank card (`GET /api/runs/:id/replay?t=`), the report's charts (`RunCharts`, with a line at the current time; a
 * click on a chart jumps there) and the message log around that time (`GET /api/runs/:id/messages?from=`). Space
 * plays and pauses, the arrow keys step one publishing period, Page Up/Down a twentieth of the run, Home/End jump to
 * either end. The server renders it at one time first (a snapshot that works without JavaScript, with a form to
 * pick another time). The root carries `data-t` (the scrub bar's time) and `data-frame-t` (the time the card shows).
 *
 * @module
 */

import { formatClock, formatDuration } from "../../lib/mod.ts";
import { useEffect, useRef, useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import RunCharts from "./RunCharts.tsx";
import { TankCard } from "../components/tank_card.tsx";
import {
  frameUrl,
  type LogRow,
  logUrl,
  REPLAY_SPEEDS,
  type ReplayFrameJson,
  type ReplayProps,
  tankClock,
} from "../replay_view.ts";
import { MessageLog } from "../components/message_log.tsx";

export type { ReplayProps } from "../replay_view.ts";

const PAYLOAD_CHARS = 100;

/** `60× (a minute of tank time per second)`. */
function speedWords(speed: number): string {
  const span = speed === 60
    ? "a minute"
    : speed === 3600
    ? "an hour"
    : speed % 60 === 0
    ? `${speed / 60} minutes`
    : `${speed} seconds`;
  return `${speed}× (${span} of tank time per second)`;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body as T;
}

function clamp(t: number, end: number): number {
  return Math.min(end, Math.max(0, t));
}

/** Puts a line at `t` over every uPlot chart (its `.u-over` is the plotting area); a click there seeks. */
function placeCursors(
  root: HTMLElement,
  t: number,
  from: number,
  to: number,
  seek: (t: number) => void,
): void {
  const share = to > from
    ? Math.min(1, Math.max(0, (t - from) / (to - from)))
    : 0;
  for (const over of root.querySelectorAll<HTMLElement>(".u-over")) {
    let cursor = over.querySelector<HTMLElement>(".replay-cursor");
    if (cursor === null) {
      cursor = document.createElement("div");
      cursor.className = "replay-cursor";
      cursor.setAttribute("aria-hidden", "true");
      over.append(cursor);
      over.addEventListener("click", (event) => {
        const box = over.getBoundingClientRect();
        if (box.width > 0) {
          seek(from + ((event.clientX - box.left) / box.width) * (to - from));
        }
      });
    }
    cursor.style.left = `${share * 100}%`;
  }
}

function LogTable(
  { rows, t, start }: { rows: LogRow[]; t: number; start: number },
) {
  if (rows.length === 0) {
    return <p class="muted">No messages around this time.</p>;
  }
  const current = rows.findLastIndex((r) => r.t <= t);
  return (
    <div class="table-scroll">
      <MessageLog
        rows={rows}
        className="replay-log"
        compact
        caption="Messages around the current time; the highlighted row is the last one sent, greyed rows are still to come"
        maxChars={PAYLOAD_CHARS}
        time={(r) => (
          <>
            {tankClock(start, r.t)}{" "}
            <span class="muted">+{formatClock(r.t)}</span>
          </>
        )}
        rowAttributes={(r, i) => ({
          "data-seq": String(r.seq),
          class: i === current
            ? "replay-now"
            : r.t > t
            ? "replay-later"
            : undefined,
          "aria-current": i === current ? "true" : undefined,
        })}
      />
    </div>
  );
}

/** The replay player. */
export default function Replay(props: ReplayProps) {
  const { runId, start, end, step, fallback } = props;
  const [t, setT] = useState(props.frame.t);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(REPLAY_SPEEDS[0]!);
  const [frame, setFrame] = useState<ReplayFrameJson>(props.frame);
  const [log, setLog] = useState<LogRow[]>(props.log);
  const [error, setError] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const wanted = useRef(t);
  const busy = useRef(false);
  wanted.current = t;

  const seek = (next: number) => setT(clamp(next, end));

  // Fetches the card and log for the latest time asked for, one request pair at a time.
  const sync = async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (;;) {
        const at = wanted.current;
        const [nextFrame, page] = await Promise.all([
          getJson<ReplayFrameJson>(frameUrl(runId, at)),
          getJson<{ records: LogRow[] }>(logUrl(runId, at, step)),
        ]);
        setFrame(nextFrame);
        setLog(page.records);
        setError(null);
        if (wanted.current === at) break;
      }
    } catch (e) {
      setError(`Cannot load the run at this time: ${(e as Error).message}`);
    } finally {
      busy.current = false;
    }
  };

  useEffect(() => {
    if (t !== frame.t) sync();
  }, [t]);

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let handle = requestAnimationFrame(function tick(now) {
      const next = wanted.current + ((now - last) / 1000) * speed;
      last = now;
      if (next >= end) {
        setT(end);
        setPlaying(false);
        return;
      }
      setT(next);
      handle = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(handle);
  }, [playing, speed]);

  // The chart cursors follow t; charts drawn later get theirs when they appear.
  useEffect(() => {
    const element = root.current;
    if (element === null) return;
    const place = () =>
      placeCursors(element, wanted.current, fallback.from, fallback.to, seek);
    place();
    const observer = new MutationObserver(place);
    observer.observe(element, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    if (root.current) {
      placeCursors(root.current, t, fallback.from, fallback.to, seek);
    }
  }, [t]);

  const togglePlay = () => {
    if (!playing && t >= end) setT(0);
    setPlaying(!playing);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    const tag = target.tagName;
    const onSlider = tag === "INPUT" &&
      (target as HTMLInputElement).type === "range";
    if (event.key === " " && tag !== "BUTTON" && tag !== "SELECT") {
      event.preventDefault();
      togglePlay();
      return;
    }
    if (tag === "SELECT" || (tag === "INPUT" && !onSlider)) return;
    const jump = Math.max(step, Math.round(end / 20 / step) * step);
    const moves: Record<string, number> = onSlider
      ? { PageUp: jump, PageDown: -jump }
      : {
        ArrowRight: step,
        ArrowUp: step,
        ArrowLeft: -step,
        ArrowDown: -step,
        PageUp: jump,
        PageDown: -jump,
      };
    const move = moves[event.key];
    if (move !== undefined) {
      event.preventDefault();
      seek(t + move);
    }
  };

  const words = `${formatDuration(t)} since the start (tank clock ${
    tankClock(start, t)
  })`;
  return (
    <div
      ref={root}
      class="replay"
      data-t={String(t)}
      data-frame-t={String(frame.t)}
      data-playing={playing ? "true" : "false"}
      onKeyDown={onKeyDown}
    >
      <form
        class="replay-controls card"
        method="get"
        aria-label="Replay controls"
        onSubmit={(event) => event.preventDefault()}
      >
        <button
          type="button"
          data-action="play"
          aria-pressed={playing ? "true" : "false"}
          onClick={togglePlay}
        >
          {playing ? "⏸ Pause" : "▶ Play"}
        </button>
        <label>
          Speed{" "}
          <select
            name="speed"
            value={String(speed)}
            onChange={(event) =>
              setSpeed(
                Number((event.currentTarget as HTMLSelectElement).value),
              )}
          >
            {REPLAY_SPEEDS.map((s) => (
              <option value={String(s)}>{speedWords(s)}</option>
            ))}
          </select>
        </label>
        <label class="replay-scrub">
          Simulated time
          <input
            type="range"
            name="t"
            min="0"
            max={String(end)}
            step={String(step)}
            value={String(t)}
            aria-valuetext={words}
            onInput={(event) =>
              seek((event.currentTarget as HTMLInputElement).valueAsNumber)}
          />
        </label>
        <output data-field="replay-time" aria-live="off">
          {formatClock(t)} of {formatClock(end)} · tank clock{" "}
          {tankClock(start, t)}
        </output>
        <noscript>
          <button type="submit">Show this time</button>
        </noscript>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="replay-grid">
        <TankCard
          view={frame.view}
          connection={{ state: "connected", since: 0 }}
          now={frame.now}
          mode={playing ? `replay, playing at ${speed}×` : "replay, paused"}
        />
        <section aria-labelledby="replay-log-heading" class="replay-log-box">
          <h2 id="replay-log-heading">Messages around this time</h2>
          <LogTable rows={log} t={frame.t} start={start} />
        </section>
      </div>
      <section aria-labelledby="replay-charts-heading">
        <h2 id="replay-charts-heading">
          What the fish lived through{" "}
          <small class="muted">(orange line: the current time)</small>
        </h2>
        <RunCharts runId={runId} start={start} fallback={fallback} />
      </section>
    </div>
  );
}

if (typeof document !== "undefined") hydrateIslands("Replay", Replay);
