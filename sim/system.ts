/**
 * The general shape of a simulated system, in the style of Gymnasium's functional environments: state is passed
 * explicitly, time and randomness are injected, and nothing here touches the wall clock or I/O.
 *
 * @module
 */

/** A seeded source of random numbers. The same seed always gives the same sequence. */
export interface Rng {
  /** A uniform number in [0, 1). */
  next(): number;
  /** A standard normal number (mean 0, standard deviation 1). */
  normal(): number;
}

/**
 * A physical system that the harness can run: the fish tank is the first; others (a greenhouse, a boiler) fit the same
 * shape.
 *
 * - `initial` builds the state at time zero from the parameters and optional initial conditions.
 * - `step` advances the state by `dt` seconds under the actuator `inputs` and the `env`ironment (weather, faults).
 * - `observe` turns the state into sensor readings; noise comes from `rng`, so readings are reproducible per seed.
 * - `prime` (optional) lines the state up with the environment at time zero without advancing it, e.g. so that
 *   sensors that have been running before the scenario starts do not begin with a lag transient.
 */
export interface System<Params, Initial, State, Inputs, Env, Readings> {
  /** Short id used in scenario files, e.g. `fishtank`. */
  readonly id: string;
  /** Default parameters, each documented where it is declared. */
  readonly defaults: Readonly<Params>;
  /** Inputs that mean "everything off". */
  readonly idleInputs: Readonly<Inputs>;
  /** The state at time zero; throws a RangeError naming any bad parameter or initial condition. */
  initial(params: Params, initial: Initial, rng: Rng): State;
  /** The state `dt` seconds later; pure, so `state` is left as it was. */
  step(
    state: State,
    inputs: Inputs,
    env: Env,
    dt: number,
    params: Params,
  ): State;
  /** Sensor readings of `state` under `env`, with noise drawn from `rng`. */
  observe(state: State, env: Env, rng: Rng, params: Params): Readings;
  /** `state` lined up with the environment at time zero, without advancing time (optional). */
  prime?(state: State, inputs: Inputs, env: Env, params: Params): State;
}
