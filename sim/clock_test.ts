import assert from "node:assert/strict";
import { VirtualClock } from "./clock.ts";

Deno.test("VirtualClock starts at its start time and moves only when advanced", () => {
  const clock = VirtualClock.fromIso("2026-01-15T06:00:00Z");
  assert.equal(clock.iso(), "2026-01-15T06:00:00.000Z");
  assert.equal(clock.hourOfDay(), 6);
  assert.equal(clock.seconds, 0);
  clock.advance(5400);
  assert.equal(clock.iso(), "2026-01-15T07:30:00.000Z");
  assert.equal(clock.hourOfDay(), 7.5);
  assert.equal(clock.seconds, 5400);
  assert.equal(clock.now(), Date.UTC(2026, 0, 15, 7, 30));
});

Deno.test("VirtualClock.hourOfDay() wraps at midnight UTC whatever the offset of the start", () => {
  const clock = VirtualClock.fromIso("2026-01-15T23:00:00+01:00"); // 22:00Z
  assert.equal(clock.hourOfDay(), 22);
  clock.advance(3 * 3600);
  assert.equal(clock.hourOfDay(), 1);
  assert.equal(new VirtualClock(-3_600_000).hourOfDay(), 23);
});

Deno.test("VirtualClock does not drift over ten million 0.1 s steps", () => {
  const clock = new VirtualClock(0);
  for (let i = 0; i < 10_000_000; i++) clock.advance(0.1);
  assert.equal(clock.elapsedMs, 1_000_000_000);
  assert.equal(clock.seconds, 1_000_000);
});

Deno.test("VirtualClock rejects negative, fractional-millisecond and non-finite advances", () => {
  const clock = new VirtualClock(0);
  for (const seconds of [-1, 0.0005, NaN, Infinity]) {
    assert.throws(() => clock.advance(seconds), RangeError);
  }
  assert.throws(() => clock.advanceMs(1.5), RangeError);
  assert.equal(clock.elapsedMs, 0);
});

Deno.test("VirtualClock.fromIso() requires an explicit offset and a real date", () => {
  for (
    const iso of [
      "2026-01-15T06:00:00",
      "2026-01-15",
      "soon",
      "2026-13-45T06:00:00Z",
    ]
  ) {
    assert.throws(() => VirtualClock.fromIso(iso), RangeError, iso);
  }
  assert.throws(() => new VirtualClock(0.5), RangeError);
});
