/**
 * The card of one live tank: every reading against the range the tank uses (in words and colour), the actuators, the
 * alarm, the simulated time, how old the readings are and the connection. Pure: the same markup on the server (the
 * snapshot a page without JavaScript shows) and in the `LiveTank` island.
 *
 * @module
 */

import type { ComponentChildren } from "preact";
import type { SensorName } from "../../sim/mod.ts";
import { formatDuration, formatSimTime } from "../../lib/mod.ts";
import {
  type ConnectionView,
  controlledBy,
  formatRange,
  formatReading,
  isRig,
  judge,
  LABELS,
  MEASUREMENTS,
  readingAge,
  type TankView,
  type Verdict,
} from "../live_view.ts";

/** Props of {@linkcode TankCard}. */
export interface TankCardProps {
  view: TankView;
  connection: ConnectionView;
  /** Server wall-clock milliseconds now, to say how old the readings are. */
  now: number;
  /** The range editor of one measurement (the island passes its forms). */
  editor?: (name: SensorName) => ComponentChildren;
  /** Under the table: the live chart. */
  children?: ComponentChildren;
  /** Shown instead of the connection state (a replay says it is one). */
  mode?: string;
}

const VERDICT_CLASS: Record<Verdict, string> = {
  "in range": "state-ok",
  LOW: "state-low",
  HIGH: "state-high",
  "no range": "muted",
};

function heaterText(percent: number | undefined): string {
  if (percent === undefined) return "?";
  return percent > 0 ? `on ${Math.round(percent * 10) / 10} %` : "off";
}

function onOff(value: boolean | undefined): string {
  return value === undefined ? "?" : value ? "on" : "off";
}

function connectionText(connection: ConnectionView): string {
  switch (connection.state) {
    case "connected":
      return "connected";
    case "connecting":
      return "connecting to the broker…";
    case "reconnecting":
      return "connection lost, reconnecting…";
    case "closed":
      return "disconnected";
  }
}

/** The tank's pace in words: `60× real time`, or `lockstep` for speed 0 (a step whenever the controller answered). */
export function speedWords(speed: number): string {
  if (!(speed > 0)) return "lockstep (as fast as the controller answers)";
  return speed === 1 ? "real time" : `${speed}× real time`;
}

/** One tank, as a card. */
export function TankCard(
  { view, connection, now, editor, children, mode }: TankCardProps,
) {
  const age = readingAge(view, now);
  const a = view.actuators;
  const headingId = `tank-${view.tank}`;
  const rig = isRig(view);
  const source = controlledBy(view);
  return (
    <article
      class="card live-card"
      data-tank={view.tank}
      aria-labelledby={headingId}
    >
      <h2 id={headingId}>
        {view.tank} {mode === undefined
          ? (
            <small
              class={connection.state === "connected"
                ? "state-ok"
                : "state-high"}
              data-field="connection"
            >
              {connectionText(connection)}
            </small>
          )
          : <small class="muted" data-field="connection">{mode}</small>}
      </h2>
      {rig && (
        <p data-field="rig-status">
          Outside tank (rig):{" "}
          <strong
            class={view.status?.state === "online" ? "state-ok" : "state-high"}
          >
            {view.status?.state ?? "not heard from yet"}
          </strong>
        </p>
      )}
      {view.status && !rig && (
        <p class="muted">
          {view.status.title ?? view.status.scenario ?? "scenario"} ·{" "}
          {view.status.state ?? "?"}
          {view.status.speed !== undefined &&
            ` · ${speedWords(view.status.speed)}`}
        </p>
      )}
      <p>
        Simulated time:{" "}
        <strong data-field="sim-time">
          {view.sim
            ? `${view.sim.time ? formatSimTime(view.sim.time) + " " : ""}(t = ${
              formatDuration(view.sim.t)
            })`
            : rig
            ? "none (the rig publishes no simulated time)"
            : "not yet known"}
        </strong>
        <br />
        Last reading:{" "}
        <span
          data-field="age"
          class={age?.stale ? "state-high" : undefined}
        >
          {age === undefined
            ? "none yet"
            : `${formatDuration(age.seconds)} ago${
              age.stale ? " — STALE (the tank has stopped publishing)" : ""
            }`}
        </span>
      </p>
      <p
        data-field="alarm"
        role={view.alarm?.raised ? "alert" : undefined}
        class={view.alarm?.raised ? "state-high" : "muted"}
      >
        {view.alarm?.raised
          ? `🚨 ALARM: ${view.alarm.message || "(no message)"}`
          : "Alarm: off"}
      </p>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Measurement</th>
              <th scope="col">Reading</th>
              <th scope="col">Range in use</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {MEASUREMENTS.map((name) => {
              const reading = view.readings[name];
              const range = view.ranges[name];
              const verdict = reading?.value == null
                ? undefined
                : judge(reading.value, range);
              return (
                <tr data-measurement={name}>
                  <th scope="row">{LABELS[name]}</th>
                  <td data-field="value">
                    {reading === undefined
                      ? "—"
                      : formatReading(name, reading.value)}
                  </td>
                  <td data-field="range">{formatRange(name, range)}</td>
                  <td data-field="verdict">
                    {verdict === undefined
                      ? <span class="muted">—</span>
                      : (
                        <span class={VERDICT_CLASS[verdict]}>
                          {verdict === "LOW"
                            ? "▼ LOW"
                            : verdict === "HIGH"
                            ? "▲ HIGH"
                            : verdict === "in range"
                            ? "✓ in range"
                            : verdict}
                        </span>
                      )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p data-field="actuators">
        Heater <strong>{heaterText(a?.heater)}</strong> · Light{" "}
        <strong>{onOff(a?.light)}</strong> · Pump{" "}
        <strong>{onOff(a?.pump)}</strong> · Top-up{" "}
        <strong>{onOff(a?.topup)}</strong>
      </p>
      {source !== undefined && (
        <p data-field="control">
          Controlled by:{" "}
          <strong>
            {source === view.tank
              ? "its own control topics"
              : `${source}'s control topics (follows ${source})`}
          </strong>
          {view.handover && (
            <span data-field="handover">
              {` · handed over from ${
                view.handover.from === view.tank
                  ? "its own control topics"
                  : view.handover.from
              }`}
              {view.handover.t !== undefined
                ? ` at ${
                  view.handover.time
                    ? formatSimTime(view.handover.time)
                    : `t = ${formatDuration(view.handover.t)}`
                }`
                : ""}
            </span>
          )}
        </p>
      )}
      {view.lastError && (
        <p class="error" data-field="last-error">
          Last error{view.lastError.topic ? ` on ${view.lastError.topic}` : ""}:
          {" "}
          {view.lastError.error}
        </p>
      )}
      {children}
      {editor && (
        <details class="range-editors">
          <summary>Change a range</summary>
          {MEASUREMENTS.map((name) => editor(name))}
        </details>
      )}
    </article>
  );
}
