/**
 * Rounding of readings to a sensor's resolution, so that a DS18B20 reads 24.875 and never 24.875000000001.
 *
 * @module
 */

/** Decimal places that print `resolution` exactly: 0.0625 → 4, 0.1 → 1, 5 → 0. At most 10. */
export function decimalsOf(resolution: number): number {
  for (let decimals = 0; decimals < 10; decimals++) {
    const scaled = resolution * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) {
      return decimals;
    }
  }
  return 10;
}

/**
 * `value` rounded to the nearest multiple of `resolution`, printed with at most `decimals` decimals.
 *
 * Dividing the integer n by 10^decimals gives the double nearest to n·10^−decimals (IEEE division is correctly
 * rounded), whose shortest printed form is that decimal, so `String()` shows no binary noise.
 *
 * @param decimals From {@linkcode decimalsOf} of the same resolution.
 */
export function quantise(
  value: number,
  resolution: number,
  decimals: number,
): number {
  const scale = 10 ** decimals;
  const result =
    Math.round(Math.round(value / resolution) * resolution * scale) / scale;
  // -0 prints as "0" but fails Object.is comparisons in recorded runs.
  return result === 0 ? 0 : result;
}
