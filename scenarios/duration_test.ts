import assert from "node:assert/strict";
import {
  formatDuration,
  formatTimeOfDay,
  parseDuration,
  parseTimeOfDay,
} from "./duration.ts";

Deno.test("parseDuration() reads the units teachers write", () => {
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("30m"), 1800);
  assert.equal(parseDuration("6h"), 21_600);
  assert.equal(parseDuration("2d"), 172_800);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("1h 30m"), 5400);
  assert.equal(parseDuration("500ms"), 0.5);
  assert.equal(parseDuration("1.5h"), 5400);
  assert.equal(parseDuration("1d2h3m4s"), 93_784);
  assert.equal(parseDuration("2 hours"), 7200);
  assert.equal(parseDuration("45min"), 2700);
  assert.equal(parseDuration("0s"), 0);
});

Deno.test("parseDuration() takes plain numbers as seconds", () => {
  assert.equal(parseDuration(90), 90);
  assert.equal(parseDuration(0.25), 0.25);
  assert.equal(parseDuration("90"), 90);
  assert.equal(parseDuration("2.5"), 2.5);
});

Deno.test("parseDuration() rejects anything else with what it expected", () => {
  for (
    const bad of [
      "soon",
      "",
      "h",
      "5 x",
      "30m1h",
      "1h1h",
      "-5s",
      "1,5h",
      "2H",
      "1e3s",
      "5 weeks",
    ]
  ) {
    assert.throws(() => parseDuration(bad), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, `${bad}: ${error}`);
      assert.match(
        error.message,
        /expected a duration like "90s", "30m", "6h" or "2d", got /,
      );
      assert.ok(error.message.includes(JSON.stringify(bad)), error.message);
      return true;
    });
  }
  assert.throws(() => parseDuration("soon"), {
    name: "SyntaxError",
    message: 'expected a duration like "90s", "30m", "6h" or "2d", got "soon"',
  });
  assert.throws(() => parseDuration("30m1h"), /largest to the smallest/);
  assert.throws(() => parseDuration("5 weeks"), /unknown unit "weeks"/);
});

Deno.test("parseDuration() rejects negative and non-finite numbers with a RangeError", () => {
  assert.throws(() => parseDuration(-1), RangeError);
  assert.throws(() => parseDuration(Number.NaN), RangeError);
  assert.throws(() => parseDuration(Infinity), RangeError);
});

Deno.test("parseDuration() starts the message with where the value was found", () => {
  assert.throws(() => parseDuration("soon", "events[2].at"), {
    message:
      'events[2].at: expected a duration like "90s", "30m", "6h" or "2d", got "soon"',
  });
});

Deno.test("formatDuration() writes what parseDuration() reads", () => {
  assert.equal(formatDuration(5400), "1h30m");
  assert.equal(formatDuration(90), "1m30s");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(0.5), "500ms");
  assert.equal(formatDuration(86_400), "1d");
  assert.equal(formatDuration(93_784.25), "1d2h3m4s250ms");
  assert.equal(formatDuration(-60), "-1m");
  for (const seconds of [1, 59, 61, 3599, 3600, 7322.5, 200_000]) {
    assert.equal(parseDuration(formatDuration(seconds)), seconds);
  }
});

Deno.test("parseTimeOfDay() reads HH:MM into hours", () => {
  assert.equal(parseTimeOfDay("08:00"), 8);
  assert.equal(parseTimeOfDay("8:00"), 8);
  assert.equal(parseTimeOfDay("19:30"), 19.5);
  assert.equal(parseTimeOfDay("00:00"), 0);
  assert.equal(parseTimeOfDay("24:00"), 24);
  assert.equal(parseTimeOfDay("06:15:36"), 6.26);
  assert.equal(parseTimeOfDay(5), 5);
});

Deno.test("parseTimeOfDay() rejects what is not a time of day", () => {
  for (
    const bad of ["8am", "25:00", "12:60", "24:30", "noon", "", "12", "12:5"]
  ) {
    assert.throws(
      () => parseTimeOfDay(bad, "room.coldest_at"),
      (error: unknown) => {
        assert.ok(error instanceof SyntaxError);
        assert.equal(
          error.message,
          `room.coldest_at: expected a time of day like "08:00" or "19:30", got ${
            JSON.stringify(bad)
          }`,
        );
        return true;
      },
    );
  }
  assert.throws(() => parseTimeOfDay(25), SyntaxError);
  assert.throws(() => parseTimeOfDay(-1), SyntaxError);
});

Deno.test("formatTimeOfDay() writes HH:MM", () => {
  assert.equal(formatTimeOfDay(8), "08:00");
  assert.equal(formatTimeOfDay(19.5), "19:30");
  assert.equal(formatTimeOfDay(24), "24:00");
  assert.equal(formatTimeOfDay(6.26), "06:15:36");
});
