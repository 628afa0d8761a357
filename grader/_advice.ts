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
  ExcursionContext,
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

/** A share as a percentage: `95 %`. */
function _percent(share: number): string {
  return `${formatNumber(share * 100)} %`;
}

/** Faults that explain a measurement being outside its range on one side, and what would not have helped. */
const FAULT_CAUSES: Readonly<
  Record<string, { types: readonly string[]; futile: string }>
> = {
  "temperature:below": {
    types: ["heater_failure", "power_cut"],
    futile: "heating earlier would not have helped",
  },
  "temperature:above": {
    types: ["heater_stuck_on"],
    futile: "switching the heater off sooner would not have helped",
  },
  "oxygen:below": {
    types: ["pump_failure", "power_cut"],
    futile: "running the air pump more would not have helped",
  },
  "light:below": {
    types: ["power_cut"],
    futile: "switching the lamp on would not have helped",
  },
};

/** The fault behind most of an excursion, or null when none was in force for at least half of it. */
function _causingFault(
  m: MeasurementKpis,
  side: "below" | "above",
  faults: readonly FaultKpis[],
): { fault: FaultKpis; futile: string } | null {
  const cause = FAULT_CAUSES[`${m.name}:${side}`];
  const context = m.during?.[side];
  const hours = side === "below" ? m.hoursBelow : m.hoursAbove;
  if (cause === undefined || context == null || hours <= 0) return null;
  const type = cause.types
    .map((type) => ({ type, hours: context.eventHours[type] ?? 0 }))
    .sort((a, b) => b.hours - a.hours)[0];
  if (type === undefined || type.hours < hours / 2) return null;
  const fault = faults.find((f) => f.type === type.type);
  return fault === undefined ? null : { fault, futile: cause.futile };
}

/** Advice for an excursion a fault caused: say so, and point at the alarm. */
function _faultCausedHint(
  fault: FaultKpis,
  futile: string,
  options: { base: string },
): string {
  const span = fault.until === null
    ? "to the end of the run"
    : `for ${formatDuration(fault.until - fault.at)}`;
  const hint = FAULT_WORDS[fault.type]?.hint ??
    "watch for changes the commands cannot explain";
  const alarm = fault.detectedAfter === null
    ? `detect it and raise the alarm on ${options.base}/alarm: ${hint}`
    : fault.withinDeadline
    ? `you raised the alarm ${
      formatDuration(fault.detectedAfter)
    } after it, which is what a controller can do`
    : `you raised the alarm ${
      formatDuration(fault.detectedAfter)
    } after it: raise it sooner; ${hint}`;
  return `${
    faultWhat(fault)
  } at ${fault.clock} (${span}), so ${futile}: ${alarm}`;
}

/** What to try, fitted to what the actuators did while the measurement was outside (`null` context: unknown). */
function _measurementHint(
  m: MeasurementKpis,
  side: "below" | "above",
  context: ExcursionContext | null,
): string {
  const range = m.range ?? {};
  // Mostly on, mostly off: the advice must not ask for what the controller already did.
  const on = (share: number | undefined) => share !== undefined && share >= 0.9;
  const off = (share: number | undefined) =>
    share !== undefined && share <= 0.1;
  switch (`${m.name}:${side}`) {
    case "temperature:below":
      return "start heating earlier: switch the heater on before the water reaches the minimum (it takes hours to warm back)";
    case "temperature:above": {
      if (context !== null && context.heaterWh < 0.05) {
        const max = range.max;
        const hotRoom = max !== undefined && context.roomMax !== null &&
          context.roomMax > max;
        return hotRoom
          ? `the heater gave no heat then (0 Wh), and the room was up to ${
            formatNumber(context.roomMax!, 1)
          } °C, warmer than the range's ${
            _bound("temperature", "°C", max!)
          }: a heater cannot cool, so keeping it off, as you did, is all it can do`
          : "the heater gave no heat then (0 Wh): the water was warm from before and cools toward the room only slowly (hours); keep the heater off until it is back in range, as you did";
      }
      return "switch the heater off sooner: the water keeps warming for a while after it goes off";
    }
    case "oxygen:below": {
      if (on(context?.pump)) {
        return `the air pump already ran ${
          _percent(context!.pump)
        } of that time and cannot do more: raise the alarm so that someone checks the tank (a failed pump, too much food)`;
      }
      const min = range.min ?? 6;
      return `run the air pump sooner and longer, e.g. on below ${
        formatFigure(min + 0.5)
      } mg/L and off above ${formatFigure(min + 1.5)} mg/L`;
    }
    case "oxygen:above":
      return off(context?.pump)
        ? "the air pump was already off: the oxygen comes down by itself"
        : "run the air pump less";
    case "light:below":
      return on(context?.light)
        ? `the lamp was already on ${
          _percent(context!.light)
        } of that time: a lamp that gives no light calls for the alarm`
        : "switch the lamp on whenever the range asks for a minimum (watch ranges/light: it changes with the time of day)";
    case "light:above":
      return off(context?.light)
        ? "the lamp was already off: daylight alone was brighter than the range, and the lamp cannot dim it"
        : "switch the lamp off when the range asks for a maximum (the fish need a dark night)";
    case "level:below":
      return on(context?.topup)
        ? `the top-up valve was already open ${
          _percent(context!.topup)
        } of that time: open it sooner, before the level nears ${
          formatFigure(range.min ?? 30)
        } cm`
        : `open the top-up valve when the level nears ${
          formatFigure(range.min ?? 30)
        } cm, in short bursts`;
    case "level:above":
      return off(context?.topup)
        ? "the top-up valve was already closed: the level comes down only as water evaporates; keep it closed"
        : "close the top-up valve sooner";
    case "ph:below":
      return on(context?.pump)
        ? `the air pump already ran ${
          _percent(context!.pump)
        } of that time: it cannot drive out more CO2; the pH rises as the fish's CO2 falls`
        : "run the air pump more: bubbling drives CO2 out and raises the pH";
    case "ph:above":
      return off(context?.pump)
        ? "the air pump was already off: the pH comes down slowly as CO2 builds up"
        : "run the air pump less: less bubbling leaves more CO2 in the water and lowers the pH";
    default:
      return "keep an eye on its range";
  }
}

/** `2.3 h`, or `12 min` below an hour. */
function _howLong(hours: number): string {
  return hours >= 1 ? formatHours(hours * 3600) : formatDuration(hours * 3600);
}

function _measurementAdvice(
  m: MeasurementKpis,
  score: number,
  options: { faults: readonly FaultKpis[]; base: string },
): string[] {
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
    const caused = _causingFault(m, side, options.faults);
    const hint = caused !== null
      ? _faultCausedHint(caused.fault, caused.futile, options)
      : _measurementHint(m, side, m.during?.[side] ?? null);
    out.push(
      `${LABELS[m.name]} was ${edge} for ${_howLong(hours)} (${
        formatFigure(area)
      } ${m.areaUnit}${peak}): ${hint}`,
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
      const context = {
        faults: kpis.alarms.faults,
        base: `${meta.root}/${meta.tank}`,
      };
      for (const text of _measurementAdvice(m, score, context)) {
        add(m.name, text);
      }
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
