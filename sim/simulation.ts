/**
 * A running simulation of one {@linkcode System}: its state, a virtual clock, a seeded generator, the actuator
 * inputs in force and the environment timeline. The harness drives one of these per tank.
 *
 * @module
 */

import type { Rng, System } from "./system.ts";
import { type ReadonlyClock, VirtualClock } from "./clock.ts";
import { createRng } from "./rng.ts";

/** How to build a {@linkcode Simulation}. */
export interface SimulationOptions<
  Params,
  Initial,
  State,
  Inputs,
  Env,
  Readings,
> {
  /** The system to run, e.g. `fishTank`. */
  system: System<Params, Initial, State, Inputs, Env, Readings>;
  /** Parameters; default `system.defaults`. */
  params?: Params;
  /** Initial conditions (`{}` takes the system's defaults). */
  initial: Initial;
  /** Seed of the generator behind every random number of the run (a safe integer). */
  seed: number;
  /** Physics step, s; default 1. Must be a whole number of milliseconds. */
  step?: number;
  /** Scenario start, epoch milliseconds (UTC); default 0. */
  startMs?: number;
  /**
   * The environment for the step that starts `t` simulated seconds after the start and lasts `dt` seconds. Called
   * once at construction with (0, step) to prime the system, then once at the start of each step; it should be a
   * pure function of its arguments. Impulses such as feeding belong to the step whose window [t, t + dt) holds them.
   */
  environment: (t: number, dt: number) => Env;
}

/**
 * One system running in simulated time. Time moves only through {@linkcode Simulation.advance}, in whole physics
 * steps; {@linkcode Simulation.advance} throws a RangeError for a span that is not a whole number of steps rather
 * than carrying a remainder, so a run never silently drifts from the times its caller asked for.
 *
 * @example
 * ```ts
 * import { fishTank, Simulation } from "./mod.ts";
 * const sim = new Simulation({
 *   system: fishTank,
 *   initial: {},
 *   seed: 1,
 *   environment: () => ({
 *     roomTemperature: 21, daylight: 0, heater: "ok", pump: "ok", powerCut: false, lidOpen: false, feeding: 0,
 *     sensorFaults: {},
 *   }),
 * });
 * sim.setInputs({ heater: 1 });
 * sim.advance(600);
 * sim.observe().temperature; // ≈ 25.2
 * ```
 */
export class Simulation<
  Params,
  Initial,
  State,
  Inputs extends object,
  Env,
  Readings,
> {
  /** The system being run. */
  readonly system: System<Params, Initial, State, Inputs, Env, Readings>;
  /** The parameters in force. */
  readonly params: Params;
  /** The seed the run was started with. */
  readonly seed: number;
  /** Physics step, s. */
  readonly step: number;
  readonly #stepMs: number;
  readonly #environment: (t: number, dt: number) => Env;
  readonly #clock: VirtualClock;
  readonly #rng: Rng;
  #state: State;
  #inputs: Inputs;
  #env: Env;
  #steps = 0;

  /**
   * Builds the initial state (validated by the system) and primes it with the environment at time zero. Inputs start
   * as the system's idle inputs (everything off).
   *
   * @throws {RangeError} For a bad step, seed, start time, parameter or initial condition.
   */
  constructor(
    options: SimulationOptions<Params, Initial, State, Inputs, Env, Readings>,
  ) {
    const {
      system,
      params = system.defaults as Params,
      initial,
      seed,
      step = 1,
      startMs = 0,
    } = options;
    const stepMs = Math.round(step * 1000);
    if (
      !(step > 0) || !Number.isFinite(step) ||
      Math.abs(stepMs - step * 1000) > 1e-6 * stepMs
    ) {
      throw new RangeError(
        `Simulation: step: expected a positive whole number of milliseconds in s, got ${step}`,
      );
    }
    this.system = system;
    this.params = params;
    this.seed = seed;
    this.step = step;
    this.#stepMs = stepMs;
    this.#environment = options.environment;
    this.#clock = new VirtualClock(startMs);
    this.#rng = createRng(seed);
    this.#inputs = { ...system.idleInputs };
    this.#env = options.environment(0, step);
    const state = system.initial(params, initial, this.#rng);
    this.#state = system.prime
      ? system.prime(state, this.#inputs, this.#env, params)
      : state;
  }

  /** Simulated seconds since the start. */
  get time(): number {
    return this.#clock.seconds;
  }

  /** Physics steps run so far. */
  get steps(): number {
    return this.#steps;
  }

  /** The simulated clock (read only; it moves with {@linkcode Simulation.advance}). */
  get clock(): ReadonlyClock {
    return this.#clock;
  }

  /** The current state. Each step makes a new state object, so a state once read never changes. */
  get state(): Readonly<State> {
    return this.#state;
  }

  /** The actuator inputs in force. */
  get inputs(): Readonly<Inputs> {
    return this.#inputs;
  }

  /** The environment of the last step (or of time zero before the first step). */
  get env(): Readonly<Env> {
    return this.#env;
  }

  /** Changes some inputs; the others, and these, stay as they are until changed again. */
  setInputs(partial: Partial<Inputs>): void {
    const next = { ...this.#inputs };
    for (const key of Object.keys(partial) as (keyof Inputs)[]) {
      const value = partial[key];
      // An explicit `undefined` means "not mentioned", not "clear this input".
      if (value !== undefined) next[key] = value as Inputs[keyof Inputs];
    }
    this.#inputs = next;
  }

  /**
   * Runs `seconds / step` physics steps, each with the environment evaluated at its start.
   *
   * @returns The number of steps run.
   * @throws {RangeError} When `seconds` is negative or not a whole number of steps.
   */
  advance(seconds: number): number {
    const count = Math.round(seconds / this.step);
    if (
      !(seconds >= 0) || !Number.isFinite(seconds) ||
      Math.abs(count * this.step - seconds) > 1e-9 * (seconds + 1)
    ) {
      throw new RangeError(
        `Simulation.advance: expected a whole number of ${this.step} s steps, got ${seconds} s`,
      );
    }
    const { system, params, step } = this;
    for (let i = 0; i < count; i++) {
      // Time from the integer step count, so t never accumulates rounding error.
      const t = (this.#steps * this.#stepMs) / 1000;
      const env = this.#environment(t, step);
      this.#env = env;
      this.#state = system.step(this.#state, this.#inputs, env, step, params);
      this.#steps++;
      this.#clock.advanceMs(this.#stepMs);
    }
    return count;
  }

  /** Sensor readings of the current state under the last environment; draws the noise from the run's generator. */
  observe(): Readings {
    return this.system.observe(this.#state, this.#env, this.#rng, this.params);
  }
}
