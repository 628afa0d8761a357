/**
 * Advice on how the run went as a protocol exchange: how it ended (a crash, no connection, …) and the controller's
 * slips (refused messages, stray topics, late or slow answers).
 *
 * @module
 */

import type { RunMeta } from "../store/mod.ts";
import { formatDuration, formatNumber, plural } from "./_format.ts";
import type { RunKpis } from "./kpis.ts";
import { answersSteps } from "./score_components.ts";

/** Median answer time from which a client is most likely held up by Nagle's algorithm and delayed ACKs, ms. */
export const SLOW_RESPONSE_MS = 35;

/** The harness's own words, on one line. */
function _oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The question a controller that ended with exit code 0 before the run did is asked. */
export const ENDED_EARLY =
  "your program ended before the run did (exit code 0): did it forget `loop_forever()` (or to keep running)?";

/**
 * Whether a `crashed` run's controller in fact ended cleanly (exit code 0, no signal): it did not crash, it stopped
 * too soon. Read from the meta when there is one, else from the harness's sentence (`… exited with code 0 …`, or
 * {@linkcode ENDED_EARLY}'s words).
 */
export function endedEarly(
  outcome: string,
  options: {
    controller?: { exitCode: number | null; signal: string | null };
    outcomeMessage?: string | null;
  },
): boolean {
  if (outcome !== "crashed") return false;
  if (options.controller !== undefined) {
    return options.controller.exitCode === 0 && !options.controller.signal;
  }
  return /\b(?:with code|exit code) 0\b/.test(options.outcomeMessage ?? "");
}

/** How a run ended, in a word or two for a report's heading: its outcome, but `ended early` for a clean exit. */
export function outcomeLabel(
  outcome: string,
  outcomeMessage: string | null,
): string {
  return endedEarly(outcome, { outcomeMessage }) ? "ended early" : outcome;
}

/** A sentence on a run that did not complete, or null for a completed run. */
export function outcomeAdvice(meta: RunMeta, kpis: RunKpis): string | null {
  const message = meta.outcomeMessage
    ? ` (${_oneLine(meta.outcomeMessage)})`
    : "";
  const base = `${meta.root}/${meta.tank}`;
  const partial = `the score covers only the first ${
    formatDuration(kpis.covered)
  } of ${formatDuration(kpis.duration)}`;
  switch (meta.outcome) {
    case "completed":
      return null;
    case "crashed": {
      const { exitCode, signal } = meta.controller;
      if (endedEarly(meta.outcome, meta)) {
        // Not a crash: nothing went wrong inside the program, and there is no error output to read.
        const at = /at simulated (\d+(?:\.\d+)?) s/.exec(
          meta.outcomeMessage ?? "",
        );
        return `${ENDED_EARLY} It ended ${
          at ? `at simulated ${at[1]} s ` : ""
        }and the tank ran on without control: a controller keeps running until the harness stops it (paho: end with client.loop_forever(); other clients: do not disconnect or exit after subscribing)`;
      }
      const how = signal
        ? `killed by ${signal}`
        : exitCode === null
        ? "exited"
        : `exit code ${exitCode}`;
      return `your controller crashed before the end of the run (${how}) and the tank ran on without control: read its error output, fix the error and run again${message}`;
    }
    case "unresponsive":
      if (/disconnected at simulated/.test(meta.outcomeMessage ?? "")) {
        return `your controller left the broker and did not come back, and the tank ran on without control: keep its network loop running to the end (paho: loop_forever(), or loop_start() and a main loop that does not end) and let the client reconnect${message}`;
      }
      if (/wall-clock limit/.test(meta.outcomeMessage ?? "")) {
        return `the run took longer than its wall-clock limit and your controller was stopped: answer each reading quickly, and subscribe with QoS 1 if your MQTT client is not paho, mqtt.js or Node-RED${message}`;
      }
      return `your controller stopped answering and the tank ran on without control: make sure your message handler returns quickly and never waits (no sleep or input inside it)${message}`;
    case "no_connect": {
      const within = /within (\d+(?:\.\d+)?) ?s\b/.exec(
        meta.outcomeMessage ?? "",
      );
      return `your controller did not connect ${
        within ? `within ${within[1]} s` : "in time"
      }: check MQTT_HOST/MQTT_PORT (or MQTT_URL), and that it connects as soon as it starts`;
    }
    case "no_subscribe":
      return `your controller connected but did not subscribe to the readings: check TANK_ID and TOPIC_ROOT, and subscribe to ${base}/sensors/all`;
    case "flooding":
      return `your controller sent too many messages per step and was cut off: publish a command only when it changes, never in a loop${message}`;
    case "interrupted":
      return `the run was stopped before the end: ${partial}`;
    case "running":
      return `the run has not finished: ${partial}`;
    case "error":
      return `the harness failed${message}: this is not your controller's fault; run it again, and tell your teacher if it happens again`;
  }
}

/** Advice on the protocol: idle controller, refused messages, stray topics, late and timed-out steps, slow answers. */
export function hygieneAdvice(kpis: RunKpis, meta: RunMeta): string[] {
  const h = kpis.hygiene;
  const base = `${meta.root}/${meta.tank}`;
  const out: string[] = [];
  if (h.connected && h.commands === 0 && meta.outcome !== "no_subscribe") {
    out.push(
      `your controller sent no commands at all: publish on ${base}/control/heater, …/light, …/pump and …/topup`,
    );
  }
  if (h.rejected > 0) {
    const first = h.rejectedTopics[0];
    const example = first === undefined
      ? ""
      : ` (most on ${first.topic}${first.note ? `: ${first.note}` : ""})`;
    out.push(
      `the tank refused ${
        plural(h.rejected, "message")
      }${example}: it says why on ${base}/errors`,
    );
  }
  if (h.strayMessages > 0) {
    const topics = h.strayTopics.slice(0, 3).map((t) =>
      `${t.topic} ×${formatNumber(t.count)}`
    ).join(", ");
    out.push(
      `${
        plural(h.strayMessages, "message")
      } went to topics the tank does not read (${topics}${
        h.strayTopics.length > 3 ? ", …" : ""
      }): commands go to ${base}/control/<actuator>, alarms to ${base}/alarm, acks to ${base}/ack`,
    );
  }
  if (h.lateCommands > 0) {
    out.push(
      `${
        plural(h.lateCommands, "command")
      } arrived after their step had closed: publish your commands before you acknowledge the readings`,
    );
  }
  if (
    h.timedOutSteps > 0 && answersSteps(h.ackMode)
  ) {
    out.push(
      `${formatNumber(h.timedOutSteps)} of ${
        formatNumber(h.steps)
      } steps timed out waiting for your answer: handle every batch of readings, and quickly`,
    );
  }
  if (h.medianResponseMs !== null && h.medianResponseMs >= SLOW_RESPONSE_MS) {
    out.push(
      `steps took ${
        formatNumber(h.medianResponseMs)
      } ms each: your client waits for TCP acknowledgements (Nagle); subscribe with QoS 1 or set TCP_NODELAY`,
    );
  }
  return out;
}
