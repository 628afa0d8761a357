/**
 * The exact one-step solution of a linear first-order equation, shared by the heat, gas and sensor models so that
 * their accuracy does not depend on the step size.
 *
 * @module
 */

/**
 * Advances dx/dt = source − rate·x by `dt` with `source` and `rate` held constant over the step:
 * x(dt) = x + (source − rate·x) · (1 − e^(−rate·dt)) / rate, which tends to x + source·dt as rate → 0. Exact for
 * constant coefficients, so a 1 s step and a 1 h step agree.
 *
 * @param x Value at the start of the step.
 * @param rate Relaxation rate, 1/s (≥ 0).
 * @param source Constant source term, units of x per second.
 * @param dt Step length, s.
 */
export function relax(
  x: number,
  rate: number,
  source: number,
  dt: number,
): number {
  // expm1 keeps full precision when rate·dt is tiny (a 23 h time constant at 1 s steps).
  return rate > 0
    ? x + (source - rate * x) * (-Math.expm1(-rate * dt) / rate)
    : x + source * dt;
}
