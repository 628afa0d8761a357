/**
 * `computeKpis`: the key figures of a run, from its truth samples and messages, in the spirit of building-control
 * benchmarks such as BOPTEST (thermal discomfort in K·h next to energy used). Pure: the same records give the same
 * figures. Each truth sample stands for the time up to the next one (the measured spacing, not an assumed period).
 *
 * @module
 */

import type {
  AckMode,
  MessageRecord,
  RunMeta,
  TruthSample,
} from "../store/mod.ts";
import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  type SensorName,
} from "../sim/mod.ts";
import {
  type EventType,
  rangeAt,
  type Scenario,
  type SensorRange,
} from "../scenarios/mod.ts";
import { round } from "./_format.ts";
import { gradingVersionOf } from "./grading_version.ts";
import { alarmKpis, type AlarmPublish } from "./_alarm_kpis.ts";
import {
  hygieneKpis,
  isControllerClient,
  TopicCounter,
  TopicRules,
} from "./_hygiene_kpis.ts";
import { measurementKpis } from "./_measurement_kpis.ts";
import { isForeignRefusal } from "../store/mod.ts";
import { type CommandingClient, CommandTally } from "./interference.ts";
import { decodeTruth, spanSamples } from "./_truth.ts";
import { estimateEnergyBudget } from "./energy_budget.ts";

/** How far outside its range a measurement went, at its worst. */
export interface Excursion {
  /** Which bound was crossed. */
  side: "below" | "above";
  /** How far beyond the bound, in the measurement's unit (K for temperatures). */
  by: number;
  /** The true value then. */
  value: number;
  /** The bound crossed. */
  bound: number;
  /** Simulated seconds since the start. */
  t: number;
  /** The tank's clock then: `14:20` (`Sat 14:20` in runs longer than a day). */
  clock: string;
}

/** How well one measurement stayed in its range. */
export interface MeasurementKpis {
  /** The measurement. */
  name: SensorName;
  /** Unit of the values (°C, pH, mg/L, lx, cm). */
  unit: string;
  /** Unit of the areas: `K·h`, `pH·h`, `(mg/L)·h`, `lx·h`, `cm·h`. */
  areaUnit: string;
  /** The range in force for most of the run (`{}` = no limits), null without samples. */
  range: SensorRange | null;
  /** Fraction of the covered time inside the range, 0–1. */
  timeInRange: number;
  /** The same in percent. */
  timeInRangePercent: number;
  /** Hours outside the range. */
  hoursOutside: number;
  /** Hours below the range. */
  hoursBelow: number;
  /** Hours above the range. */
  hoursAbove: number;
  /** Area outside the range (how far outside × how long), unit·h. */
  areaOutside: number;
  /** Area below the range, unit·h. */
  areaBelow: number;
  /** Area above the range, unit·h. */
  areaAbove: number;
  /** The worst excursion, null when the measurement never left its range. */
  worst: Excursion | null;
  /**
   * What the tank was doing while the measurement was below and above its range (null for a side it never went), so
   * that advice fits what happened. Not scored.
   */
  during?: { below: ExcursionContext | null; above: ExcursionContext | null };
}

/** What the tank was doing while a measurement was outside its range on one side. */
export interface ExcursionContext {
  /** Mean heater power commanded, 0–1. */
  heater: number;
  /** Heat the heater really gave, Wh (0 while it failed or the power was off). */
  heaterWh: number;
  /** Fraction of the time the lamp was on, 0–1. */
  light: number;
  /** Fraction of the time the air pump ran, 0–1. */
  pump: number;
  /** Fraction of the time the top-up valve was open, 0–1. */
  topup: number;
  /** The highest room temperature, °C. */
  roomMax: number | null;
  /** The lowest room temperature, °C. */
  roomMin: number | null;
  /** Hours outside while each scenario event was in force (`heater_failure: 3.5`). */
  eventHours: Record<string, number>;
}

/** Heat given by the heater. */
export interface EnergyKpis {
  /** All heat the heater gave, Wh. */
  heaterWh: number;
  /** Heat given while the heater was stuck on (not the controller's doing), Wh. */
  stuckOnWh: number;
  /** `heaterWh − stuckOnWh`: what the energy score counts, Wh. */
  countedWh: number;
  /** The scenario's budget as {@linkcode estimateEnergyBudget} works it out (used when the file names none), Wh. */
  estimatedBudgetWh: number;
}

/** Switching of one actuator. */
export interface ActuatorKpis {
  /** The actuator. */
  name: ActuatorName;
  /** Changes of state the tank counted (for the heater, every change of power). */
  switches: number;
  /** `switches` per hour covered. */
  perHour: number;
  /**
   * What the switching score counts. For the heater: from grading version 2, the total variation of its power seen in
   * the truth samples (the sum of each change's size, full power to off counting 1) or its crossings of 50 % power,
   * whichever is more: a heater chattering between 2 % and 100 % wears as one chattering between off and on. In
   * version 1, changes between off and on. For the others, `switches`.
   */
  counted: number;
  /** `counted` per hour covered. */
  countedPerHour: number;
}

/** Switching of every actuator. */
export interface SwitchingKpis {
  /** Hours the samples cover. */
  hours: number;
  /** Sum of `switches` over the actuators. */
  total: number;
  /** `total` per hour. */
  perHour: number;
  /** Per actuator, in the order of `ACTUATOR_NAMES`. */
  actuators: ActuatorKpis[];
}

/** One fault (or other event that calls for an alarm) and how fast the controller noticed it. */
export interface FaultKpis {
  /** The event's type. */
  type: EventType;
  /** The sensor of a sensor fault, else null. */
  sensor: string | null;
  /** Start, simulated seconds. */
  at: number;
  /** End, simulated seconds; null for a fault that lasts to the end. */
  until: number | null;
  /** The tank's clock at the start. */
  clock: string;
  /** Whether the scenario expects an alarm for it (`grading.expectAlarm`); others are listed but not scored. */
  expected: boolean;
  /** Simulated time of the first alarm raised at or after the start, null = never. */
  alarmAt: number | null;
  /** Seconds from the start to that alarm, null = never. */
  detectedAfter: number | null;
  /** Whether `detectedAfter` is within the scenario's detection deadline. */
  withinDeadline: boolean;
}

/** An alarm raised when nothing called for one. */
export interface FalseAlarm {
  /** Simulated seconds since the start. */
  t: number;
  /** The tank's clock then. */
  clock: string;
  /** The alarm's text. */
  message: string;
}

/** The controller's alarms. */
export interface AlarmKpis {
  /** Publishes on the alarm topic. */
  publishes: number;
  /** Times the alarm went from clear to raised. */
  raises: number;
  /** The detection deadline applied, seconds. */
  deadline: number;
  /** The grace period applied, seconds. */
  grace: number;
  /** Every fault and expected event, in timeline order. */
  faults: FaultKpis[];
  /** Every false alarm, in time order. */
  falseAlarms: FalseAlarm[];
  /**
   * From grading version 2: hours the alarm was on outside every fault window (from a fault's start to its end or
   * deadline, plus the grace) and outside real trouble (a measurement but the light truly outside its range, plus the
   * grace), and their fraction of the hours outside those times.
   */
  onOutsideFaults?: { hours: number; fraction: number };
}

/** Messages on one topic. */
export interface TopicCount {
  /** The topic. */
  topic: string;
  /** How many messages. */
  count: number;
  /** Why the first of them was refused (rejected messages only). */
  note?: string;
}

/** How cleanly the controller spoke the protocol. */
export interface HygieneKpis {
  /** Whether a controller connection was seen. */
  connected: boolean;
  /** Publishes on the tank's control topics. */
  commands: number;
  /** Messages the tank refused. */
  rejected: number;
  /** Refused messages per topic, most first. */
  rejectedTopics: TopicCount[];
  /** Publishes on topics the controller has no business with (not its tank's control, alarm or ack topics). */
  strayMessages: number;
  /** Stray publishes per topic, most first. */
  strayTopics: TopicCount[];
  /** Commands that arrived after their step had closed (from the run's stats). */
  lateCommands: number;
  /** Steps that waited for the wall-clock deadline (from the run's stats). */
  timedOutSteps: number;
  /** Steps of the run. */
  steps: number;
  /** How the harness knew the controller had answered. */
  ackMode: AckMode;
  /** Median wall-clock answer time, ms (not scored: it depends on the machine). */
  medianResponseMs: number | null;
  /** 95th-percentile wall-clock answer time, ms (not scored). */
  p95ResponseMs: number | null;
}

/** Every key figure of a run. */
export interface RunKpis {
  /** Truth samples read. */
  samples: number;
  /** Simulated seconds the samples cover. */
  covered: number;
  /** The scenario's length, seconds. */
  duration: number;
  /** One entry per measurement with a range in the scenario, in publishing order. */
  measurements: MeasurementKpis[];
  /** The heater's energy. */
  energy: EnergyKpis;
  /** The actuators' switching. */
  switching: SwitchingKpis;
  /** Faults, alarms and false alarms. */
  alarms: AlarmKpis;
  /** Protocol hygiene. */
  hygiene: HygieneKpis;
  /** Every client that commanded the tank, with its commands and where it came from (see `interference.ts`). */
  commanding: CommandingClient[];
}

/** What {@linkcode computeKpis} reads. */
export interface KpiInput {
  /** The scenario the run played (parse `meta.scenario.source` to rescore a stored run). */
  scenario: Scenario;
  /** The run's meta. */
  meta: RunMeta;
  /** Every record of the run, in `seq` order (read once: a generator will do). */
  records: Iterable<MessageRecord>;
}

/** Whether one of `sensors` is outside the scenario's range for it in `sample`. */
function _outside(
  scenario: Scenario,
  sensors: readonly SensorName[],
  sample: TruthSample,
): boolean {
  return sensors.some((name) => {
    const value = sample.values[name];
    const { min, max } = rangeAt(scenario, name, sample.t) ?? {};
    return typeof value === "number" &&
      ((min !== undefined && value < min) ||
        (max !== undefined && value > max));
  });
}

/** Reads a run's records once and works out its {@linkcode RunKpis}. */
export function computeKpis(input: KpiInput): RunKpis {
  const { scenario, meta } = input;
  const rules = new TopicRules(meta);
  const truth: TruthSample[] = [];
  const alarms: AlarmPublish[] = [];
  const rejected = new TopicCounter();
  const stray = new TopicCounter();
  let connected = false;
  let commands = 0;
  const tally = new CommandTally(meta);
  for (const record of input.records) {
    tally.add(record);
    if (record.kind === "truth") {
      const sample = decodeTruth(record.payload);
      if (sample !== undefined) truth.push(sample);
    } else if (record.kind === "rejected") {
      // Another program's commands, refused: not the controller's protocol (interference.ts reports them).
      if (!isForeignRefusal(record.note)) {
        rejected.add(record.topic, record.note);
      }
    } else if (record.kind === "connect" && isControllerClient(record.client)) {
      connected = true;
    } else if (record.kind === "publish" && isControllerClient(record.client)) {
      if (record.topic === rules.alarm) {
        alarms.push({ t: record.t, payload: record.payload });
      } else if (!rules.allowed(record.topic)) stray.add(record.topic);
      else if (record.topic.includes("/control/")) commands++;
    }
  }
  const samples = spanSamples(truth, {
    end: meta.simulated,
    fallback: scenario.publishPeriod,
  });
  const covered = samples.reduce((sum, { dt }) => sum + dt, 0);
  const withDay = scenario.duration > 86_400;

  const ranged = SENSOR_NAMES.filter((name) =>
    scenario.ranges[name].length > 0
  );
  const measurements = ranged.map((name) =>
    measurementKpis(scenario, name, samples, { withDay })
  );
  const version = gradingVersionOf(meta);
  // From version 2 the light's range does not excuse an alarm: the lamp is the controller's own doing.
  const excusing = version >= 2
    ? ranged.filter((name) => name !== "light")
    : ranged;
  const outOfRange = samples
    .filter(({ sample }) => _outside(scenario, excusing, sample))
    .map(({ sample }) => sample.t);

  return {
    samples: samples.length,
    covered: round(covered, 3),
    duration: scenario.duration,
    measurements,
    energy: _energy(scenario, samples.map(({ sample }) => sample)),
    switching: _switching(
      samples.map(({ sample }) => sample),
      covered,
      version,
    ),
    alarms: alarmKpis(scenario, alarms, {
      outOfRange,
      withDay,
      version,
      end: covered,
    }),
    hygiene: hygieneKpis(meta, { rejected, stray, connected, commands }),
    commanding: tally.list(),
  };
}

function _energy(
  scenario: Scenario,
  samples: readonly TruthSample[],
): EnergyKpis {
  const last = samples.at(-1);
  const total = last?.heaterEnergy ?? 0;
  let stuck = 0;
  for (let i = 0; i + 1 < samples.length; i++) {
    if (samples[i]!.events.includes("heater_stuck_on")) {
      stuck += samples[i + 1]!.heaterEnergy - samples[i]!.heaterEnergy;
    }
  }
  return {
    heaterWh: round(total / 3600, 1),
    stuckOnWh: round(stuck / 3600, 1),
    countedWh: round((total - stuck) / 3600, 1),
    estimatedBudgetWh: estimateEnergyBudget(scenario),
  };
}

function _switching(
  samples: readonly TruthSample[],
  covered: number,
  version: number,
): SwitchingKpis {
  const hours = covered / 3600;
  const rate = (count: number) => hours > 0 ? round(count / hours, 2) : 0;
  const last = samples.at(-1);
  let heaterOnOff = 0;
  let heaterVariation = 0;
  let halfCrossings = 0;
  let on = false;
  let power = 0;
  for (const sample of samples) {
    const now = sample.inputs.heater > 0;
    if (now !== on) heaterOnOff++;
    on = now;
    heaterVariation += Math.abs(sample.inputs.heater - power);
    if ((sample.inputs.heater >= 0.5) !== (power >= 0.5)) halfCrossings++;
    power = sample.inputs.heater;
  }
  const actuators = ACTUATOR_NAMES.map((name): ActuatorKpis => {
    const switches = last?.switches[name] ?? 0;
    const counted = name !== "heater"
      ? switches
      : version >= 2
      ? round(Math.min(Math.max(heaterVariation, halfCrossings), switches), 2)
      : Math.min(heaterOnOff, switches);
    return {
      name,
      switches,
      perHour: rate(switches),
      counted,
      countedPerHour: rate(counted),
    };
  });
  const total = actuators.reduce((sum, { switches }) => sum + switches, 0);
  return { hours: round(hours, 3), total, perHour: rate(total), actuators };
}
