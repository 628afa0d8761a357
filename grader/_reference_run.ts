/**
 * A reference run for the grader's tests: the real simulator with a plain hysteresis controller (or none), recorded
 * as the lockstep harness records, to check that the built-in scenarios' grading blocks are attainable.
 *
 * @module
 */

import type { MessageRecord, RunMeta, TruthSample } from "../store/mod.ts";
import {
  ACTUATOR_NAMES,
  type ActuatorName,
  fishTank,
  type FishTankInputs,
  type FishTankState,
  Simulation,
} from "../sim/mod.ts";
import {
  activeEvents,
  environmentAt,
  rangesAt,
  type Scenario,
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
 * A plain controller as a student might write one: hysteresis for the heater (24.5–25.5 °C), the pump (6.8–7.6
 * mg/L) and the top-up valve (30.5–31.5 cm), the lamp on the light range; an alarm when the water (five-minute
 * mean) is cooler than half an hour before with the heater on all that time, warms past 26.1 °C with it off, a reading sticks for 5 minutes or goes missing, or
 * oxygen stays below 6 mg/L for 15 minutes with the pump on.
 */
export function hysteresisController(scenario: Scenario): ReferenceController {
  let heatingSince = -1;
  const history = new Map<number, number>();
  let last: number | null = null;
  let unchanged = 0;
  let missing = 0;
  let lowSince = -1;
  return (t, readings, inputs) => {
    const commands: Partial<FishTankInputs> = {};
    let alarm: string | null = null;
    const temperature = readings.temperature ?? null;
    missing = temperature === null ? missing + 1 : 0;
    if (temperature !== null) {
      if (temperature < 24.5) commands.heater = 1;
      else if (temperature > 25.5) commands.heater = 0;
      unchanged = temperature === last ? unchanged + 1 : 0;
      last = temperature;
      history.set(t, temperature);
      history.delete(t - 2400);
    }
    const heater = commands.heater ?? inputs.heater;
    if (heater > 0 && heatingSince < 0) heatingSince = t;
    else if (heater === 0) heatingSince = -1;
    // Five-minute means half an hour apart: far steadier than single readings.
    const mean = (from: number, to: number) => {
      const values = [...history].filter(([at]) => at > from && at <= to);
      return values.length === 0
        ? undefined
        : values.reduce((sum, [, value]) => sum + value, 0) / values.length;
    };
    const now = mean(t - 300, t);
    const then = mean(t - 2100, t - 1800);
    if (
      heatingSince >= 0 && t - heatingSince >= 1800 && now !== undefined &&
      then !== undefined && now < then - 0.05
    ) alarm = "the heater gives no heat";
    if (heater === 0 && temperature !== null && temperature > 26.1) {
      alarm = "the heater is stuck on";
    }
    if (unchanged >= 30) alarm = "the temperature reading is stuck";
    if (missing >= 3) alarm = "no temperature reading";
    commands.light = rangesAt(scenario, t).light?.min !== undefined;
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
      const raised = out.alarm !== undefined && out.alarm !== null;
      if (raised !== alarm) {
        push(message(t, "alarm", raised ? out.alarm! : ""));
        alarm = raised;
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
