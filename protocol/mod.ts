/**
 * The topic contract: topic layouts and names (`fishtank/tank1/sensors/temperature`…), parsing and formatting of
 * every payload (readings, commands, ranges, alarms) with the physical bounds a payload may claim, and how old a
 * reading is. Used by the simulator's tank node, the grader, the display and the web. Builds on `sim/` only.
 *
 * @module
 */

export {
  type Alarm,
  type Command,
  decodeText,
  formatReading,
  isSensor,
  MAX_COMMAND_BYTES,
  parseAlarm,
  parseCommand,
  parseControlAll,
  type Parsed,
  parseHeater,
  parseRange,
  parseSwitch,
  PHYSICAL_BOUNDS,
  preview,
  type Range,
} from "./payloads.ts";
export { readingAgeMs } from "./reading_age.ts";
export {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  type LayoutName,
  LAYOUTS,
  TankTopics,
  type TopicKind,
  validateTopicPart,
} from "./topics.ts";
