/**
 * Replaying a stored run's MQTT traffic on a broker under a topic prefix, paced by its simulated time.
 *
 * @module
 */

export {
  formatSpeed,
  pacedDelayMs,
  parseSpeed,
  replayTopic,
} from "./_replay_pace.ts";
export {
  DEFAULT_PREFIX,
  DEFAULT_SPEED,
  ReplayError,
  type ReplayProgress,
  replayRun,
} from "./replay_run.ts";
