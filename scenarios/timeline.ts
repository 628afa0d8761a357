/**
 * Evaluating a scenario at a moment of the run: the environment the tank sees (room, daylight, faults, feeding), the
 * ranges in force, and the events active. Called every physics step of every tank, so everything that does not
 * depend on the time is worked out once per scenario by {@linkcode Timeline}.
 *
 * @module
 */

import {
  type FishTankEnv,
  SENSOR_NAMES,
  type SensorFault,
  type SensorName,
} from "../sim/mod.ts";
import { inWindow } from "./_range_rules.ts";
import { daylightAt, roomTemperatureAt } from "./day_profile.ts";
import type { RangeRule, Scenario, SensorRange } from "./scenario.ts";
import type {
  EventWindow,
  FeedingEvent,
  RoomRampEvent,
  RoomStepEvent,
  ScenarioEvent,
  SensorFaultEvent,
  SensorNoiseEvent,
} from "./scenario_event.ts";

/**
 * Slack on event times, seconds: a time accumulated as `k · dt` in floating point may land a hair before the exact
 * `at`; this keeps such an event in the step it belongs to, and in exactly one step.
 */
const EPSILON = 1e-6;

/** A room event with the shift it causes, worked out once. */
interface RoomShift {
  readonly at: number;
  readonly until: number;
  /** Full shift of the room, K. */
  readonly delta: number;
  /** Seconds to reach the full shift (0 for a step). */
  readonly over: number;
}

/** A sensor fault event, with the fault object the environment reports. */
interface SensorFaultWindow {
  readonly at: number;
  readonly until: number;
  readonly sensor: SensorName;
  readonly fault: SensorFault;
}

const NO_FAULTS: Readonly<Partial<Record<SensorName, SensorFault>>> = Object
  .freeze({});

function _active(event: EventWindow, t: number): boolean {
  return t >= event.at - EPSILON && t < event.until - EPSILON;
}

function _shiftAt(shift: RoomShift, t: number): number {
  if (!_active(shift, t)) return 0;
  if (shift.over <= 0) return shift.delta;
  return shift.delta * Math.min(1, Math.max(0, (t - shift.at) / shift.over));
}

function _sensorFault(event: SensorFaultEvent | SensorNoiseEvent): SensorFault {
  switch (event.type) {
    case "sensor_stuck":
      return Object.freeze({ kind: "stuck" });
    case "sensor_dropout":
      return Object.freeze({ kind: "dropout" });
    case "sensor_noise":
      return Object.freeze({ kind: "noise", factor: event.factor });
  }
}

/**
 * A scenario's timeline, prepared for fast evaluation. Build one per scenario (or let {@linkcode timelineOf} cache
 * it); every method is pure.
 */
export class Timeline {
  /** The scenario this timeline evaluates. */
  readonly scenario: Scenario;
  readonly #startHour: number;
  readonly #roomShifts: readonly RoomShift[];
  readonly #heater:
    readonly (EventWindow & { readonly state: "failed" | "stuck_on" })[];
  readonly #pumpFailures: readonly EventWindow[];
  readonly #powerCuts: readonly EventWindow[];
  readonly #lidOpen: readonly EventWindow[];
  readonly #sensorFaults: readonly SensorFaultWindow[];
  readonly #feedings: readonly FeedingEvent[];
  readonly #ranges: readonly (readonly [SensorName, readonly RangeRule[]])[];

  /** Works out everything about `scenario` that does not depend on the time. */
  constructor(scenario: Scenario) {
    this.scenario = scenario;
    const hoursSinceEpoch = scenario.start / 3_600_000;
    this.#startHour = ((hoursSinceEpoch % 24) + 24) % 24;
    const events = [...scenario.events].sort((a, b) => a.at - b.at);
    const of = <T extends ScenarioEvent["type"]>(...types: T[]) =>
      events.filter((event): event is ScenarioEvent & { type: T } =>
        (types as string[]).includes(event.type)
      );

    // Each room event shifts the room relative to what it would be without it (the profile plus the room events
    // before it), so "to: 16" means the room reads 16 °C when the step happens or when the ramp ends.
    const shifts: RoomShift[] = [];
    for (
      const event of of(
        "room_step",
        "room_ramp",
      ) as (RoomStepEvent | RoomRampEvent)[]
    ) {
      const over = event.type === "room_ramp" ? event.over : 0;
      const reference = event.at + over;
      const before =
        roomTemperatureAt(scenario.room, this.hourOfDay(reference)) +
        shifts.reduce((sum, shift) => sum + _shiftAt(shift, reference), 0);
      const delta = event.by ?? (event.to! - before);
      shifts.push({ at: event.at, until: event.until, delta, over });
    }
    this.#roomShifts = shifts;
    this.#heater = [
      ...of("heater_failure").map((event) => ({
        at: event.at,
        until: event.until,
        state: "failed" as const,
      })),
      ...of("heater_stuck_on").map((event) => ({
        at: event.at,
        until: event.until,
        state: "stuck_on" as const,
      })),
    ].sort((a, b) => a.at - b.at);
    this.#pumpFailures = of("pump_failure");
    this.#powerCuts = of("power_cut");
    this.#lidOpen = of("lid_open");
    this.#sensorFaults = of("sensor_stuck", "sensor_noise", "sensor_dropout")
      .map((event) => ({
        at: event.at,
        until: event.until,
        sensor: event.sensor,
        fault: _sensorFault(event),
      }));
    this.#feedings = of("feeding");
    this.#ranges = SENSOR_NAMES.map((name) =>
      [name, scenario.ranges[name] ?? []] as const
    );
  }

  /** Hour of day (0–24) at `t` seconds since the start, from the start's wall-clock time. */
  hourOfDay(t: number): number {
    return (this.#startHour + t / 3600) % 24;
  }

  /** Room temperature at `t`, °C: the day/night profile plus the room events in force. */
  roomTemperature(t: number): number {
    let temperature = roomTemperatureAt(this.scenario.room, this.hourOfDay(t));
    for (const shift of this.#roomShifts) temperature += _shiftAt(shift, t);
    return temperature;
  }

  /**
   * The environment for the physics step from `t` to `t + dt`: room, daylight and faults as at `t`, and `feeding` =
   * grams of the feeding events whose `at` falls in [t, t + dt), so each feeding lands in exactly one step.
   */
  environmentAt(t: number, dt: number): FishTankEnv {
    let heater: FishTankEnv["heater"] = "ok";
    for (const event of this.#heater) {
      if (_active(event, t)) heater = event.state; // the latest-started fault wins
    }
    let sensorFaults = NO_FAULTS;
    for (const event of this.#sensorFaults) {
      if (!_active(event, t)) continue;
      if (sensorFaults === NO_FAULTS) sensorFaults = {};
      (sensorFaults as Partial<Record<SensorName, SensorFault>>)[event.sensor] =
        event.fault;
    }
    let feeding = 0;
    for (const event of this.#feedings) {
      if (event.at >= t - EPSILON && event.at < t + dt - EPSILON) {
        feeding += event.grams;
      }
    }
    return {
      roomTemperature: this.roomTemperature(t),
      daylight: daylightAt(this.scenario.daylight, this.hourOfDay(t)),
      heater,
      pump: this.#pumpFailures.some((event) => _active(event, t))
        ? "failed"
        : "ok",
      powerCut: this.#powerCuts.some((event) => _active(event, t)),
      lidOpen: this.#lidOpen.some((event) => _active(event, t)),
      feeding,
      sensorFaults,
    };
  }

  /**
   * The range of `sensor` in force at `t` (by time of day): `{}` when a rule says "no limits" then, undefined when the
   * scenario has no range for that sensor.
   */
  rangeAt(sensor: SensorName, t: number): SensorRange | undefined {
    const rules = this.scenario.ranges[sensor];
    if (rules === undefined || rules.length === 0) return undefined;
    const hour = this.hourOfDay(t);
    return rules.find((rule) => inWindow(hour, rule))?.range;
  }

  /** The ranges in force at `t`, for every sensor that has one. */
  rangesAt(t: number): Partial<Record<SensorName, SensorRange>> {
    const hour = this.hourOfDay(t);
    const out: Partial<Record<SensorName, SensorRange>> = {};
    for (const [name, rules] of this.#ranges) {
      const rule = rules.find((candidate) => inWindow(hour, candidate));
      if (rule !== undefined) out[name] = rule.range;
    }
    return out;
  }

  /** The events in force at `t` (at ≤ t < until), in timeline order; feedings are instants and never listed. */
  activeEvents(t: number): ScenarioEvent[] {
    return this.scenario.events.filter((event) => _active(event, t));
  }
}

const cache = new WeakMap<Scenario, Timeline>();

/** The {@linkcode Timeline} of `scenario`, built on first use and cached while the scenario object lives. */
export function timelineOf(scenario: Scenario): Timeline {
  let timeline = cache.get(scenario);
  if (timeline === undefined) {
    timeline = new Timeline(scenario);
    cache.set(scenario, timeline);
  }
  return timeline;
}

/** The environment for the physics step from `t` to `t + dt` seconds since the start. See {@linkcode Timeline}. */
export function environmentAt(
  scenario: Scenario,
  t: number,
  dt: number,
): FishTankEnv {
  return timelineOf(scenario).environmentAt(t, dt);
}

/** The range of `sensor` in force at `t` seconds since the start, or undefined when it has none. */
export function rangeAt(
  scenario: Scenario,
  sensor: SensorName,
  t: number,
): SensorRange | undefined {
  return timelineOf(scenario).rangeAt(sensor, t);
}

/** The ranges in force at `t` seconds since the start, for every sensor that has one. */
export function rangesAt(
  scenario: Scenario,
  t: number,
): Partial<Record<SensorName, SensorRange>> {
  return timelineOf(scenario).rangesAt(t);
}

/** The events in force at `t` seconds since the start (faults, room changes), for displays and graders. */
export function activeEvents(scenario: Scenario, t: number): ScenarioEvent[] {
  return timelineOf(scenario).activeEvents(t);
}

/** Hour of day (0–24) at `t` seconds since the start of `scenario`. */
export function hourOfDay(scenario: Scenario, t: number): number {
  return timelineOf(scenario).hourOfDay(t);
}
