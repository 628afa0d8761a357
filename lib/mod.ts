/**
 * Small helpers every layer may use: resolving options against their defaults, and h:mm:ss formatting of
 * simulated time. Depends on nothing in the project.
 *
 * @module
 */

export { withDefaults } from "./options.ts";
export { formatClock, formatDuration, formatSimTime } from "./time_format.ts";
