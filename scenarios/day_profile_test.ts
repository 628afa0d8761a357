import assert from "node:assert/strict";
import {
  daylightAt,
  DEFAULT_DAYLIGHT,
  DEFAULT_ROOM,
  roomTemperatureAt,
} from "./day_profile.ts";

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance}, got ${actual}`,
  );

Deno.test("roomTemperatureAt() is coldest at coldestHour and warmest 12 h later", () => {
  close(roomTemperatureAt(DEFAULT_ROOM, 5), 19.5);
  close(roomTemperatureAt(DEFAULT_ROOM, 17), 22.5);
  close(roomTemperatureAt(DEFAULT_ROOM, 11), 21);
  close(roomTemperatureAt(DEFAULT_ROOM, 23), 21);
  for (let h = 0; h < 24; h += 0.25) {
    const t = roomTemperatureAt(DEFAULT_ROOM, h);
    assert.ok(t >= 19.5 - 1e-9 && t <= 22.5 + 1e-9, `${t} at ${h} h`);
  }
});

Deno.test("roomTemperatureAt() repeats every 24 hours and follows the profile", () => {
  close(roomTemperatureAt(DEFAULT_ROOM, 5 + 24), 19.5);
  close(roomTemperatureAt(DEFAULT_ROOM, 5 - 24), 19.5);
  const cold = { mean: 17, amplitude: 1, coldestHour: 3 };
  close(roomTemperatureAt(cold, 3), 16);
  close(roomTemperatureAt(cold, 15), 18);
});

Deno.test("roomTemperatureAt() with zero amplitude is constant", () => {
  const flat = { mean: 20, amplitude: 0, coldestHour: 5 };
  for (const h of [0, 5, 12.3, 23.9]) close(roomTemperatureAt(flat, h), 20);
});

Deno.test("daylightAt() is a half-sine from sunrise to sunset and dark at night", () => {
  assert.equal(daylightAt(DEFAULT_DAYLIGHT, 0), 0);
  assert.equal(daylightAt(DEFAULT_DAYLIGHT, 6.99), 0);
  close(daylightAt(DEFAULT_DAYLIGHT, 7), 0);
  close(daylightAt(DEFAULT_DAYLIGHT, 13), 300);
  close(daylightAt(DEFAULT_DAYLIGHT, 10), 300 * Math.sin(Math.PI / 4));
  close(daylightAt(DEFAULT_DAYLIGHT, 16), 300 * Math.sin(Math.PI * 3 / 4));
  assert.equal(daylightAt(DEFAULT_DAYLIGHT, 19), 0);
  assert.equal(daylightAt(DEFAULT_DAYLIGHT, 22), 0);
  close(daylightAt(DEFAULT_DAYLIGHT, 13 + 24), 300);
});

Deno.test("daylightAt() is never negative and peaks at peakLux", () => {
  const summer = { peakLux: 450, sunrise: 5.5, sunset: 21.5 };
  let peak = 0;
  for (let h = 0; h < 24; h += 0.01) {
    const lux = daylightAt(summer, h);
    assert.ok(lux >= 0);
    peak = Math.max(peak, lux);
  }
  close(peak, 450, 1e-3);
  assert.equal(daylightAt({ peakLux: 0, sunrise: 7, sunset: 19 }, 13), 0);
});

Deno.test("daylightAt() reads a sunset before sunrise as a day through midnight", () => {
  const polar = { peakLux: 100, sunrise: 20, sunset: 4 };
  close(daylightAt(polar, 0), 100);
  assert.equal(daylightAt(polar, 12), 0);
});
