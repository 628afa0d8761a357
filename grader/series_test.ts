import assert from "node:assert/strict";
import {
  downsample,
  downsampleIndices,
  markers,
  readTruth,
  runSeries,
} from "./series.ts";
import type { MessageRecord, TruthSample } from "../store/mod.ts";

const points = (values: number[]) => values.map((v, t) => ({ t, v }));

Deno.test("downsample() keeps a one-sample spike among 10,000 points reduced to 100", () => {
  const values = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 500));
  values[4321] = 50;
  values[8765] = -50;
  const out = downsample(points(values), 100);
  assert.ok(out.length <= 100 && out.length >= 90, `${out.length} points`);
  assert.ok(out.some((p) => p.v === 50 && p.t === 4321));
  assert.ok(out.some((p) => p.v === -50 && p.t === 8765));
  assert.deepEqual(
    out.map((p) => p.t),
    [...out.map((p) => p.t)].sort((a, b) => a - b),
  );
  assert.equal(out[0]!.t, 0);
  assert.equal(out.at(-1)!.t, 9999);
});

Deno.test("downsample() returns the input when n ≥ its length, and nothing for nothing", () => {
  const input = points([1, 2, 3]);
  assert.equal(downsample(input, 3), input);
  assert.equal(downsample(input, 1000), input);
  assert.deepEqual(downsample([], 10), []);
  assert.deepEqual(downsampleIndices([], 10), []);
});

Deno.test("downsampleIndices() never picks a missing value (NaN) over a number", () => {
  const values = [1, NaN, NaN, 5, NaN, 2, 3, 4, 0, 9, 1, 1];
  const kept = downsampleIndices(values, 6).map((i) => values[i]!);
  assert.ok(
    kept.includes(5) && kept.includes(9) && kept.includes(0),
    String(kept),
  );
});

function sample(t: number, patch: Partial<TruthSample> = {}): TruthSample {
  return {
    t,
    values: {
      temperature: 25 + (t === 20 ? 3 : 0),
      room_temperature: 20,
      ph: 7,
      oxygen: 8,
      light: 0,
      level: 30,
    },
    inputs: {
      heater: t >= 10 ? 0.5 : 0,
      light: false,
      pump: true,
      topup: false,
    },
    heaterEnergy: 0,
    switches: { heater: 0, light: 0, pump: 0, topup: 0 },
    alarm: t === 20,
    events: t >= 20 ? ["heater_failure"] : [],
    ranges: { temperature: { min: 24, max: 26 } },
    ...patch,
  };
}

function record(s: TruthSample, seq: number): MessageRecord {
  return {
    runId: "r",
    seq,
    t: s.t,
    wall: 0,
    kind: "truth",
    client: "$harness",
    topic: "",
    payload: new TextEncoder().encode(JSON.stringify(s)),
    qos: 0,
    retain: false,
  };
}

Deno.test("runSeries() gives true values with their range, actuator changes and markers in words", async () => {
  const samples = [0, 10, 20, 30].map((t) => sample(t));
  const truth = await readTruth(samples.map(record));
  assert.deepEqual(truth.bounded, ["temperature"]);
  const series = runSeries(truth);
  const [temperature] = series.measurements;
  assert.deepEqual(temperature!.value, [25, 25, 28, 25]);
  assert.deepEqual(temperature!.min, [24, 24, 24, 24]);
  assert.deepEqual(series.actuators.heater, [0, 50, 50]);
  assert.deepEqual(series.actuators.t, [0, 10, 30]);
  assert.deepEqual(series.actuators.pump, [1, 1, 1]);
  assert.deepEqual(markers(samples), [
    { t: 20, kind: "alarm", label: "alarm", state: "start" },
    { t: 20, kind: "event", label: "heater_failure", state: "start" },
    { t: 30, kind: "alarm", label: "alarm", state: "end" },
  ]);
  const window = runSeries(truth, { from: 10, to: 20, names: ["ph"] });
  assert.deepEqual(window.measurements[0]!.t, [10, 20]);
  assert.deepEqual(window.measurements[0]!.min, [null, null]);
});
