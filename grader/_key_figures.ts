/**
 * The few figures every report shows for a run, in the same words: the temperature kept, the heat used, the alarms
 * and the protocol slips.
 *
 * @module
 */

import { formatFigure, formatNumber, plural } from "./_format.ts";
import { outcomeLabel } from "./_protocol_advice.ts";
import type { RunGrade } from "./score.ts";

/** `temperature 91.7 % in range (2 K·h outside)`, `heater 288 Wh`, `1/1 faults alarmed in time`, … */
export function keyFigures(grade: RunGrade): string[] {
  const { kpis } = grade;
  const out: string[] = [];
  const temperature = kpis.measurements.find((m) => m.name === "temperature");
  if (temperature !== undefined) {
    out.push(
      `temperature ${
        formatNumber(temperature.timeInRangePercent, 1)
      } % in range${
        temperature.areaOutside > 0
          ? ` (${
            formatFigure(temperature.areaOutside)
          } ${temperature.areaUnit} outside)`
          : ""
      }`,
    );
  }
  out.push(`heater ${formatNumber(kpis.energy.countedWh)} Wh`);
  const most =
    [...kpis.switching.actuators].sort((a, b) =>
      b.countedPerHour - a.countedPerHour
    )[0];
  if (most !== undefined && most.counted > 0) {
    out.push(`${most.name} ${formatFigure(most.countedPerHour)} switches/h`);
  }
  const expected = kpis.alarms.faults.filter((fault) => fault.expected);
  if (expected.length > 0) {
    const inTime = expected.filter((fault) => fault.withinDeadline).length;
    out.push(`${inTime}/${expected.length} faults alarmed in time`);
  }
  out.push(plural(kpis.alarms.falseAlarms.length, "false alarm"));
  const { rejected, strayMessages } = kpis.hygiene;
  if (rejected > 0) out.push(`${formatNumber(rejected)} rejected`);
  if (strayMessages > 0) out.push(`${formatNumber(strayMessages)} stray`);
  return out;
}

/** `pass` or `fail`, with why a run that did not complete, or that another client commanded, cannot pass. */
export function verdict(grade: RunGrade): string {
  if (grade.pass) return "pass";
  if (grade.outcome !== "completed") {
    return `fail (${outcomeLabel(grade.outcome, grade.outcomeMessage)})`;
  }
  return grade.interference ? "fail (interference)" : "fail";
}

/** The sentence on interference, capitalised to lead a line: `Interference: controller-2 (mosquitto_pub), …`. */
export function interferenceLine(grade: RunGrade): string | null {
  const message = grade.interference?.message;
  return message ? message[0]!.toUpperCase() + message.slice(1) : null;
}

/** `steady-day v1`. */
export function scenarioLabel(grade: RunGrade): string {
  return `${grade.scenario.id} v${grade.scenario.version}`;
}

/** Components that lost the most points, worst first: `temperature 61 %, alarms 0 %`. */
export function weakestComponents(grade: RunGrade, count = 2): string[] {
  return [...grade.components]
    .filter((c) => c.score < 1)
    .sort((a, b) => b.weight * (1 - b.score) - a.weight * (1 - a.score))
    .slice(0, count)
    .map((c) => `${c.name} ${formatNumber(c.score * 100)} %`);
}

/**
 * How the run knew the controller had answered each step, and what that means for repeating it: one sentence for the
 * score card, the Markdown report and the web report; null when no step was played.
 */
export function synchronisation(grade: Pick<RunGrade, "kpis">): string | null {
  const { ackMode, timedOutSteps, steps } = grade.kpis.hygiene;
  switch (ackMode) {
    case "explicit":
      return "synchronised by your acks on …/ack: exact, the same result every time";
    case "library":
      return "synchronised by your MQTT library (the harness saw your message callbacks return): exact, the same result every time";
    case "puback":
      return "synchronised by the PUBACKs of your QoS 1 subscription: the same result every time";
    case "process":
      return "synchronised by your program's processes (the harness saw them wait with every reading read, on Linux): the same result every time, unless your program acts on wall-clock timers";
    case "timeout":
      return `synchronised by a wall-clock window per step (${
        formatNumber(timedOutSteps)
      } of ${
        formatNumber(steps)
      } steps): what arrives within a step can depend on the machine's load, so two runs may differ. For an exact run, use paho-mqtt or mqtt.js (the harness sees your callbacks return), run on Linux (the harness watches your processes), or publish the readings' t on …/ack once you have dealt with them`;
    default:
      return null;
  }
}
