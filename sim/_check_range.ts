/**
 * The range check behind every RangeError the simulator throws for bad parameters or initial conditions.
 *
 * @module
 */

/** Where a number must lie, for {@linkcode checkRange}. */
export interface RangeOptions {
  lowest: number;
  highest?: number;
  lowestExcluded?: boolean;
  unit?: string;
}

/**
 * Throws a RangeError naming `where` unless `value` is a finite number in the range.
 *
 * @throws {RangeError} `FishTankParams.waterVolume: expected a number > 0 m³, got -1`.
 */
export function checkRange(
  where: string,
  value: unknown,
  options: RangeOptions,
): void {
  const { lowest, highest = Infinity, lowestExcluded = false, unit = "" } =
    options;
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (lowestExcluded ? value > lowest : value >= lowest) && value <= highest;
  if (ok) return;
  const low = lowest === -Infinity
    ? ""
    : `${lowestExcluded ? ">" : "≥"} ${lowest}`;
  const high = highest === Infinity ? "" : `≤ ${highest}`;
  const range = [low, high].filter(Boolean).join(" and ");
  const expected = range
    ? `a number ${range}${unit ? ` ${unit}` : ""}`
    : "a finite number";
  throw new RangeError(`${where}: expected ${expected}, got ${String(value)}`);
}
