/**
 * Recording any broker's traffic (one tank or all) into the data store as a run: `deno task record` and the
 * session recording of `deno task sim --web`.
 *
 * @module
 */

export {
  recordBroker,
  type RecordingResult,
  type RecordOptions,
} from "./record_broker.ts";
