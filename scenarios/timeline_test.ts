import assert from "node:assert/strict";
import { DEFAULT_ROOM, roomTemperatureAt } from "./day_profile.ts";
import { parseScenario } from "./parse_scenario.ts";
import {
  activeEvents,
  environmentAt,
  hourOfDay,
  rangeAt,
  rangesAt,
  Timeline,
  timelineOf,
} from "./timeline.ts";

const HOUR = 3600;

/** A 24 h scenario starting at 06:00 (so t = 0 is 06:00 and t = 18 h is midnight), plus `extra` YAML. */
function scenario(extra = "", start = "2026-01-15T06:00:00") {
  return parseScenario(
    `id: timeline-test
version: 1
title: Timeline test
good_controller: Anything.
seed: 5
start: ${start}
duration: 24h
${extra}`,
    { file: "timeline-test.yaml" },
  );
}

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance}, got ${actual}`,
  );

/** Room profile alone at `t` seconds after a 06:00 start. */
const profile = (t: number) =>
  roomTemperatureAt(DEFAULT_ROOM, (6 + t / HOUR) % 24);

Deno.test("hourOfDay() follows the start's wall-clock time and wraps at midnight", () => {
  const s = scenario();
  close(hourOfDay(s, 0), 6);
  close(hourOfDay(s, 7 * HOUR), 13);
  close(hourOfDay(s, 18 * HOUR), 0);
  close(hourOfDay(s, 20.5 * HOUR), 2.5);
  close(hourOfDay(scenario("", "2026-01-15T23:30:00"), HOUR), 0.5);
});

Deno.test("environmentAt() gives the room profile and daylight by hour of day when nothing happens", () => {
  const s = scenario();
  for (const t of [0, 3 * HOUR, 7 * HOUR, 11 * HOUR, 23 * HOUR]) {
    const env = environmentAt(s, t, 1);
    close(env.roomTemperature, profile(t));
    assert.equal(env.heater, "ok");
    assert.equal(env.pump, "ok");
    assert.equal(env.powerCut, false);
    assert.equal(env.lidOpen, false);
    assert.equal(env.feeding, 0);
    assert.deepEqual(env.sensorFaults, {});
  }
  close(environmentAt(s, 7 * HOUR, 1).daylight, 300); // 13:00, midday
  assert.equal(environmentAt(s, 0, 1).daylight, 0); // 06:00, before sunrise
  assert.equal(environmentAt(s, 16 * HOUR, 1).daylight, 0); // 22:00
  close(
    environmentAt(s, 12 * HOUR, 1).daylight,
    300 * Math.sin(Math.PI * 11 / 12),
  ); // 18:00
});

Deno.test("a room_step with `to` makes the room exactly that, then shifts the profile until `until`", () => {
  const s = scenario(
    "events:\n  - { at: 6h, type: room_step, to: 16, for: 4h }\n",
  );
  close(
    environmentAt(s, 6 * HOUR - 1, 1).roomTemperature,
    profile(6 * HOUR - 1),
  );
  close(environmentAt(s, 6 * HOUR, 1).roomTemperature, 16);
  const delta = 16 - profile(6 * HOUR);
  close(
    environmentAt(s, 8 * HOUR, 1).roomTemperature,
    profile(8 * HOUR) + delta,
    1e-9,
  );
  close(
    environmentAt(s, 10 * HOUR - 1, 1).roomTemperature,
    profile(10 * HOUR - 1) + delta,
  );
  close(environmentAt(s, 10 * HOUR, 1).roomTemperature, profile(10 * HOUR));
});

Deno.test("a room_step with `by` shifts the room by that much, to the end of the run", () => {
  const s = scenario("events:\n  - { at: 2h, type: room_step, by: -3 }\n");
  close(environmentAt(s, 2 * HOUR, 1).roomTemperature, profile(2 * HOUR) - 3);
  close(
    environmentAt(s, 24 * HOUR - 1, 1).roomTemperature,
    profile(24 * HOUR - 1) - 3,
  );
});

Deno.test("a room_ramp moves linearly over `over` and reaches `to` when it ends", () => {
  const s = scenario(
    "events:\n  - { at: 12h, type: room_ramp, to: 15, over: 2h }\n",
  );
  const delta = 15 - profile(14 * HOUR);
  close(environmentAt(s, 12 * HOUR, 1).roomTemperature, profile(12 * HOUR));
  close(
    environmentAt(s, 13 * HOUR, 1).roomTemperature,
    profile(13 * HOUR) + delta / 2,
  );
  close(environmentAt(s, 14 * HOUR, 1).roomTemperature, 15);
  close(
    environmentAt(s, 20 * HOUR, 1).roomTemperature,
    profile(20 * HOUR) + delta,
  );

  const by = scenario(
    "events:\n  - { at: 1h, type: room_ramp, by: -4, over: 4h, for: 6h }\n",
  );
  close(environmentAt(by, 2 * HOUR, 1).roomTemperature, profile(2 * HOUR) - 1);
  close(environmentAt(by, 3 * HOUR, 1).roomTemperature, profile(3 * HOUR) - 2);
  close(environmentAt(by, 6 * HOUR, 1).roomTemperature, profile(6 * HOUR) - 4);
  close(environmentAt(by, 7 * HOUR, 1).roomTemperature, profile(7 * HOUR));
});

Deno.test("room events add up: a ramp down and a later ramp back cancel out", () => {
  const s = scenario(
    "events:\n  - { at: 2h, type: room_ramp, by: -3, over: 2h }\n  - { at: 10h, type: room_ramp, by: 3, over: 2h }\n",
  );
  close(environmentAt(s, 6 * HOUR, 1).roomTemperature, profile(6 * HOUR) - 3);
  close(
    environmentAt(s, 11 * HOUR, 1).roomTemperature,
    profile(11 * HOUR) - 1.5,
  );
  close(environmentAt(s, 13 * HOUR, 1).roomTemperature, profile(13 * HOUR));
  // A later `to` counts the earlier events: the room reads 14 °C when the second step happens.
  const to = scenario(
    "events:\n  - { at: 1h, type: room_step, by: -2 }\n  - { at: 3h, type: room_step, to: 14 }\n",
  );
  close(environmentAt(to, 3 * HOUR, 1).roomTemperature, 14);
});

Deno.test("faults are active only inside their window", () => {
  const s = scenario(`events:
  - { at: 2h, type: heater_failure, for: 1h }
  - { at: 4h, type: heater_stuck_on, for: 1h }
  - { at: 6h, type: pump_failure, for: 30m }
  - { at: 8h, type: power_cut, for: 2h }
  - { at: 11h, type: lid_open, for: 1h }
  - { at: 13h, type: sensor_stuck, sensor: temperature, for: 1h }
  - { at: 13h30m, type: sensor_noise, sensor: ph, factor: 4, for: 1h }
  - { at: 15h, type: sensor_dropout, sensor: oxygen }
`);
  const at = (t: number) => environmentAt(s, t, 1);
  assert.equal(at(2 * HOUR - 1).heater, "ok");
  assert.equal(at(2 * HOUR).heater, "failed");
  assert.equal(at(3 * HOUR - 1).heater, "failed");
  assert.equal(at(3 * HOUR).heater, "ok");
  assert.equal(at(4 * HOUR).heater, "stuck_on");
  assert.equal(at(5 * HOUR).heater, "ok");
  assert.equal(at(6 * HOUR - 1).pump, "ok");
  assert.equal(at(6 * HOUR).pump, "failed");
  assert.equal(at(6.5 * HOUR).pump, "ok");
  assert.equal(at(8 * HOUR - 1).powerCut, false);
  assert.equal(at(8 * HOUR).powerCut, true);
  assert.equal(at(10 * HOUR - 1).powerCut, true);
  assert.equal(at(10 * HOUR).powerCut, false);
  assert.equal(at(11 * HOUR).lidOpen, true);
  assert.equal(at(12 * HOUR).lidOpen, false);
  assert.deepEqual(at(13 * HOUR - 1).sensorFaults, {});
  assert.deepEqual(at(13 * HOUR).sensorFaults, {
    temperature: { kind: "stuck" },
  });
  assert.deepEqual(at(13.5 * HOUR).sensorFaults, {
    temperature: { kind: "stuck" },
    ph: { kind: "noise", factor: 4 },
  });
  assert.deepEqual(at(14 * HOUR).sensorFaults, {
    ph: { kind: "noise", factor: 4 },
  });
  assert.deepEqual(at(15 * HOUR).sensorFaults, { oxygen: { kind: "dropout" } });
  assert.deepEqual(at(24 * HOUR - 1).sensorFaults, {
    oxygen: { kind: "dropout" },
  }, "no `for`: to the end");
  // Nothing else leaks into a window it does not belong to.
  const quiet = at(1 * HOUR);
  assert.deepEqual(
    [
      quiet.heater,
      quiet.pump,
      quiet.powerCut,
      quiet.lidOpen,
      quiet.sensorFaults,
    ],
    ["ok", "ok", false, false, {}],
  );
});

Deno.test("overlapping heater faults: the one that started last wins", () => {
  const s = scenario(
    "events:\n  - { at: 1h, type: heater_failure }\n  - { at: 2h, type: heater_stuck_on, for: 1h }\n",
  );
  assert.equal(environmentAt(s, 1.5 * HOUR, 1).heater, "failed");
  assert.equal(environmentAt(s, 2.5 * HOUR, 1).heater, "stuck_on");
  assert.equal(environmentAt(s, 3.5 * HOUR, 1).heater, "failed");
});

Deno.test("a feeding appears in exactly one step, whatever the step", () => {
  const s = scenario(
    "events:\n  - { at: 2h, type: feeding, grams: 0.5 }\n  - { at: 2h0m5s, type: feeding, grams: 5 }\n",
  );
  for (const dt of [1, 10, 0.1, 0.25, 7]) {
    const hits: { t: number; grams: number }[] = [];
    const steps = Math.round(3 * HOUR / dt);
    for (let k = 0; k < steps; k++) {
      const t = k * dt; // as a harness would compute it, float error and all
      const { feeding } = environmentAt(s, t, dt);
      if (feeding > 0) hits.push({ t, grams: feeding });
    }
    const total = hits.reduce((sum, hit) => sum + hit.grams, 0);
    close(total, 5.5, 1e-12);
    assert.ok(
      hits.every((hit) =>
        hit.t <= 2 * HOUR + 5 + 1e-6 && hit.t + dt > 2 * HOUR - 1e-6
      ),
      `dt ${dt}`,
    );
    if (dt >= 10) {
      assert.deepEqual(
        hits,
        [{ t: 7200, grams: 5.5 }],
        `dt ${dt}: both in one step`,
      );
    } else assert.equal(hits.length, 2, `dt ${dt}: one step each`);
  }
});

Deno.test("rangeAt() follows the time of day, including a window across midnight", () => {
  const s = scenario(); // default light: min 400 from 08:00 to 20:00, max 100 from 20:00 to 08:00
  assert.deepEqual(rangeAt(s, "light", 2 * HOUR - 1), { max: 100 }); // 07:59:59
  assert.deepEqual(rangeAt(s, "light", 2 * HOUR), { min: 400 }); // 08:00
  assert.deepEqual(rangeAt(s, "light", 14 * HOUR - 1), { min: 400 }); // 19:59:59
  assert.deepEqual(rangeAt(s, "light", 14 * HOUR), { max: 100 }); // 20:00
  assert.deepEqual(rangeAt(s, "light", 18 * HOUR), { max: 100 }); // midnight
  assert.deepEqual(rangeAt(s, "light", 20 * HOUR), { max: 100 }); // 02:00
  assert.deepEqual(rangeAt(s, "temperature", 5 * HOUR), { min: 24, max: 26 });
  assert.equal(rangeAt(s, "room_temperature", 5 * HOUR), undefined);

  const night = scenario(`ranges:
  oxygen:
    - { from: "22:00", to: "06:00", min: 5 }
    - { from: "06:00", to: "22:00", min: 6.5 }
  ph:
    - { from: "23:00", to: "01:00", max: 8 }
    - { from: "01:00", to: "23:00" }
`);
  assert.deepEqual(rangeAt(night, "oxygen", 15 * HOUR), { min: 6.5 }); // 21:00
  assert.deepEqual(rangeAt(night, "oxygen", 16 * HOUR), { min: 5 }); // 22:00
  assert.deepEqual(rangeAt(night, "oxygen", 20 * HOUR), { min: 5 }); // 02:00
  assert.deepEqual(rangeAt(night, "oxygen", 24 * HOUR - 1), { min: 5 }); // 05:59:59
  assert.deepEqual(rangeAt(night, "oxygen", 24 * HOUR), { min: 6.5 }); // 06:00 the next day
  assert.deepEqual(rangeAt(night, "ph", 17.5 * HOUR), { max: 8 }); // 23:30
  assert.deepEqual(rangeAt(night, "ph", 18.5 * HOUR), { max: 8 }); // 00:30
  assert.deepEqual(
    rangeAt(night, "ph", 19 * HOUR),
    {},
    "a rule without bounds: no limits then",
  );
});

Deno.test("rangesAt() gives the range of every sensor that has one", () => {
  const s = scenario("ranges:\n  room_temperature: { min: 15 }\n  level: ~\n");
  assert.deepEqual(rangesAt(s, 0), {
    temperature: { min: 24, max: 26 },
    room_temperature: { min: 15 },
    ph: { min: 7.2, max: 8.2 },
    oxygen: { min: 6 },
    light: { max: 100 },
  });
  assert.deepEqual(rangesAt(s, 6 * HOUR).light, { min: 400 });
});

Deno.test("activeEvents() lists the events in force, never feedings", () => {
  const s = scenario(`events:
  - { at: 1h, type: feeding, grams: 0.5 }
  - { at: 1h, type: lid_open, for: 2h }
  - { at: 2h, type: sensor_stuck, sensor: level, for: 2h }
`);
  assert.deepEqual(activeEvents(s, 0), []);
  assert.deepEqual(activeEvents(s, HOUR).map((e) => e.type), ["lid_open"]);
  assert.deepEqual(activeEvents(s, 2.5 * HOUR).map((e) => e.type), [
    "lid_open",
    "sensor_stuck",
  ]);
  assert.deepEqual(activeEvents(s, 3 * HOUR).map((e) => e.type), [
    "sensor_stuck",
  ]);
  assert.deepEqual(activeEvents(s, 4 * HOUR), []);
});

Deno.test("timelineOf() builds one Timeline per scenario object; a modified copy gets its own", () => {
  const s = scenario("events:\n  - { at: 1h, type: lid_open }\n");
  assert.equal(timelineOf(s), timelineOf(s));
  assert.ok(timelineOf(s) instanceof Timeline);
  const copy = { ...s, events: [] };
  assert.notEqual(timelineOf(copy), timelineOf(s));
  assert.equal(environmentAt(copy, 2 * HOUR, 1).lidOpen, false);
  assert.equal(environmentAt(s, 2 * HOUR, 1).lidOpen, true);
});

Deno.test("environmentAt() is pure: the same time gives the same environment", () => {
  const s = scenario(
    "events:\n  - { at: 1h, type: sensor_noise, sensor: ph }\n  - { at: 2h, type: room_step, by: 1 }\n",
  );
  for (const t of [0, 3599, 3600, 7200, 50_000]) {
    assert.deepEqual(
      environmentAt(s, t, 1),
      new Timeline(s).environmentAt(t, 1),
    );
  }
});

Deno.test("environmentAt() is fast enough to call every physics step", () => {
  const s = scenario(`events:
  - { at: 1h, type: room_ramp, by: -3, over: 2h }
  - { at: 2h, type: feeding, grams: 0.5 }
  - { at: 3h, type: heater_failure, for: 1h }
  - { at: 4h, type: sensor_noise, sensor: ph, for: 1h }
  - { at: 5h, type: power_cut, for: 1h }
`);
  const started = performance.now();
  let sum = 0;
  for (let t = 0; t < 86_400; t++) {
    sum += environmentAt(s, t, 1).roomTemperature;
  }
  const elapsed = performance.now() - started;
  assert.ok(Number.isFinite(sum));
  assert.ok(elapsed < 1000, `a simulated day took ${elapsed.toFixed(0)} ms`);
});
