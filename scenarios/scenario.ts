/**
 * The `Scenario` type: one scripted day (or week) in the tank's life, fully resolved from its YAML file.
 *
 * @module
 */

import type {
  FishTankInitial,
  FishTankParams,
  SensorName,
} from "../sim/mod.ts";
import type { DaylightProfile, RoomProfile } from "./day_profile.ts";
import type { EventType, ScenarioEvent } from "./scenario_event.ts";

/** Acceptable values of one measurement; an omitted bound means "no limit on that side". */
export interface SensorRange {
  /** Lowest acceptable value. */
  readonly min?: number;
  /** Highest acceptable value. */
  readonly max?: number;
}

/**
 * A range in force during part of each day, from `from` to `to` (hours since midnight, `to` exclusive). A window with
 * `to < from` runs across midnight (20 → 8 is 20:00–08:00). A whole-day range is `{ from: 0, to: 24 }`.
 */
export interface RangeRule {
  /** Start of the window, hours since midnight (inclusive). */
  readonly from: number;
  /** End of the window, hours since midnight (exclusive). */
  readonly to: number;
  /** The range in force during the window; `{}` means "no limits" then. */
  readonly range: SensorRange;
}

/**
 * A scenario as the loader returns it: camelCase, durations in seconds, times of day in hours, every default
 * resolved. Deeply frozen, so that a timeline computed from it stays valid.
 */
export interface Scenario {
  /** Kebab-case id, the file name of a built-in scenario (`cold-room`). */
  readonly id: string;
  /** Bumped whenever the dynamics or the scoring change, so that scores of one version stay comparable. */
  readonly version: number;
  /** One-line title for menus and reports. */
  readonly title: string;
  /** What happens in this scenario, for students. */
  readonly description: string;
  /** What a good controller does here, for students and graders. */
  readonly goodController: string;
  /** Which simulated system runs the scenario. */
  readonly system: "fishtank";
  /** Seed of the run's random generator (sensor noise and the like). */
  readonly seed: number;
  /** Start of the run, epoch ms. Times carry no zone: the tank's local wall-clock time is stored as if it were UTC. */
  readonly start: number;
  /** Length of the run, seconds. */
  readonly duration: number;
  /** Physics step, seconds. */
  readonly step: number;
  /** Seconds between two published measurements. */
  readonly publishPeriod: number;
  /** Seconds between two points where a lockstep harness waits for the controller. */
  readonly controlPeriod: number;
  /** Initial conditions; anything missing takes the model's default. */
  readonly initial: Readonly<FishTankInitial>;
  /** Physical parameters: the model's defaults with the scenario's overrides merged over them. */
  readonly params: Readonly<FishTankParams>;
  /** The room's day/night temperature profile (before room events). */
  readonly room: RoomProfile;
  /** Daylight at the tank. */
  readonly daylight: DaylightProfile;
  /**
   * Acceptable ranges per sensor, as time-of-day rules that together cover the day; an empty list means no range
   * for that sensor.
   */
  readonly ranges: Readonly<Record<SensorName, readonly RangeRule[]>>;
  /** The timeline, sorted by `at` (events with the same `at` keep their order in the file). */
  readonly events: readonly ScenarioEvent[];
  /** How a run of this scenario is scored: weights, pass mark and the scales some components need. */
  readonly grading: ScenarioGrading;
  /** Outside tanks the live simulator declares for this scenario (`rigs:`; see `deno task sim --rig`). */
  readonly rigs: readonly string[];
  /** Where the scenario came from: a built-in id (`cold-room`) or the path it was loaded from. */
  readonly file: string;
  /** SHA-256 of the file's bytes (lowercase hex), so that a recorded run can tell which version it used. */
  readonly hash: string;
}

/**
 * A part of a run's score: one per measurement that has a range (`temperature`, `ph`, …), plus the heater's
 * `energy`, actuator `switching`, `alarms` (faults detected in time, no false alarms) and protocol `hygiene`.
 */
export type GradingComponent =
  | SensorName
  | "energy"
  | "switching"
  | "alarms"
  | "hygiene";

/**
 * A scenario's `grading:` section, resolved: every default filled in. The grader (`grader/`) documents what each
 * figure does to the score.
 */
export interface ScenarioGrading {
  /** Score (0–100) a run needs to pass. Default 60. */
  readonly passMark: number;
  /**
   * Weight of each component (≥ 0; the score is the weighted mean). A measurement without a range in this scenario
   * always has weight 0; at least one weight is above 0.
   */
  readonly weights: Readonly<Record<GradingComponent, number>>;
  /**
   * Heat the heater may give over the run, Wh, before the energy score falls (it reaches 0 at twice the budget);
   * `null` when the file gives none: the grader then estimates what holding the middle of the temperature range
   * takes.
   */
  readonly energyBudgetWh: number | null;
  /** Switches per hour of one actuator (averaged over the run) above which the switching score falls. Default 6. */
  readonly maxSwitchesPerHour: number;
  /** Seconds from a fault's start within which the controller's alarm counts as detecting it. Default 30 min. */
  readonly detectionDeadline: number;
  /**
   * Seconds after a fault (or another reason for an alarm) ends during which a new alarm is still not false.
   * Default 15 min.
   */
  readonly alarmGrace: number;
  /**
   * Event types whose events the controller must notice with an alarm. Default: the fault types present in the
   * scenario (heater, pump and sensor faults, power cuts); a feeding or an open lid counts only when listed here.
   */
  readonly expectAlarm: readonly EventType[];
}

/** A line of the list of built-in scenarios. */
export interface ScenarioSummary {
  /** The scenario's id, also its file name without `.yaml`. */
  readonly id: string;
  /** Its title. */
  readonly title: string;
  /** Absolute path of the YAML file. */
  readonly file: string;
}
