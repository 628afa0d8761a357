/**
 * The formula of each score component, from the run's KPIs to a number 0–1, with a short text that shows the figure
 * it rests on. `grader/README.md` states them for students and teachers.
 *
 * @module
 */

import type { RunOutcome } from "../store/mod.ts";
import type { SensorName } from "../sim/mod.ts";
import type { ScenarioGrading } from "../scenarios/mod.ts";
import {
  formatDuration,
  formatFigure,
  formatNumber,
  plural,
} from "./_format.ts";
import type {
  ActuatorKpis,
  AlarmKpis,
  EnergyKpis,
  FaultKpis,
  HygieneKpis,
  MeasurementKpis,
} from "./kpis.ts";

/** A component's score (0–1) and the figure behind it in words. */
export interface ComponentResult {
  /** 0–1. */
  score: number;
  /** The figure behind it, in a few words. */
  detail: string;
}

/**
 * How far outside its range each measurement may stray, in its unit: an excursion of this size lasting
 * {@linkcode TOLERANCE_HOURS} hours halves the component (an area of 4 K·h for the temperature).
 */
export const RANGE_TOLERANCE: Readonly<Record<SensorName, number>> = {
  temperature: 1,
  room_temperature: 1,
  ph: 0.2,
  oxygen: 1,
  light: 200,
  level: 1,
};
/** Hours of an excursion of {@linkcode RANGE_TOLERANCE} that halve a range component. */
export const TOLERANCE_HOURS = 4;
/** Taken off the alarm component per false alarm. */
export const FALSE_ALARM_PENALTY = 0.25;
/** A late alarm's credit falls linearly from 1 at the deadline to 0 at this many deadlines after the fault. */
export const LATE_ALARM_DEADLINES = 4;

/** Hygiene penalties: per event, and the most each kind of slip may take off. */
export const HYGIENE_PENALTIES = {
  rejected: { each: 0.05, most: 0.4 },
  stray: { each: 0.05, most: 0.3 },
  late: { each: 0.02, most: 0.2 },
  /** Per timed-out fraction of the steps (10 % of the steps timed out → the most). */
  timedOut: { each: 3, most: 0.3 },
} as const;

/** Runs where no controller took part, so there is no behaviour to judge. */
const ABSENT: ReadonlySet<RunOutcome> = new Set(["no_connect", "no_subscribe"]);

function _clamp(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/**
 * Range component. Version 1: time-in-range fraction × 1 / (1 + area / (tolerance × 4 h)). Version 2: 1 / (1 +
 * area / (tolerance × 4 h)), the area counted once (K·h already holds how long), and where the scenario has a fault
 * and the reference controller's area is known (`referenceArea`) only the area beyond the reference's counts: what
 * no controller could have kept in range is not lost.
 */
export function rangeScore(
  m: MeasurementKpis,
  options: { version?: number; referenceArea?: number } = {},
): ComponentResult {
  const scale = RANGE_TOLERANCE[m.name] * TOLERANCE_HOURS;
  const version = options.version ?? 1;
  const outside = m.hoursOutside > 0
    ? `, ${formatFigure(m.areaOutside)} ${m.areaUnit} outside over ${
      formatNumber(m.hoursOutside, 1)
    } h`
    : "";
  const inRange = `${formatNumber(m.timeInRangePercent, 1)} % in range`;
  if (version < 2) {
    return {
      score: _clamp(m.timeInRange / (1 + m.areaOutside / scale)),
      detail: `${inRange}${outside}`,
    };
  }
  const reference = options.referenceArea;
  const counted = reference === undefined
    ? m.areaOutside
    : Math.max(0, m.areaOutside - reference);
  const beside = reference === undefined
    ? ""
    : ` (reference: ${formatFigure(reference)} ${m.areaUnit})`;
  return {
    score: _clamp(1 / (1 + counted / scale)),
    detail: `${inRange}${outside || `, 0 ${m.areaUnit} outside`}${beside}`,
  };
}

/**
 * Energy component. Version 1: 1 up to the budget, falling linearly to 0 at twice the budget. Version 2: what the
 * reference controller used on the same scenario and seed (else the budget) divided by what was used, at most 1.
 * Either way multiplied by `kept` (the temperature component), so a controller that saves energy by letting the water
 * go cold earns nothing for it.
 */
export function energyScore(
  energy: EnergyKpis,
  options: {
    budgetWh: number;
    estimated: boolean;
    kept: number;
    version?: number;
    referenceWh?: number;
  },
): ComponentResult {
  const kept = options.kept < 1
    ? ` × ${formatNumber(options.kept, 2)} for the temperature kept`
    : "";
  const used = energy.countedWh;
  if ((options.version ?? 1) >= 2) {
    // Version 2: continuous, no flat band: what a good controller needs (the reference's energy on the same scenario
    // and seed, else the budget) over what was used.
    const needed = Math.max(1, options.referenceWh ?? options.budgetWh);
    const against = options.referenceWh !== undefined
      ? `the reference controller's ${formatNumber(options.referenceWh)} Wh`
      : `${options.estimated ? "an estimated " : "a "}${
        formatNumber(needed)
      } Wh budget`;
    return {
      score: _clamp(Math.min(1, needed / Math.max(used, 1e-9)) * options.kept),
      detail: `${formatNumber(used)} Wh against ${against}${kept}`,
    };
  }
  const budget = Math.max(1, options.budgetWh);
  const raw = used <= budget ? 1 : _clamp(1 - (used - budget) / budget);
  return {
    score: _clamp(raw * options.kept),
    detail: `${formatNumber(used)} Wh of ${
      options.estimated ? "an estimated " : "a "
    }${formatNumber(budget)} Wh budget${kept}`,
  };
}

/** The switching score of one actuator: 1 up to `limit` switches per hour, `limit / rate` beyond. */
export function actuatorSwitchingScore(
  actuator: ActuatorKpis,
  limit: number,
): number {
  const rate = actuator.countedPerHour;
  return rate <= limit ? 1 : limit / rate;
}

/**
 * Switching component: the worst actuator's score (1 up to `maxSwitchesPerHour`, halving each time the rate
 * doubles), multiplied by `kept` (the mean of the range components), so never switching anything earns nothing.
 */
export function switchingScore(
  actuators: readonly ActuatorKpis[],
  options: { limit: number; kept: number },
): ComponentResult {
  const ranked = [...actuators].sort((a, b) =>
    b.countedPerHour - a.countedPerHour
  );
  const worst = ranked[0];
  const raw = worst === undefined
    ? 1
    : actuatorSwitchingScore(worst, options.limit);
  const most = worst === undefined || worst.counted === 0
    ? "no switching"
    : `most: ${worst.name} ${formatFigure(worst.countedPerHour)}/h`;
  const kept = options.kept < 1
    ? ` × ${formatNumber(options.kept, 2)} for the ranges kept`
    : "";
  return {
    score: _clamp(raw * options.kept),
    detail: `${most} (limit ${formatFigure(options.limit)}/h)${kept}`,
  };
}

/** Credit for one expected fault: 1 within the deadline, falling linearly to 0 at four deadlines, 0 if never. */
export function detectionScore(fault: FaultKpis, deadline: number): number {
  if (fault.detectedAfter === null) return 0;
  if (fault.detectedAfter <= deadline) return 1;
  return _clamp(
    1 - (fault.detectedAfter - deadline) /
        ((LATE_ALARM_DEADLINES - 1) * deadline),
  );
}

/**
 * Alarm component: the mean detection credit over the expected faults (1 when none is expected), minus 0.25 per
 * false alarm; from version 2 also minus the fraction of the time outside fault windows the alarm was on (an alarm
 * left on all day costs the whole component). A run in which no controller took part (or that sent nothing at all)
 * has nothing to judge: 0.
 */
export function alarmScore(
  alarms: AlarmKpis,
  options: { grading: ScenarioGrading; idle: boolean },
): ComponentResult {
  const expected = alarms.faults.filter((fault) => fault.expected);
  const falses = alarms.falseAlarms.length;
  const noted = expected.filter((fault) => fault.detectedAfter !== null);
  const inTime = expected.filter((fault) => fault.withinDeadline);
  const parts: string[] = [];
  if (expected.length > 0) {
    parts.push(
      `${inTime.length} of ${expected.length} fault${
        expected.length === 1 ? "" : "s"
      } alarmed within ${formatDuration(options.grading.detectionDeadline)}`,
    );
    if (noted.length > inTime.length) {
      parts.push(`${noted.length - inTime.length} late`);
    }
  }
  parts.push(plural(falses, "false alarm"));
  const on = alarms.onOutsideFaults;
  if (on !== undefined && on.hours > 0) {
    parts.push(
      `on ${formatNumber(100 * on.fraction, 1)} % of the time without a fault`,
    );
  }
  if (options.idle && expected.length === 0) {
    return { score: 0, detail: "no controller activity to judge" };
  }
  const detection = expected.length === 0 ? 1 : expected.reduce(
    (sum, fault) =>
      sum + detectionScore(fault, options.grading.detectionDeadline),
    0,
  ) / expected.length;
  return {
    score: _clamp(
      detection - FALSE_ALARM_PENALTY * falses - (on?.fraction ?? 0),
    ),
    detail: parts.join(", "),
  };
}

/**
 * Hygiene component: 1 minus penalties for rejected messages (0.05 each, at most 0.4), publishes on stray topics
 * (0.05 each, at most 0.3), late commands (0.02 each, at most 0.2) and, when the controller acknowledges steps,
 * timed-out steps (3 × their fraction of the steps, at most 0.3). Answer times are not scored: they depend on the
 * machine. A run in which no controller took part (or that sent no command at all) has nothing to judge: 0.
 */
export function hygieneScore(
  hygiene: HygieneKpis,
  options: { outcome: RunOutcome; idle: boolean },
): ComponentResult {
  if (!hygiene.connected || ABSENT.has(options.outcome) || options.idle) {
    const detail = !hygiene.connected
      ? "never connected"
      : options.outcome === "no_subscribe"
      ? "never subscribed to the readings"
      : "no commands sent";
    return { score: 0, detail };
  }
  const p = HYGIENE_PENALTIES;
  const take = (count: number, rule: { each: number; most: number }) =>
    Math.min(rule.most, rule.each * count);
  const acking = answersSteps(hygiene.ackMode);
  const timedOut = acking && hygiene.steps > 0
    ? hygiene.timedOutSteps / hygiene.steps
    : 0;
  const penalty = take(hygiene.rejected, p.rejected) +
    take(hygiene.strayMessages, p.stray) +
    take(hygiene.lateCommands, p.late) +
    take(timedOut, p.timedOut);
  const parts = [
    `${formatNumber(hygiene.rejected)} rejected`,
    `${formatNumber(hygiene.strayMessages)} on stray topics`,
    `${formatNumber(hygiene.lateCommands)} late`,
  ];
  if (acking) parts.push(`${formatNumber(hygiene.timedOutSteps)} timed out`);
  return { score: _clamp(1 - penalty), detail: parts.join(", ") };
}

/**
 * Whether a run's steps were answered (acks, the library's reports, PUBACKs, the processes going idle), so that a
 * step that timed out is a fault; with only a wall-clock window, timing out is how every quiet step ends.
 */
export function answersSteps(ackMode: HygieneKpis["ackMode"]): boolean {
  return ackMode === "explicit" || ackMode === "library" ||
    ackMode === "puback" || ackMode === "process";
}

/** Whether no controller took part in a run, or it never sent a command nor an alarm. */
export function isIdle(hygiene: HygieneKpis, alarms: AlarmKpis): boolean {
  return !hygiene.connected ||
    (hygiene.commands === 0 && alarms.publishes === 0);
}
