/**
 * The daily rhythm of the room around the tank: air temperature swings gently between night and afternoon, and
 * daylight from the windows rises and sets. Pure functions of the hour of day, cheap enough to call every step.
 *
 * @module
 */

/** Room air temperature over a day: a sine around `mean`, coldest at `coldestHour` and warmest 12 hours later. */
export interface RoomProfile {
  /** Daily mean, °C. */
  readonly mean: number;
  /** Half the day–night swing, K (`1.5` → 3 K between the coldest and the warmest hour). */
  readonly amplitude: number;
  /** Hour of the coldest moment, 0–24 (`5` = 05:00). */
  readonly coldestHour: number;
}

/** Daylight reaching the tank from the windows: a half-sine from sunrise to sunset, dark at night. */
export interface DaylightProfile {
  /** Light at the tank at midday, lux (an indoor tank near a window gets a few hundred). */
  readonly peakLux: number;
  /** Hour of sunrise, 0–24. */
  readonly sunrise: number;
  /** Hour of sunset, 0–24. */
  readonly sunset: number;
}

/** A living room in winter: 21 °C on average, 19.5 °C at 05:00, 22.5 °C at 17:00. */
export const DEFAULT_ROOM: RoomProfile = Object.freeze({
  mean: 21,
  amplitude: 1.5,
  coldestHour: 5,
});

/** A tank a few metres from a window: 300 lx at 13:00, light from 07:00 to 19:00. */
export const DEFAULT_DAYLIGHT: DaylightProfile = Object.freeze({
  peakLux: 300,
  sunrise: 7,
  sunset: 19,
});

const HOURS_PER_DAY = 24;

/** `hour` folded into [0, 24). */
function _wrapHour(hour: number): number {
  const wrapped = hour % HOURS_PER_DAY;
  return wrapped < 0 ? wrapped + HOURS_PER_DAY : wrapped;
}

/** Room temperature, °C, at `hourOfDay` (any real number; 25 is 01:00 the next day). */
export function roomTemperatureAt(
  profile: RoomProfile,
  hourOfDay: number,
): number {
  const phase = (2 * Math.PI * (hourOfDay - profile.coldestHour)) /
    HOURS_PER_DAY;
  return profile.mean - profile.amplitude * Math.cos(phase);
}

/**
 * Daylight at the tank, lux, at `hourOfDay`: `peakLux · sin(π · (h − sunrise) / (sunset − sunrise))` between sunrise
 * and sunset, 0 otherwise. A sunset before sunrise is read as a day that runs through midnight.
 */
export function daylightAt(
  profile: DaylightProfile,
  hourOfDay: number,
): number {
  const length = _wrapHour(profile.sunset - profile.sunrise);
  if (length === 0 || profile.peakLux <= 0) return 0;
  const sinceSunrise = _wrapHour(hourOfDay - profile.sunrise);
  if (sinceSunrise >= length) return 0;
  return profile.peakLux * Math.sin((Math.PI * sinceSunrise) / length);
}
