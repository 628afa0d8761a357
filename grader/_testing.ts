/**
 * Helpers for the grader's tests: synthetic record streams built sample by sample, with the run's meta, so each test
 * states only what differs from a perfect run (`reference.ts` runs the real simulator instead).
 *
 * @module
 */

import type { MessageRecord, RunMeta, TruthSample } from "../store/mod.ts";
import {
  ACTUATOR_NAMES,
  type FishTankInputs,
  SENSOR_NAMES,
} from "../sim/mod.ts";
import {
  activeEvents,
  parseScenario,
  rangesAt,
  type Scenario,
} from "../scenarios/mod.ts";
import { computeKpis, type RunKpis } from "./kpis.ts";
import { type RunGrade, scoreRun } from "./score.ts";

/** A one-day scenario from midnight with the default ranges and grading; `extra` YAML is appended. */
export function testScenario(extra = ""): Scenario {
  return parseScenario(SCENARIO_TEXT + extra, { file: "test-day.yaml" });
}

/** The text behind {@linkcode testScenario}. */
export const SCENARIO_TEXT = `id: test-day
version: 1
title: Test day
good_controller: Keeps every reading in its range and raises the alarm only for faults.
seed: 1
start: 2026-03-10T00:00:00
duration: 24h
`;

type Values = TruthSample["values"];

/** Values inside every range in force at `t`: the middle of a two-sided range, 20 % inside a one-sided one. */
export function perfectValues(scenario: Scenario, t: number): Values {
  const ranges = rangesAt(scenario, t);
  const fallback: Values = {
    temperature: 25,
    room_temperature: 21,
    ph: 7.7,
    oxygen: 7.5,
    light: 0,
    level: 32,
  };
  const out = { ...fallback };
  for (const name of SENSOR_NAMES) {
    const { min, max } = ranges[name] ?? {};
    if (min !== undefined && max !== undefined) out[name] = (min + max) / 2;
    else if (min !== undefined) out[name] = min * 1.2;
    else if (max !== undefined) out[name] = max / 2;
  }
  return out;
}

/** How a synthetic run behaves; anything left out is what a perfect controller does. */
export interface SyntheticOptions {
  scenario: Scenario;
  runId?: string;
  /** Seconds between truth samples; default the scenario's publish period. */
  every?: number;
  /** True values at `t` that differ from {@linkcode perfectValues}. */
  values?: (t: number) => Partial<Values>;
  /** Heater power 0–1 at `t`; default 0.12 (about what holds 25 °C in a 21 °C room). */
  heater?: (t: number) => number;
  /** Lamp at `t`; default on when the light range asks for a minimum. */
  light?: (t: number) => boolean;
  /** Air pump at `t`; default off. */
  pump?: (t: number) => boolean;
  /** Top-up valve at `t`; default closed. */
  topup?: (t: number) => boolean;
}

type Draft = Omit<MessageRecord, "runId" | "seq" | "wall">;

const encoder = new TextEncoder();

/**
 * A run's records written one by one: truth samples (values, inputs, energy and switch counts kept consistent),
 * a `control/…` publish whenever an input changes, and whatever a test adds (alarms, rejects, stray publishes).
 */
export class SyntheticRun {
  readonly scenario: Scenario;
  readonly runId: string;
  readonly #options: SyntheticOptions;
  readonly #drafts: Draft[] = [];
  readonly base = "fishtank/tank1";

  constructor(options: SyntheticOptions) {
    this.scenario = options.scenario;
    this.runId = options.runId ?? "run-1";
    this.#options = options;
    this.#drafts.push({
      t: 0,
      kind: "connect",
      client: "controller-1",
      topic: "",
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
      note: "student-client",
    });
    this.#truth();
  }

  #truth(): void {
    const { scenario } = this;
    const o = this.#options;
    const every = o.every ?? scenario.publishPeriod;
    const power = scenario.params.heaterPower;
    const switches = { heater: 0, light: 0, pump: 0, topup: 0 };
    let before: FishTankInputs = {
      heater: 0,
      light: false,
      pump: false,
      topup: false,
    };
    let energy = 0;
    for (let t = 0; t < scenario.duration; t += every) {
      const ranges = rangesAt(scenario, t);
      const inputs: FishTankInputs = {
        heater: o.heater?.(t) ?? 0.12,
        light: o.light?.(t) ?? ranges.light?.min !== undefined,
        pump: o.pump?.(t) ?? false,
        topup: o.topup?.(t) ?? false,
      };
      for (const name of ACTUATOR_NAMES) {
        if (inputs[name] !== before[name]) {
          switches[name]++;
          this.publish(t, this.topic(`control/${name}`), String(inputs[name]));
        }
      }
      before = inputs;
      const sample: TruthSample = {
        t,
        values: { ...perfectValues(scenario, t), ...o.values?.(t) },
        inputs,
        heaterEnergy: energy,
        switches: { ...switches },
        // The grader reads the controller's alarm publishes, not the tank's view of them.
        alarm: false,
        events: activeEvents(scenario, t).map((event) => event.type),
        ranges,
      };
      this.#drafts.push({
        t,
        kind: "truth",
        client: "$harness",
        topic: "$truth",
        payload: encoder.encode(JSON.stringify(sample)),
        qos: 0,
        retain: false,
      });
      energy += inputs.heater * power * Math.min(every, scenario.duration - t);
    }
  }

  /** `fishtank/tank1/{rest}`: a topic of the run's tank. */
  topic(rest: string): string {
    return `${this.base}/${rest}`;
  }

  /** A publish by the controller (`controller-1` unless `client` says otherwise) at `t` on `topic` (a full topic). */
  publish(
    t: number,
    topic: string,
    payload: string,
    client = "controller-1",
  ): this {
    this.#drafts.push({
      t,
      kind: "publish",
      client,
      topic,
      payload: encoder.encode(payload),
      qos: 0,
      retain: false,
    });
    return this;
  }

  /** Raises the alarm at `t` with `message`. */
  alarm(t: number, message: string): this {
    return this.publish(t, this.topic("alarm"), message);
  }

  /** Clears the alarm at `t`. */
  clear(t: number): this {
    return this.publish(t, this.topic("alarm"), "");
  }

  /** A message on `topic` (a full topic) the tank refused at `t`, recorded as the lockstep runner does. */
  reject(t: number, topic: string, payload: string, note: string): this {
    this.#drafts.push({
      t,
      kind: "rejected",
      client: "$harness",
      topic,
      payload: encoder.encode(payload),
      qos: 0,
      retain: false,
      note,
    });
    return this;
  }

  /** Every record in time order (stable for equal times), numbered. */
  records(): MessageRecord[] {
    return this.#drafts
      .map((draft, index) => ({ draft, index }))
      .sort((a, b) => a.draft.t - b.draft.t || a.index - b.index)
      .map(({ draft }, seq) => ({
        runId: this.runId,
        seq,
        wall: 1_772_000_000_000 + seq,
        ...draft,
      }));
  }

  /** The run's meta: a completed lockstep run with explicit acks and clean stats, with `overrides` on top. */
  meta(overrides: Partial<RunMeta> = {}): RunMeta {
    const { scenario } = this;
    const steps = Math.round(scenario.duration / scenario.controlPeriod);
    return {
      runId: this.runId,
      scenario: {
        id: scenario.id,
        version: scenario.version,
        title: scenario.title,
        hash: scenario.hash,
        source: SCENARIO_TEXT,
      },
      seed: scenario.seed,
      simulatorVersion: "test",
      controller: {
        command: "python3 controller.py",
        exitCode: 0,
        signal: null,
      },
      student: "Ada",
      tank: "tank1",
      root: "fishtank",
      mode: "lockstep",
      ackMode: "explicit",
      startedAt: "2026-03-01T10:00:00.000Z",
      endedAt: "2026-03-01T10:01:30.000Z",
      outcome: "completed",
      outcomeMessage: `completed ${steps} steps (explicit barrier)`,
      simulated: scenario.duration,
      stats: {
        messages: this.#drafts.length,
        steps,
        timedOutSteps: 0,
        lateCommands: 0,
        rejected: 0,
        medianResponseMs: 3,
        p95ResponseMs: 6,
      },
      ...overrides,
    };
  }

  /** The run's KPIs. */
  kpis(meta: Partial<RunMeta> = {}): RunKpis {
    return computeKpis({
      scenario: this.scenario,
      meta: this.meta(meta),
      records: this.records(),
    });
  }

  /** The run's grade with the scenario's own grading. */
  grade(meta: Partial<RunMeta> = {}): RunGrade {
    const full = this.meta(meta);
    const kpis = computeKpis({
      scenario: this.scenario,
      meta: full,
      records: this.records(),
    });
    return scoreRun(kpis, this.scenario.grading, full);
  }
}

/**
 * Three grades for the report tests: a perfect run; a failing one whose fault got no alarm, whose false alarm's text
 * and scenario title carry `<&"'` ; and a crashed one.
 */
export function sampleGrades(): RunGrade[] {
  const perfect = new SyntheticRun({ scenario: testScenario(), runId: "run-a" })
    .grade();
  const faulty = new SyntheticRun({
    scenario: testScenario("events:\n  - { at: 6h, type: heater_failure }\n"),
    runId: "run-b",
    values: (t) => t >= 8 * 3600 ? { temperature: 22.5 } : {},
  })
    .alarm(2 * 3600, `<b>"x" & 'y'</b> | tank`)
    .grade();
  faulty.scenario = { ...faulty.scenario, title: `Tom & "Jerry" <3` };
  const crashed = new SyntheticRun({
    scenario: testScenario(),
    runId: "run-c",
  }).grade({
    outcome: "crashed",
    outcomeMessage: "the controller exited with code 1\nTraceback: boom",
    controller: { command: "python3 c.py", exitCode: 1, signal: null },
    endedAt: undefined,
  });
  return [perfect, faulty, crashed];
}
