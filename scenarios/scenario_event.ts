/**
 * The events of a scenario's timeline, as the loader returns them: times in seconds since the start of the run.
 *
 * @module
 */

import type { SensorName } from "../sim/mod.ts";

/** Every event type a scenario file may use, in the order the docs list them. */
export const EVENT_TYPES = [
  "room_step",
  "room_ramp",
  "heater_failure",
  "heater_stuck_on",
  "pump_failure",
  "power_cut",
  "sensor_stuck",
  "sensor_noise",
  "sensor_dropout",
  "feeding",
  "lid_open",
] as const;
/** An event type, as written in `type:`. */
export type EventType = typeof EVENT_TYPES[number];

/** When an event is in force: from `at` (inclusive) to `until` (exclusive), seconds since the start of the run. */
export interface EventWindow {
  /** Start, seconds since the start of the run. */
  readonly at: number;
  /** End, seconds since the start of the run; `Infinity` when the file gave no `for` (to the end of the run). */
  readonly until: number;
}

/**
 * A change of the room's temperature: the day/night profile is shifted so that the room becomes `to` °C (or moves
 * `by` K). Exactly one of `to` and `by` is set.
 */
export interface RoomChange {
  /** Target room temperature, °C. */
  readonly to?: number;
  /** Change of the room temperature, K (negative = colder). */
  readonly by?: number;
}

/** The room jumps at `at` (a window thrown open, the heating switched off) and stays shifted until `until`. */
export interface RoomStepEvent extends EventWindow, RoomChange {
  /** Discriminant. */
  readonly type: "room_step";
}

/** The room drifts linearly over `over` seconds from `at`, then stays shifted until `until`. */
export interface RoomRampEvent extends EventWindow, RoomChange {
  /** Discriminant. */
  readonly type: "room_ramp";
  /** How long the drift takes, seconds. */
  readonly over: number;
}

/** A fault or condition that needs no further detail: it is simply in force during its window. */
export interface PlainEvent extends EventWindow {
  /** Discriminant: which fault or condition. */
  readonly type:
    | "heater_failure"
    | "heater_stuck_on"
    | "pump_failure"
    | "power_cut"
    | "lid_open";
}

/** A sensor that sticks at its last reading or drops out (publishes nothing) during the window. */
export interface SensorFaultEvent extends EventWindow {
  /** Discriminant: stuck or dropped out. */
  readonly type: "sensor_stuck" | "sensor_dropout";
  /** Which sensor misbehaves. */
  readonly sensor: SensorName;
}

/** A sensor whose noise is multiplied by `factor` during the window. */
export interface SensorNoiseEvent extends EventWindow {
  /** Discriminant. */
  readonly type: "sensor_noise";
  /** Which sensor gets noisy. */
  readonly sensor: SensorName;
  /** Noise multiplier (10 = ten times the usual noise). */
  readonly factor: number;
}

/** Food dropped into the tank at `at`: an instant, so `until` equals `at`. */
export interface FeedingEvent extends EventWindow {
  /** Discriminant. */
  readonly type: "feeding";
  /** Food, grams (0.5 is a normal meal for a 60 L tank; 5 is heavy overfeeding). */
  readonly grams: number;
}

/** One event of a scenario's timeline. */
export type ScenarioEvent =
  | RoomStepEvent
  | RoomRampEvent
  | PlainEvent
  | SensorFaultEvent
  | SensorNoiseEvent
  | FeedingEvent;
