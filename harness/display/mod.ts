/**
 * The terminal display of one tank: a message reducer ({@linkcode applyMessage}) feeding a pure renderer, and
 * {@linkcode runDisplay} wiring them to mqtt.js and a terminal. The web's live page and recordings reuse the reducer.
 *
 * @module
 */

export {
  applyMessage,
  DEFAULT_BROKER,
  describeConnectionError,
  DISPLAY_DEFAULTS,
  type DisplayOptions,
  type DisplayState,
  initialDisplayState,
  latestSimTime,
  normalizeBroker,
  runDisplay,
} from "./display.ts";
