/**
 * Time in range, area outside the range and the worst excursion of one measurement, from the truth samples.
 *
 * @module
 */

import { SENSOR_UNITS, type SensorName } from "../sim/mod.ts";
import { rangeAt, type Scenario, type SensorRange } from "../scenarios/mod.ts";
import { clockAt, round } from "./_format.ts";
import type { SpannedSample } from "./_truth.ts";
import type { Excursion, ExcursionContext, MeasurementKpis } from "./kpis.ts";

/** Sums over the samples outside a range on one side, turned into an {@linkcode ExcursionContext}. */
class _ContextSum {
  seconds = 0;
  heater = 0;
  heat = 0;
  light = 0;
  pump = 0;
  topup = 0;
  roomMax: number | null = null;
  roomMin: number | null = null;
  events = new Map<string, number>();

  add(spanned: SpannedSample, next: SpannedSample | undefined): void {
    const { sample, dt } = spanned;
    const inputs = sample.inputs;
    this.seconds += dt;
    this.heater += (inputs?.heater ?? 0) * dt;
    if (next !== undefined) {
      this.heat += Math.max(0, next.sample.heaterEnergy - sample.heaterEnergy);
    }
    if (inputs?.light) this.light += dt;
    if (inputs?.pump) this.pump += dt;
    if (inputs?.topup) this.topup += dt;
    const room = sample.values.room_temperature;
    if (typeof room === "number" && Number.isFinite(room)) {
      this.roomMax = Math.max(this.roomMax ?? room, room);
      this.roomMin = Math.min(this.roomMin ?? room, room);
    }
    for (const type of new Set(sample.events ?? [])) {
      this.events.set(type, (this.events.get(type) ?? 0) + dt);
    }
  }

  result(): ExcursionContext | null {
    if (this.seconds <= 0) return null;
    const share = (x: number) => round(x / this.seconds, 3);
    return {
      heater: share(this.heater),
      heaterWh: round(this.heat / 3600, 1),
      light: share(this.light),
      pump: share(this.pump),
      topup: share(this.topup),
      roomMax: this.roomMax === null ? null : round(this.roomMax, 2),
      roomMin: this.roomMin === null ? null : round(this.roomMin, 2),
      eventHours: Object.fromEntries(
        [...this.events].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
          .map(([type, seconds]) => [type, round(seconds / 3600, 3)]),
      ),
    };
  }
}

/** The unit of a difference of `sensor`'s values: K for temperatures, otherwise the measurement's own unit. */
export function deltaUnit(sensor: SensorName): string {
  const unit = SENSOR_UNITS[sensor];
  return unit === "°C" ? "K" : unit;
}

/** The unit of an area outside a range: `K·h`, `pH·h`, `(mg/L)·h`, `lx·h`, `cm·h`. */
export function areaUnit(sensor: SensorName): string {
  const unit = deltaUnit(sensor);
  return unit.includes("/") ? `(${unit})·h` : `${unit}·h`;
}

function _rangeKey(range: SensorRange): string {
  return `${range.min ?? ""}|${range.max ?? ""}`;
}

/**
 * The KPIs of `sensor` over the samples, against the scenario's own ranges (not the ranges in the samples: a
 * controller that publishes on `ranges/…` must not move its own goalposts).
 */
export function measurementKpis(
  scenario: Scenario,
  sensor: SensorName,
  samples: readonly SpannedSample[],
  options: { withDay: boolean },
): MeasurementKpis {
  let covered = 0;
  let below = 0;
  let above = 0;
  let areaBelow = 0;
  let areaAbove = 0;
  let worst: Excursion | null = null;
  const rangeTime = new Map<string, { range: SensorRange; seconds: number }>();
  const during = { below: new _ContextSum(), above: new _ContextSum() };
  for (const [index, spanned] of samples.entries()) {
    const { sample, dt } = spanned;
    covered += dt;
    const range = rangeAt(scenario, sensor, sample.t) ?? {};
    const key = _rangeKey(range);
    const seen = rangeTime.get(key) ?? { range, seconds: 0 };
    seen.seconds += dt;
    rangeTime.set(key, seen);
    const value = sample.values[sensor];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const under = range.min !== undefined && value < range.min
      ? range.min - value
      : 0;
    const over = range.max !== undefined && value > range.max
      ? value - range.max
      : 0;
    if (under > 0) during.below.add(spanned, samples[index + 1]);
    if (over > 0) during.above.add(spanned, samples[index + 1]);
    if (under > 0) {
      below += dt;
      areaBelow += under * dt;
    }
    if (over > 0) {
      above += dt;
      areaAbove += over * dt;
    }
    const by = Math.max(under, over);
    if (by > 0 && (worst === null || by > worst.by)) {
      worst = {
        side: under > 0 ? "below" : "above",
        by: round(by, 3),
        value: round(value, 3),
        bound: (under > 0 ? range.min : range.max)!,
        t: sample.t,
        clock: clockAt(scenario.start, sample.t, options.withDay),
      };
    }
  }
  const outside = below + above;
  const fraction = covered > 0 ? 1 - outside / covered : 0;
  const usual =
    [...rangeTime.values()].sort((a, b) => b.seconds - a.seconds)[0];
  return {
    name: sensor,
    unit: SENSOR_UNITS[sensor],
    areaUnit: areaUnit(sensor),
    range: usual === undefined ? null : { ...usual.range },
    timeInRange: round(fraction, 4),
    timeInRangePercent: round(fraction * 100, 1),
    hoursOutside: round(outside / 3600, 3),
    hoursBelow: round(below / 3600, 3),
    hoursAbove: round(above / 3600, 3),
    areaOutside: round((areaBelow + areaAbove) / 3600, 3),
    areaBelow: round(areaBelow / 3600, 3),
    areaAbove: round(areaAbove / 3600, 3),
    worst,
    during: { below: during.below.result(), above: during.above.result() },
  };
}
