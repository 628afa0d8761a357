/**
 * The grader's reference: a fault-aware thermostat run on the real simulator with the same scenario and seed as a
 * student's run, recorded as the lockstep harness records. Its figures (energy, area outside each range) are what a
 * run is judged against from grading version 2 on, the way BOPTEST compares a controller with a baseline: losses no
 * controller could prevent (a heater that fails) do not sink everyone. The grader's tests also use it to check that
 * the built-in scenarios' grading blocks are attainable.
 *
 * @module
 */

import type {
  MessageRecord,
  ReferenceFigures,
  RunMeta,
  TruthSample,
} from "../store/mod.ts";
import { computeKpis } from "./kpis.ts";
import {
  ACTUATOR_NAMES,
  type ActuatorName,
  fishTank,
  type FishTankInputs,
  type FishTankParams,
  type FishTankState,
  type SensorName,
  Simulation,
} from "../sim/mod.ts";
import {
  activeEvents,
  environmentAt,
  rangesAt,
  type Scenario,
  type SensorRange,
} from "../scenarios/mod.ts";

type Draft = Omit<MessageRecord, "runId" | "seq" | "wall">;

const encoder = new TextEncoder();

/** A controller for {@linkcode referenceRun}: readings in, commands and the alarm (null = clear) out. */
export type ReferenceController = (
  t: number,
  readings: Readonly<Record<string, number | null>>,
  inputs: Readonly<FishTankInputs>,
) => { commands: Partial<FishTankInputs>; alarm?: string | null };

/**
 * The reference controller, a fault-aware thermostat as a careful student might write one: hysteresis for the heater
 * on the middle half of the temperature range (24.5–25.5 °C for 24–26 °C), the pump (6.8–7.6 mg/L) and the top-up
 * valve (30.5–31.5 cm), the lamp on the light range; an alarm when the water (five-minute mean) is cooler than half an
 * hour before with the heater on all that time, warms by 0.2 °C in half an hour with it off all that time or past the
 * range's top + 0.6 °C with it off, a reading sticks for
 * 5 minutes or goes missing, or oxygen stays below 6 mg/L for 15 minutes with the pump on.
 */
export function faultAwareController(scenario: Scenario): ReferenceController {
  return faultAwareThermostat({
    rangesAt: (t) => rangesAt(scenario, t),
    params: scenario.params,
  });
}

/** What the fault-aware thermostat knows of its tank: the ranges in force, and the tank's heat balance. */
export interface FaultAwareTank {
  /** The ranges in force at simulated time `t` (a live controller: the latest on `ranges/…`). */
  rangesAt(t: number): Partial<Record<SensorName, SensorRange>>;
  /** The tank's heat-loss coefficient, water volume, density and specific heat (`FISH_TANK_DEFAULTS` for the default tank). */
  params: Pick<
    FishTankParams,
    "ua" | "waterVolume" | "waterDensity" | "specificHeat"
  >;
}

/**
 * {@linkcode faultAwareController} for a tank known by its ranges and heat parameters, so that it can run as an MQTT
 * controller too (`examples/fault_aware.ts`).
 */
export function faultAwareThermostat(
  tank: FaultAwareTank,
): ReferenceController {
  let heatingSince = -1;
  const history = new Map<number, number>();
  let last: number | null = null;
  let unchanged = 0;
  let missing = 0;
  let lowSince = -1;
  let noHeatSince = -1;
  let offSince = -1;
  return (t, readings, inputs) => {
    const commands: Partial<FishTankInputs> = {};
    let alarm: string | null = null;
    const temperature = readings.temperature ?? null;
    missing = temperature === null ? missing + 1 : 0;
    if (temperature !== null) {
      const band = tank.rangesAt(t).temperature;
      const lo = band?.min ?? 24;
      const hi = band?.max ?? 26;
      if (temperature < lo + (hi - lo) / 4) commands.heater = 1;
      else if (temperature > hi - (hi - lo) / 4) commands.heater = 0;
      unchanged = temperature === last ? unchanged + 1 : 0;
      last = temperature;
      history.set(t, temperature);
      history.delete(t - 2400);
      // A stuck reading says nothing of the trend: start it again from fresh readings.
      if (unchanged >= 6) history.clear();
    }
    const heater = commands.heater ?? inputs.heater;
    if (heater > 0 && heatingSince < 0) heatingSince = t;
    else if (heater === 0) heatingSince = -1;
    if (heater === 0 && offSince < 0) offSince = t;
    else if (heater > 0) offSince = -1;
    // Five-minute means half an hour apart: far steadier than single readings.
    const mean = (from: number, to: number) => {
      const values = [...history].filter(([at]) => at > from && at <= to);
      return values.length === 0
        ? undefined
        : values.reduce((sum, [, value]) => sum + value, 0) / values.length;
    };
    const now = mean(t - 300, t);
    const then = mean(t - 2100, t - 1800);
    // A heater that works slows the cooling: the water cools by less than half of what it would with no heat at all
    // (UA·(T − T_room)/(m·c) over the half hour, from the tank's parameters), even in a room too cold to keep up with.
    const room = readings.room_temperature ?? null;
    const { ua, waterVolume, waterDensity, specificHeat } = tank.params;
    const passive = now !== undefined && room !== null
      ? (ua * (now - room) * 1800) / (waterVolume * waterDensity * specificHeat)
      : 0;
    if (
      heatingSince >= 0 && t - heatingSince >= 1800 && now !== undefined &&
      then !== undefined && then - now > Math.max(0.05, passive / 2)
    ) noHeatSince = t;
    // Held until the water warms again, so that one fault raises one alarm.
    if (noHeatSince >= 0) {
      if (now !== undefined && then !== undefined && now > then + 0.05) {
        noHeatSince = -1;
      } else alarm = "the heater gives no heat";
    }
    const top = tank.rangesAt(t).temperature?.max ?? 26;
    // Warming with the heater off for half an hour, or 0.6 °C above the top (beyond a DS18B20's ±0.5 °C offset).
    const warming = offSince >= 0 && t - offSince >= 1800 &&
      now !== undefined && then !== undefined && now > then + 0.2;
    if (
      heater === 0 && temperature !== null &&
      (warming || temperature > top + 0.6)
    ) {
      alarm = "the heater is stuck on";
    }
    if (unchanged >= 30) alarm = "the temperature reading is stuck";
    if (missing >= 3) alarm = "no temperature reading";
    commands.light = tank.rangesAt(t).light?.min !== undefined;
    const oxygen = readings.oxygen ?? 7;
    if (oxygen < 6.8) commands.pump = true;
    else if (oxygen > 7.6) commands.pump = false;
    if (oxygen < 6 && (commands.pump ?? inputs.pump)) {
      if (lowSince < 0) lowSince = t;
      if (t - lowSince > 900) alarm = "oxygen stays low with the pump on";
    } else lowSince = -1;
    const level = readings.level ?? 32;
    if (level < 30.5) commands.topup = true;
    else if (level > 31.5) commands.topup = false;
    return { commands, alarm };
  };
}

/**
 * Runs `scenario` on the real simulator (physics step = publish period, enough for the exact-exponential model) with
 * `controller` answering every publish period, or with no controller at all (`null`: a `no_connect` run), and
 * records it as the lockstep harness would.
 */
export function referenceRun(
  scenario: Scenario,
  controller: ReferenceController | null,
): { records: MessageRecord[]; meta: RunMeta } {
  const period = scenario.publishPeriod;
  const sim = new Simulation({
    system: fishTank,
    params: scenario.params,
    initial: scenario.initial,
    seed: scenario.seed,
    step: period,
    startMs: scenario.start,
    environment: (t, dt) => environmentAt(scenario, t, dt),
  });
  const records: MessageRecord[] = [];
  const push = (draft: Draft) =>
    records.push({
      runId: "reference",
      seq: records.length,
      wall: 0,
      ...draft,
    });
  const message = (t: number, topic: string, payload: string): Draft => ({
    t,
    kind: "publish",
    client: "controller-1",
    topic: `fishtank/tank1/${topic}`,
    payload: encoder.encode(payload),
    qos: 0,
    retain: false,
  });
  const switches: Record<ActuatorName, number> = {
    heater: 0,
    light: 0,
    pump: 0,
    topup: 0,
  };
  let alarm = false;
  let alarmText = "";
  if (controller !== null) {
    push({ ...message(0, "", ""), kind: "connect", topic: "" });
  }
  for (let t = 0; t < scenario.duration; t += period) {
    const state = sim.state as FishTankState;
    const sample: TruthSample = {
      t,
      values: {
        temperature: state.temperature,
        room_temperature: state.roomTemperature,
        ph: state.ph,
        oxygen: state.oxygen,
        light: state.light,
        level: state.level,
      },
      inputs: { ...sim.inputs },
      heaterEnergy: state.heaterEnergy,
      switches: { ...switches },
      alarm,
      events: activeEvents(scenario, t).map((event) => event.type),
      ranges: rangesAt(scenario, t),
    };
    push({
      t,
      kind: "truth",
      client: "$harness",
      topic: "$truth",
      payload: encoder.encode(JSON.stringify(sample)),
      qos: 0,
      retain: false,
    });
    if (controller !== null) {
      const before = { ...sim.inputs };
      const out = controller(t, sim.observe(), before);
      sim.setInputs(out.commands);
      for (const name of ACTUATOR_NAMES) {
        if (before[name] !== sim.inputs[name]) {
          switches[name]++;
          push(message(t, `control/${name}`, String(sim.inputs[name])));
        }
      }
      // undefined leaves the alarm as it is; null clears it; a text raises it (a new text is published too).
      if (out.alarm !== undefined) {
        const raised = out.alarm !== null;
        if (raised !== alarm || (raised && out.alarm !== alarmText)) {
          push(message(t, "alarm", raised ? out.alarm! : ""));
        }
        alarm = raised;
        alarmText = out.alarm ?? "";
      }
    }
    sim.advance(period);
  }
  const steps = scenario.duration / scenario.controlPeriod;
  const meta: RunMeta = {
    runId: "reference",
    scenario: {
      id: scenario.id,
      version: scenario.version,
      title: scenario.title,
      hash: scenario.hash,
      source: "",
    },
    seed: scenario.seed,
    simulatorVersion: "test",
    controller: { command: null, exitCode: null, signal: null },
    student: "reference",
    tank: "tank1",
    root: "fishtank",
    mode: "lockstep",
    ackMode: controller === null ? "none" : "explicit",
    startedAt: "2026-03-01T10:00:00.000Z",
    endedAt: "2026-03-01T10:00:10.000Z",
    outcome: controller === null ? "no_connect" : "completed",
    simulated: scenario.duration,
    stats: {
      messages: records.length,
      steps,
      timedOutSteps: 0,
      lateCommands: 0,
      rejected: 0,
      medianResponseMs: controller === null ? null : 2,
      p95ResponseMs: controller === null ? null : 4,
    },
  };
  return { records, meta };
}

/** Reference figures by scenario hash and seed: the same scenario is graded many times in a session. */
const _figures = new Map<string, ReferenceFigures>();

/**
 * The reference controller's figures on `scenario` (with its seed): energy and the area outside each range. Stored
 * with each run when it is recorded, so that rescoring does not depend on a later simulator.
 */
export function referenceFigures(scenario: Scenario): ReferenceFigures {
  const key = `${scenario.hash}:${scenario.seed}`;
  const known = _figures.get(key);
  if (known) return known;
  const { records, meta } = referenceRun(
    scenario,
    faultAwareController(scenario),
  );
  const kpis = computeKpis({ scenario, meta, records });
  const figures: ReferenceFigures = {
    energyWh: kpis.energy.countedWh,
    measurements: Object.fromEntries(
      kpis.measurements.map((m) => [m.name, {
        areaOutside: m.areaOutside,
        timeInRange: m.timeInRange,
      }]),
    ),
  };
  _figures.set(key, figures);
  return figures;
}
