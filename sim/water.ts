/**
 * Physical properties of fresh water and its gases, each with the source of its formula, for the fish-tank model.
 *
 * @module
 */

/** Molar mass of CO2, g/mol. */
const CO2_MOLAR_MASS = 44.01;
/** Standard atmosphere, Pa. */
const STANDARD_PRESSURE = 101_325;

/**
 * Dissolved-oxygen concentration of fresh water in equilibrium with air at sea level (101.325 kPa), mg/L.
 *
 * Benson & Krause (1984), "The concentration and isotopic fractionation of oxygen dissolved in freshwater and seawater
 * in equilibrium with the atmosphere", Limnol. Oceanogr. 29(3), as tabulated in APHA Standard Methods 4500-O:
 * ln C = −139.34411 + 1.575701e5/T − 6.642308e7/T² + 1.243800e10/T³ − 8.621949e11/T⁴ with T in kelvin.
 * Gives 10.08 mg/L at 15 °C and 8.26 mg/L at 25 °C.
 *
 * @param tempC Water temperature, °C (valid 0–40 °C).
 */
export function oxygenSaturation(tempC: number): number {
  const t = tempC + 273.15;
  const inv = 1 / t;
  return Math.exp(
    -139.34411 +
      inv *
        (1.575701e5 +
          inv * (-6.642308e7 + inv * (1.2438e10 + inv * -8.621949e11))),
  );
}

/**
 * Saturation vapour pressure over liquid water, Pa.
 *
 * Magnus formula with the constants of Alduchov & Eskridge (1996), "Improved Magnus form approximation of saturation
 * vapor pressure", J. Appl. Meteor. 35: e = 610.94 · exp(17.625·T / (T + 243.04)); within 0.4 % of the steam tables
 * from 0 to 50 °C (3169 Pa at 25 °C).
 *
 * @param tempC Temperature, °C.
 */
export function saturationVapourPressure(tempC: number): number {
  return 610.94 * Math.exp((17.625 * tempC) / (tempC + 243.04));
}

/**
 * Latent heat of vaporisation of water, J/kg.
 *
 * Linear fit from Rogers & Yau (1989), "A Short Course in Cloud Physics": L = 2.501e6 − 2370·T, within 0.1 % of the
 * steam tables between 0 and 40 °C (2.442 MJ/kg at 25 °C).
 *
 * @param tempC Water temperature, °C.
 */
export function latentHeatOfVaporisation(tempC: number): number {
  return 2.501e6 - 2370 * tempC;
}

/** Options for {@linkcode evaporationFlux}. */
export interface EvaporationOptions {
  /** Relative humidity of the air, 0–1. */
  relativeHumidity: number;
  /** Mass-transfer coefficient, kg/(m²·s·Pa): how fast water leaves per pascal of vapour-pressure difference. */
  coefficient: number;
}

/**
 * Evaporation from a water surface, kg/(m²·s), driven by the difference between the vapour pressure at the water's
 * temperature and the partial vapour pressure of the air (Dalton's law of evaporation:
 * E = K · (e_s(T_water) − RH · e_s(T_air))). Never negative: condensation on a cold tank is ignored.
 *
 * @param waterC Water temperature, °C.
 * @param airC Air temperature, °C.
 */
export function evaporationFlux(
  waterC: number,
  airC: number,
  options: EvaporationOptions,
): number {
  const deficit = saturationVapourPressure(waterC) -
    options.relativeHumidity * saturationVapourPressure(airC);
  return deficit > 0 ? options.coefficient * deficit : 0;
}

/**
 * Dissolved CO2 in fresh water in equilibrium with air holding `airPpm` parts per million of CO2 at sea level, mg/L.
 *
 * Henry's law with the constant of Sander (2015), "Compilation of Henry's law constants (version 4.0) for water as
 * solvent", Atmos. Chem. Phys. 15: H = 3.3e-4 mol/(m³·Pa) at 25 °C, d ln H / d(1/T) = 2400 K. Gives 0.62 mg/L at
 * 25 °C and 420 ppm.
 *
 * @param tempC Water temperature, °C.
 * @param airPpm CO2 in the air, ppm by volume (outdoor air ≈ 420, indoor air 400–1000).
 */
export function co2Saturation(tempC: number, airPpm: number): number {
  const henry = 3.3e-4 * Math.exp(2400 * (1 / (tempC + 273.15) - 1 / 298.15));
  return henry * airPpm * 1e-6 * STANDARD_PRESSURE * CO2_MOLAR_MASS;
}

/**
 * pH of fresh water from its dissolved CO2 (mg/L) and carbonate hardness (dKH), by the aquarium rule
 * CO2 = 3 · KH · 10^(7 − pH).
 *
 * The rule is the Henderson–Hasselbalch equation for the carbonate system, pH = pK1 + log10([HCO3⁻]/[CO2]), with
 * pK1 ≈ 6.35 at 25 °C and 1 dKH = 0.357 mmol/L of bicarbonate, rounded to the factor 3 that aquarium CO2 tables use.
 *
 * @param co2 Dissolved CO2, mg/L (> 0).
 * @param kh Carbonate hardness, dKH (> 0).
 */
export function phFromCo2(co2: number, kh: number): number {
  return 7 - Math.log10(co2 / (3 * kh));
}

/**
 * Dissolved CO2 (mg/L) that gives `ph` in water of carbonate hardness `kh` (dKH); the inverse of
 * {@linkcode phFromCo2}.
 */
export function co2FromPh(ph: number, kh: number): number {
  return 3 * kh * 10 ** (7 - ph);
}
