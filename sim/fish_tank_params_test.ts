import assert from "node:assert/strict";
import {
  FISH_TANK_DEFAULTS,
  resolveFishTankParams,
  validateFishTankParams,
} from "./fish_tank_params.ts";
import { fishTank } from "./fish_tank.ts";
import { createRng } from "./rng.ts";

Deno.test("FISH_TANK_DEFAULTS pass validation and give a 33.3 cm deep tank with m·c/UA ≈ 12.2 h", () => {
  validateFishTankParams(FISH_TANK_DEFAULTS);
  const d = FISH_TANK_DEFAULTS;
  assert.ok(Math.abs((d.waterVolume / d.surfaceArea) * 100 - 33.33) < 0.01);
  const tauHours = (d.waterVolume * d.waterDensity * d.specificHeat) / d.ua /
    3600;
  assert.ok(tauHours > 11.5 && tauHours < 13, `${tauHours} h`);
});

Deno.test("ua is the ISO 6946 sum for a 60 × 30 × 36 cm glass tank: side glass, glass cover and base", () => {
  // Thermal resistances, m²·K/W: ISO 6946 surface resistances of still indoor air (0.13 horizontal heat flow, 0.10
  // upward, 0.17 downward), an unventilated air layer ≥ 25 mm with heat flowing upward (0.16), and layers as d/λ.
  const glass = (mm: number) => mm / 1000 / 1.0; // soda-lime glass, λ ≈ 1.0 W/(m·K)
  const sides = 1 / (0.13 + glass(6) + 0.005); // + the water-side film
  const cover = 1 / (0.16 + glass(4) + 0.10);
  const base = 1 / (glass(6) + 0.005 / 0.035 + 0.018 / 0.13 + 0.17); // foam mat, wooden top, cabinet air
  const sideArea = 2 * (0.6 + 0.3) * 0.36;
  const floorArea = 0.6 * 0.3;
  assert.ok(Math.abs(sideArea - 0.648) < 1e-9);
  assert.ok(sides > 6.5 && sides < 7.5, `side glass U ${sides} W/(m²·K)`);
  const ua = sideArea * sides + floorArea * cover + floorArea * base;
  assert.ok(
    Math.abs(FISH_TANK_DEFAULTS.ua - ua) < 0.05 * ua,
    `ua ${FISH_TANK_DEFAULTS.ua} W/K against ${ua} W/K from first principles`,
  );
  assert.ok(ua > 5 && ua < 6, `${ua} W/K`);
});

Deno.test("resolveFishTankParams() merges overrides, sensor specs field by field", () => {
  const params = resolveFishTankParams({
    heaterPower: 50,
    sensors: { ph: { noise: 0.05 } },
  });
  assert.equal(params.heaterPower, 50);
  assert.equal(params.ua, FISH_TANK_DEFAULTS.ua);
  assert.deepEqual(params.sensors.ph, {
    ...FISH_TANK_DEFAULTS.sensors.ph,
    noise: 0.05,
  });
  assert.deepEqual(
    params.sensors.temperature,
    FISH_TANK_DEFAULTS.sensors.temperature,
  );
});

Deno.test("resolveFishTankParams() names the field and the expected range of a bad value", () => {
  assert.throws(
    () => resolveFishTankParams({ waterVolume: -0.06 }),
    {
      name: "RangeError",
      message:
        "FishTankParams.waterVolume: expected a number > 0 m³, got -0.06",
    },
  );
  assert.throws(
    () => resolveFishTankParams({ roomHumidity: 1.5 }),
    /roomHumidity: expected a number ≥ 0 and ≤ 1/,
  );
  assert.throws(() => resolveFishTankParams({ ua: NaN }), /FishTankParams\.ua/);
  assert.throws(
    () => resolveFishTankParams({ sensors: { level: { resolution: 0 } } }),
    /sensors\.level\.resolution/,
  );
  assert.throws(
    () => resolveFishTankParams({ sensors: { light: { min: 10, max: 5 } } }),
    /sensors\.light: expected min < max/,
  );
});

Deno.test("initial() uses 25 °C, pH 7.8, saturated oxygen and the full level by default", () => {
  const state = fishTank.initial(FISH_TANK_DEFAULTS, {}, createRng(0));
  assert.equal(state.temperature, 25);
  assert.ok(Math.abs(state.ph - 7.8) < 1e-12);
  assert.ok(Math.abs(state.oxygen - 8.26) < 0.01);
  assert.ok(Math.abs(state.level - 100 / 3) < 1e-9);
  assert.equal(state.volume, 0.06);
});

Deno.test("initial() rejects out-of-range initial conditions, naming the field and range", () => {
  const bad = [
    [
      { temperature: -5 },
      /FishTankInitial\.temperature: expected a number ≥ 0 and ≤ 50 °C, got -5/,
    ],
    [
      { ph: 12 },
      /FishTankInitial\.ph: expected a number ≥ 4 and ≤ 9\.5, got 12/,
    ],
    [{ oxygen: -1 }, /FishTankInitial\.oxygen/],
    [{ level: 0 }, /FishTankInitial\.level: expected a number > 1 cm, got 0/],
  ] as const;
  for (const [initial, message] of bad) {
    assert.throws(
      () => fishTank.initial(FISH_TANK_DEFAULTS, initial, createRng(0)),
      RangeError,
    );
    assert.throws(
      () => fishTank.initial(FISH_TANK_DEFAULTS, initial, createRng(0)),
      message,
    );
  }
});

Deno.test("resolveFishTankParams() checks the feeding shares and the sensors' calibration bounds", () => {
  assert.throws(
    () => resolveFishTankParams({ uneatenFraction: 1.2 }),
    /FishTankParams\.uneatenFraction: expected a number ≥ 0 and ≤ 1/,
  );
  assert.throws(
    () => resolveFishTankParams({ fishAppetite: -1 }),
    /FishTankParams\.fishAppetite/,
  );
  assert.throws(
    () =>
      resolveFishTankParams({
        sensors: { temperature: { calibration: -0.5 } },
      }),
    /sensors\.temperature\.calibration/,
  );
});
