/**
 * The simulator's version, stored with every run. Bump it when the dynamics change in a way that changes results for
 * the same scenario and seed, so old scores stay comparable (scenarios carry their own version too).
 *
 * @module
 */

/** `fishtank-sim/<n>`: the model version of `sim/`. */
export const SIMULATOR_VERSION = "fishtank-sim/2";
