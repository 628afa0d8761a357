/**
 * Advice for students: what went wrong in a run, with its figures, and what to try, in plain words.
 *
 * @module
 */

import type { RunMeta } from "../store/mod.ts";
import type { SensorName } from "../sim/mod.ts";
import type { ScenarioGrading, SensorRange } from "../scenarios/mod.ts";
import {
  formatDuration,
  formatFigure,
  formatHours,
  formatNumber,
  plural,
} from "./_format.ts";
import { hygieneAdvice, outcomeAdvice } from "./_protocol_advice.ts";
import type {
  ActuatorKpis,
  FaultKpis,
  MeasurementKpis,
  RunKpis,
} from "./kpis.ts";

/** Text a controller sent, quoted for a sentence: on one line, at most 60 characters. */
function _quote(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return `"${line.length > 60 ? `${line.slice(0, 59)}…` : line}"`;
}

/** A measurement whose component scores at least this gets no advice. */
export const MEASUREMENT_ADVICE_BELOW = 0.97;

const LABELS: Readonly<Record<SensorName, string>> = {
  temperature: "temperature",
  room_temperature: "room temperature",
  ph: "pH",
  oxygen: "oxygen",
  light: "light",
  level: "water level",
};

/** Decimals a value of each measurement is shown with. */
const DECIMALS: Readonly<Record<SensorName, number>> = {
  temperature: 1,
  room_temperature: 1,
  ph: 2,
  oxygen: 2,
  light: 0,
  level: 1,
};

/** A true value with its unit: `24.5 °C`, `4.80 mg/L`, `pH 7.19`. */
function _value(sensor: SensorName, unit: string, value: number): string {
  const text = formatNumber(value, DECIMALS[sensor]);
  return sensor === "ph" ? `pH ${text}` : `${text} ${unit}`;
}

/** A bound as the scenario gives it: `24 °C`, `6 mg/L`, `7.2` (the pH needs no unit after "pH was below"). */
function _bound(sensor: SensorName, unit: string, bound: number): string {
  const text = formatNumber(bound, (String(bound).split(".")[1] ?? "").length);
  return sensor === "ph" ? text : `${text} ${unit}`;
}

/** On/off thresholds a quarter of the way into a range: 24.5 and 25.5 for 24–26. */
function _hysteresis(range: SensorRange | null | undefined, fallback: {
  min: number;
  width: number;
}): { low: number; high: number } {
  const min = range?.min ?? fallback.min;
  const width = range?.max !== undefined && range.min !== undefined
    ? range.max - range.min
    : fallback.width;
  return { low: min + width / 4, high: min + (3 * width) / 4 };
}

function _measurementHint(
  m: MeasurementKpis,
  side: "below" | "above",
): string {
  const range = m.range ?? {};
  switch (`${m.name}:${side}`) {
    case "temperature:below":
      return "start heating earlier: switch the heater on before the water reaches the minimum (it takes hours to warm back)";
    case "temperature:above":
      return "switch the heater off sooner: the water keeps warming for a while after it goes off";
    case "oxygen:below": {
      const min = range.min ?? 6;
      return `run the air pump sooner and longer, e.g. on below ${
        formatFigure(min + 0.5)
      } mg/L and off above ${formatFigure(min + 1.5)} mg/L`;
    }
    case "oxygen:above":
      return "run the air pump less";
    case "light:below":
      return "switch the lamp on whenever the range asks for a minimum (watch ranges/light: it changes with the time of day)";
    case "light:above":
      return "switch the lamp off when the range asks for a maximum (the fish need a dark night)";
    case "level:below":
      return `open the top-up valve when the level nears ${
        formatFigure(range.min ?? 30)
      } cm, in short bursts`;
    case "level:above":
      return "close the top-up valve sooner";
    case "ph:below":
      return "run the air pump more: bubbling drives CO2 out and raises the pH";
    case "ph:above":
      return "run the air pump less: less bubbling leaves more CO2 in the water and lowers the pH";
    default:
      return "keep an eye on its range";
  }
}

/** `2.3 h`, or `12 min` below an hour. */
function _howLong(hours: number): string {
  return hours >= 1 ? formatHours(hours * 3600) : formatDuration(hours * 3600);
}

function _measurementAdvice(m: MeasurementKpis, score: number): string[] {
  const out: string[] = [];
  // The sample at a change of range is always off by a step (the controller answers it): not worth a word.
  if (score >= MEASUREMENT_ADVICE_BELOW) return out;
  for (const side of ["below", "above"] as const) {
    const hours = side === "below" ? m.hoursBelow : m.hoursAbove;
    const area = side === "below" ? m.areaBelow : m.areaAbove;
    if (hours <= 0) continue;
    const worst = m.worst?.side === side ? m.worst : null;
    const bound = worst?.bound ??
      (side === "below" ? m.range?.min : m.range?.max);
    const edge = bound === undefined
      ? `${side} its range`
      : `${side} ${_bound(m.name, m.unit, bound)}`;
    const peak = worst === null
      ? ""
      : `, ${side === "below" ? "lowest" : "highest"} ${
        _value(m.name, m.unit, worst.value)
      } at ${worst.clock}`;
    out.push(
      `${LABELS[m.name]} was ${edge} for ${_howLong(hours)} (${
        formatFigure(area)
      } ${m.areaUnit}${peak}): ${_measurementHint(m, side)}`,
    );
  }
  return out;
}

function _switchingAdvice(
  actuator: ActuatorKpis,
  kpis: RunKpis,
): string {
  const range = (name: SensorName) =>
    kpis.measurements.find((m) => m.name === name)?.range;
  const head = `${
    {
      heater: "heater",
      light: "lamp",
      pump: "air pump",
      topup: "top-up valve",
    }[
      actuator.name
    ]
  } switched ${plural(actuator.counted, "time")} (${
    formatFigure(actuator.countedPerHour)
  } per hour)`;
  switch (actuator.name) {
    case "heater": {
      const { low, high } = _hysteresis(range("temperature"), {
        min: 24,
        width: 2,
      });
      return `${head}: add hysteresis, e.g. switch on below ${
        formatFigure(low)
      } °C and off above ${formatFigure(high)} °C`;
    }
    case "pump": {
      const min = range("oxygen")?.min ?? 6;
      return `${head}: add hysteresis, e.g. on below ${
        formatFigure(min + 0.5)
      } mg/L and off above ${formatFigure(min + 1.5)} mg/L`;
    }
    case "light":
      return `${head}: switch it once when the light range changes, not on every reading (daylight makes the reading wobble)`;
    case "topup": {
      const min = range("level")?.min ?? 30;
      return `${head}: open it in fewer, longer bursts, e.g. open below ${
        formatFigure(min + 0.5)
      } cm and close above ${formatFigure(min + 1.5)} cm`;
    }
  }
}

const FAULT_WORDS: Readonly<Record<string, { what: string; hint: string }>> = {
  heater_failure: {
    what: "the heater failed",
    hint:
      "compare the temperature trend with the heater command (falling while the heater is on means no heat arrives)",
  },
  heater_stuck_on: {
    what: "the heater stuck on",
    hint:
      "compare the temperature trend with the heater command (rising while the heater is off means it is stuck on)",
  },
  pump_failure: {
    what: "the air pump failed",
    hint: "oxygen falling while the pump runs means the pump is not working",
  },
  power_cut: {
    what: "the power went off",
    hint:
      "when nothing responds (the water cools with the heater on, the light stays low with the lamp on), raise the alarm",
  },
  sensor_stuck: {
    what: "the {sensor} sensor stuck",
    hint:
      "a reading that does not change at all for several minutes is stuck (real water always wobbles a little)",
  },
  sensor_noise: {
    what: "the {sensor} sensor became noisy",
    hint:
      "readings that jump further than the water can change between two readings mean a faulty sensor",
  },
  sensor_dropout: {
    what: "the {sensor} sensor dropped out",
    hint:
      "a reading that stops arriving (nothing new for a minute) means the sensor dropped out",
  },
  feeding: {
    what: "the feeding",
    hint: "oxygen staying low although the pump runs calls for the alarm",
  },
  lid_open: {
    what: "the lid was opened",
    hint: "faster cooling and a falling level mean the lid is off",
  },
};

/** What happened, in words: `the heater failed`, `the temperature sensor stuck`. */
export function faultWhat(fault: FaultKpis): string {
  const words = FAULT_WORDS[fault.type];
  const sensor = LABELS[fault.sensor as SensorName] ?? fault.sensor ?? "";
  return words === undefined
    ? `the ${fault.type.replace(/_/g, " ")}`
    : words.what.replace("{sensor}", sensor);
}

function _faultAdvice(fault: FaultKpis, grading: ScenarioGrading): string {
  const hint = FAULT_WORDS[fault.type]?.hint ??
    "watch for changes the commands cannot explain";
  if (fault.detectedAfter === null) {
    return `no alarm after ${faultWhat(fault)} at ${fault.clock}: ${hint}`;
  }
  return `the alarm came ${formatDuration(fault.detectedAfter)} after ${
    faultWhat(fault)
  } at ${fault.clock} (deadline ${
    formatDuration(grading.detectionDeadline)
  }): raise it sooner; ${hint}`;
}

/** What to tell the student, most important first: the outcome, then by the points each component lost. */
export function adviceFor(
  kpis: RunKpis,
  options: {
    grading: ScenarioGrading;
    meta: RunMeta;
    /** Each component's score, by name. */
    scores: ReadonlyMap<string, number>;
    /** Points each component lost (weight × (1 − score)), by name. */
    lost: ReadonlyMap<string, number>;
    budgetWh: number;
    budgetEstimated: boolean;
  },
): string[] {
  const { grading, meta, lost } = options;
  const items: { loss: number; text: string }[] = [];
  const add = (component: string, text: string) =>
    items.push({ loss: lost.get(component) ?? 0, text });

  for (const m of kpis.measurements) {
    if (grading.weights[m.name] > 0) {
      const score = options.scores.get(m.name) ?? 0;
      for (const text of _measurementAdvice(m, score)) add(m.name, text);
    }
  }
  if (grading.weights.switching > 0) {
    for (const actuator of kpis.switching.actuators) {
      if (actuator.countedPerHour > grading.maxSwitchesPerHour) {
        add("switching", _switchingAdvice(actuator, kpis));
      }
    }
  }
  const used = kpis.energy.countedWh;
  if (grading.weights.energy > 0 && used > options.budgetWh) {
    const over = ((used - options.budgetWh) / Math.max(1, options.budgetWh)) *
      100;
    add(
      "energy",
      `the heater gave ${formatNumber(used)} Wh, ${formatNumber(over)} % over ${
        options.budgetEstimated ? "the estimated" : "the"
      } ${
        formatNumber(options.budgetWh)
      } Wh budget: aim for the middle of the range rather than the top, and avoid overshooting`,
    );
  }
  if (grading.weights.alarms > 0) {
    for (const fault of kpis.alarms.faults) {
      if (fault.expected && !fault.withinDeadline) {
        add("alarms", _faultAdvice(fault, grading));
      }
    }
    const falses = kpis.alarms.falseAlarms;
    if (falses.length > 0) {
      add(
        "alarms",
        `${
          plural(falses.length, "alarm")
        } raised when nothing was wrong (first at ${falses[0]!.clock}: ${
          _quote(falses[0]!.message)
        }): raise the alarm only for a fault, and clear it with an empty message, "off" or "clear" (any other text, even "ok", raises it)`,
      );
    }
  }
  // Protocol advice is given even when hygiene is not scored: it explains slow or broken runs.
  for (const text of hygieneAdvice(kpis, meta)) add("hygiene", text);
  // A stable sort: equal losses keep the order above.
  items.sort((a, b) => b.loss - a.loss);
  const outcome = outcomeAdvice(meta, kpis);
  return [...(outcome === null ? [] : [outcome]), ...items.map((i) => i.text)];
}
