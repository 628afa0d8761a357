import assert from "node:assert/strict";
import {
  co2FromPh,
  co2Saturation,
  evaporationFlux,
  latentHeatOfVaporisation,
  oxygenSaturation,
  phFromCo2,
  saturationVapourPressure,
} from "./water.ts";

function near(
  actual: number,
  expected: number,
  tolerance: number,
  what: string,
): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} ± ${tolerance}, got ${actual}`,
  );
}

Deno.test("oxygenSaturation() matches the APHA table for fresh water at sea level", () => {
  // APHA Standard Methods 4500-O, Table 4500-O:I (chloride 0, 101.325 kPa).
  const table: [number, number][] = [
    [0, 14.62],
    [5, 12.77],
    [10, 11.29],
    [15, 10.08],
    [20, 9.09],
    [25, 8.26],
    [30, 7.56],
    [35, 6.95],
  ];
  for (const [t, mgL] of table) {
    near(oxygenSaturation(t), mgL, 0.015, `${t} °C`);
  }
});

Deno.test("saturationVapourPressure() matches the steam tables within 0.5 %", () => {
  // CRC Handbook, vapour pressure of water.
  const table: [number, number][] = [
    [0, 611.2],
    [10, 1228.1],
    [20, 2339.3],
    [25, 3169.9],
    [30, 4246.0],
    [40, 7384.9],
  ];
  for (const [t, pa] of table) {
    near(saturationVapourPressure(t), pa, pa * 0.005, `${t} °C`);
  }
});

Deno.test("latentHeatOfVaporisation() matches the steam tables within 0.2 %", () => {
  const table: [number, number][] = [[0, 2.5009e6], [20, 2.4535e6], [
    25,
    2.4417e6,
  ], [40, 2.4062e6]];
  for (const [t, l] of table) {
    near(latentHeatOfVaporisation(t), l, l * 0.002, `${t} °C`);
  }
});

Deno.test("evaporationFlux() grows with water temperature and falls with humidity, never below 0", () => {
  const options = { relativeHumidity: 0.5, coefficient: 1e-8 };
  const cool = evaporationFlux(21, 21, options);
  const warm = evaporationFlux(25, 21, options);
  assert.ok(warm > cool && cool > 0);
  near(
    warm,
    1e-8 * (saturationVapourPressure(25) - 0.5 * saturationVapourPressure(21)),
    1e-15,
    "Dalton",
  );
  assert.ok(
    evaporationFlux(25, 21, { ...options, relativeHumidity: 0.9 }) < warm,
  );
  assert.equal(evaporationFlux(10, 30, { ...options, relativeHumidity: 1 }), 0);
});

Deno.test("co2Saturation() gives about 0.6 mg/L at 25 °C and 420 ppm, more in cold water", () => {
  near(co2Saturation(25, 420), 0.62, 0.02, "25 °C");
  // Solubility of CO2 at 10 °C is about 1.5 times that at 25 °C.
  near(
    co2Saturation(10, 420) / co2Saturation(25, 420),
    1.55,
    0.08,
    "ratio 10/25 °C",
  );
  near(
    co2Saturation(25, 840),
    2 * co2Saturation(25, 420),
    1e-12,
    "proportional to partial pressure",
  );
});

Deno.test("phFromCo2() follows CO2 = 3·KH·10^(7 − pH) and co2FromPh() inverts it", () => {
  near(phFromCo2(9, 3), 7, 1e-12, "9 mg/L at 3 dKH");
  near(phFromCo2(0.9, 3), 8, 1e-12, "0.9 mg/L at 3 dKH");
  near(co2FromPh(7.5, 4), 3 * 4 * 10 ** -0.5, 1e-12, "7.5 at 4 dKH");
  for (const ph of [5, 6.5, 7.2, 8.1, 9]) {
    near(phFromCo2(co2FromPh(ph, 5), 5), ph, 1e-12, `round trip ${ph}`);
  }
});
