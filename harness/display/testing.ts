/**
 * Test support for the display and its command line: a tank's topic base and one `sensors/all` batch.
 *
 * @module
 */

/** The topic base the display tests use. */
export const BASE = "fishtank/tank1";

/** A `sensors/all` batch as the tank publishes it. */
export const ALL = {
  time: "2026-01-15T06:00:10.000Z",
  t: 10,
  temperature: 24.875,
  room_temperature: 21.1,
  ph: 7.85,
  oxygen: 8.1,
  light: 120,
  level: 33.3,
};
