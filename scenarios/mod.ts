/**
 * Scenarios: scripted days in the tank's life, written by teachers as YAML files, validated with clear errors and
 * evaluated step by step into the environment the simulated tank sees.
 *
 * ```ts
 * import { environmentAt, loadScenario, rangesAt } from "./mod.ts";
 * const scenario = await loadScenario("cold-room");
 * const env = environmentAt(scenario, 3600, scenario.step); // the room, daylight and faults one hour in
 * const ranges = rangesAt(scenario, 3600); // what the controller must keep each reading within now
 * ```
 *
 * @module
 */

export {
  daylightAt,
  type DaylightProfile,
  DEFAULT_DAYLIGHT,
  DEFAULT_ROOM,
  type RoomProfile,
  roomTemperatureAt,
} from "./day_profile.ts";
export { DEFAULT_RANGES } from "./default_ranges.ts";
export {
  formatDuration,
  formatTimeOfDay,
  parseDuration,
  parseTimeOfDay,
} from "./duration.ts";
export {
  BUILTIN_DIR,
  builtinScenarioIds,
  listBuiltinScenarios,
  loadScenario,
} from "./load_scenario.ts";
export { parseScenario, type ParseScenarioOptions } from "./parse_scenario.ts";
export type {
  GradingComponent,
  RangeRule,
  Scenario,
  ScenarioGrading,
  ScenarioSummary,
  SensorRange,
} from "./scenario.ts";
export {
  ScenarioError,
  type ScenarioErrorOptions,
  type ScenarioIssue,
} from "./scenario_error.ts";
export { SCENARIO_LIMITS, type ScenarioLimits } from "./scenario_limits.ts";
export {
  EVENT_TYPES,
  type EventType,
  type EventWindow,
  type FeedingEvent,
  type PlainEvent,
  type RoomChange,
  type RoomRampEvent,
  type RoomStepEvent,
  type ScenarioEvent,
  type SensorFaultEvent,
  type SensorNoiseEvent,
} from "./scenario_event.ts";
export {
  DEFAULT_GRADING,
  FAULT_EVENT_TYPES,
  GRADING_COMPONENTS,
  type ScenarioFile,
  scenarioFileSchema,
} from "./schema.ts";
export {
  activeEvents,
  environmentAt,
  hourOfDay,
  rangeAt,
  rangesAt,
  Timeline,
  timelineOf,
} from "./timeline.ts";
