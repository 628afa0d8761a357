import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FISH_TANK_DEFAULTS, resolveFishTankParams } from "../sim/mod.ts";
import { DEFAULT_DAYLIGHT, DEFAULT_ROOM } from "./day_profile.ts";
import { DEFAULT_RANGES } from "./default_ranges.ts";
import { parseScenario } from "./parse_scenario.ts";
import { DEFAULT_GRADING } from "./schema.ts";
import { ScenarioError } from "./scenario_error.ts";

const FILE = "mistakes.yaml";

/** The smallest valid scenario; tests append to it. */
const BASE = `id: test-tank
version: 1
title: Test tank
good_controller: Anything sensible.
seed: 1
start: 2026-01-15T06:00:00
duration: 24h
`;

function parse(text: string) {
  return parseScenario(text, { file: FILE });
}

/**
 * Parses `text`, expecting a ScenarioError whose message names the file and contains each of `parts` (the field
 * path and the expectation); returns the error.
 */
function rejects(text: string, ...parts: string[]): ScenarioError {
  try {
    parse(text);
  } catch (error) {
    assert.ok(
      error instanceof ScenarioError,
      `expected a ScenarioError, got ${error}`,
    );
    assert.equal(error.name, "ScenarioError");
    assert.equal(error.file, FILE);
    assert.ok(
      error.message.startsWith(`Cannot load scenario "${FILE}": `),
      error.message,
    );
    for (const part of parts) {
      assert.ok(
        error.message.includes(part),
        `expected the message to contain ${
          JSON.stringify(part)
        }:\n${error.message}`,
      );
    }
    return error;
  }
  assert.fail("expected a ScenarioError");
}

Deno.test("parseScenario() fills every default of a minimal file", () => {
  const scenario = parse(BASE);
  assert.equal(scenario.id, "test-tank");
  assert.equal(scenario.version, 1);
  assert.equal(scenario.title, "Test tank");
  assert.equal(scenario.description, "");
  assert.equal(scenario.goodController, "Anything sensible.");
  assert.equal(scenario.system, "fishtank");
  assert.equal(scenario.seed, 1);
  assert.equal(scenario.start, Date.UTC(2026, 0, 15, 6, 0, 0));
  assert.equal(scenario.duration, 86_400);
  assert.equal(scenario.step, 1);
  assert.equal(scenario.publishPeriod, 10);
  assert.equal(scenario.controlPeriod, 10);
  assert.deepEqual(scenario.initial, {});
  assert.deepEqual(scenario.params, resolveFishTankParams());
  assert.deepEqual(scenario.room, DEFAULT_ROOM);
  assert.deepEqual(scenario.daylight, DEFAULT_DAYLIGHT);
  assert.deepEqual(scenario.ranges, DEFAULT_RANGES);
  assert.deepEqual(scenario.events, []);
  assert.deepEqual(scenario.rigs, []);
  assert.equal(scenario.file, FILE);
  assert.match(scenario.hash, /^[0-9a-f]{64}$/);
});

Deno.test("parseScenario() converts snake_case, durations and times, and merges overrides over defaults", () => {
  const scenario = parse(`${BASE}
description: A cold night.
step: 500ms
publish_period: 5s
control_period: 30s
initial: { temperature: 24.5, level: 31 }
params:
  heater_power: 60
  ua: 4
  sensors:
    temperature: { noise: 0.2, time_constant: 10 }
room: { mean: 18, coldest_at: "04:30" }
daylight: { peak_lux: 150, sunset: "17:15" }
ranges:
  temperature: { min: 23 }
  room_temperature: { min: 10, max: 30 }
  light: ~
`);
  assert.equal(scenario.description, "A cold night.");
  assert.equal(scenario.step, 0.5);
  assert.equal(scenario.publishPeriod, 5);
  assert.equal(scenario.controlPeriod, 30);
  assert.deepEqual(scenario.initial, { temperature: 24.5, level: 31 });
  assert.equal(scenario.params.heaterPower, 60);
  assert.equal(scenario.params.ua, 4);
  assert.equal(scenario.params.waterVolume, FISH_TANK_DEFAULTS.waterVolume);
  assert.deepEqual(scenario.params.sensors.temperature, {
    ...FISH_TANK_DEFAULTS.sensors.temperature,
    noise: 0.2,
    timeConstant: 10,
  });
  assert.deepEqual(scenario.params.sensors.ph, FISH_TANK_DEFAULTS.sensors.ph);
  assert.deepEqual(scenario.room, {
    mean: 18,
    amplitude: DEFAULT_ROOM.amplitude,
    coldestHour: 4.5,
  });
  assert.deepEqual(scenario.daylight, {
    peakLux: 150,
    sunrise: 7,
    sunset: 17.25,
  });
  assert.deepEqual(scenario.ranges.temperature, [{
    from: 0,
    to: 24,
    range: { min: 23 },
  }]);
  assert.deepEqual(scenario.ranges.room_temperature, [{
    from: 0,
    to: 24,
    range: { min: 10, max: 30 },
  }]);
  assert.deepEqual(scenario.ranges.light, [], "null removes the default range");
  assert.deepEqual(scenario.ranges.ph, DEFAULT_RANGES.ph);
});

Deno.test("parseScenario() normalises time-of-day range rules, across midnight too", () => {
  const scenario = parse(`${BASE}
ranges:
  light:
    - { from: "08:00", to: "20:00", min: 400 }
    - { from: "20:00", to: "08:00", max: 50 }
  oxygen:
    - { from: "06:00", to: "22:00", min: 6 }
    - { from: "22:00", to: "06:00" }
`);
  assert.deepEqual(scenario.ranges.light, [
    { from: 8, to: 20, range: { min: 400 } },
    { from: 20, to: 8, range: { max: 50 } },
  ]);
  assert.deepEqual(scenario.ranges.oxygen, [
    { from: 6, to: 22, range: { min: 6 } },
    { from: 22, to: 6, range: {} },
  ]);
});

Deno.test("parseScenario() sorts events by time and resolves their windows in seconds", () => {
  const scenario = parse(`${BASE}
events:
  - { at: 6h, type: heater_failure, for: 2h }
  - { at: 1h, type: feeding, grams: 0.5 }
  - { at: 1h, type: room_step, to: 16 }
  - { at: 3h, type: room_ramp, by: -2, over: 30m, for: 1h }
  - { at: 4h, type: sensor_noise, sensor: ph }
  - { at: 5h, type: sensor_stuck, sensor: oxygen, for: 90m }
  - { at: 5h, type: power_cut, for: 1h30m }
`);
  assert.deepEqual(scenario.events, [
    { type: "feeding", at: 3600, until: 3600, grams: 0.5 },
    { type: "room_step", at: 3600, until: Infinity, to: 16 },
    { type: "room_ramp", at: 10_800, until: 14_400, over: 1800, by: -2 },
    {
      type: "sensor_noise",
      at: 14_400,
      until: Infinity,
      sensor: "ph",
      factor: 10,
    },
    { type: "sensor_stuck", at: 18_000, until: 23_400, sensor: "oxygen" },
    { type: "power_cut", at: 18_000, until: 23_400 },
    { type: "heater_failure", at: 21_600, until: 28_800 },
  ]);
});

Deno.test("parseScenario() reads the start as the tank's local time, with or without Z", () => {
  const expected = Date.UTC(2026, 0, 15, 6, 0, 0);
  assert.equal(
    parse(BASE.replace("2026-01-15T06:00:00", "2026-01-15T06:00:00Z")).start,
    expected,
  );
  assert.equal(
    parse(BASE.replace("2026-01-15T06:00:00", "2026-01-15 06:00")).start,
    expected,
  );
  assert.equal(
    parse(BASE.replace("2026-01-15T06:00:00", '"2026-01-15T06:00:00"')).start,
    expected,
  );
});

Deno.test("parseScenario() returns a deeply frozen scenario", () => {
  const scenario = parse(`${BASE}\nevents:\n  - { at: 1h, type: lid_open }\n`);
  assert.ok(Object.isFrozen(scenario));
  assert.ok(Object.isFrozen(scenario.params.sensors.temperature));
  assert.ok(Object.isFrozen(scenario.events[0]));
  assert.ok(Object.isFrozen(scenario.ranges.light[0]!.range));
});

Deno.test("parseScenario() hashes the file's bytes with SHA-256", () => {
  const bytes = new TextEncoder().encode(BASE);
  const expected = createHash("sha256").update(bytes).digest("hex");
  assert.equal(parse(BASE).hash, expected);
  assert.equal(parseScenario(bytes, { file: FILE }).hash, expected);
  assert.equal(parse(BASE).hash, parse(BASE).hash, "stable");
  assert.notEqual(
    parse(`${BASE}# a comment changes the file\n`).hash,
    expected,
  );
  assert.notEqual(parse(BASE.replace("seed: 1", "seed: 2")).hash, expected);
});

// Realistic teacher mistakes: each message names the file, the field path and what was expected.

Deno.test("a bad duration names the field and the expected format", () => {
  rejects(
    BASE.replace("duration: 24h", "duration: soon"),
    'duration: expected a duration like "90s"',
    'got "soon"',
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: lid_open }\n  - { at: 2h, type: lid_open, for: 1h }\n  - { at: soon, type: lid_open }\n`,
    `events[2].at: expected a duration like "90s", "30m", "6h" or "2d", got "soon"`,
  );
  rejects(
    BASE.replace("duration: 24h", "duration: 0s"),
    "duration: expected a duration longer than 0",
  );
  rejects(`${BASE}step: 1x\n`, "step: expected a duration", 'got "1x"');
  rejects(
    BASE.replace("duration: 24h", "duration:"),
    "duration: expected a duration like",
    "got nothing",
  );
});

Deno.test("an unknown key is an error with a did-you-mean hint", () => {
  const error = rejects(
    BASE.replace("duration: 24h", "duraton: 24h"),
    'duraton: unknown key "duraton"; did you mean "duration"?',
    "duration: missing; expected a duration",
  );
  assert.equal(error.issues.length, 2);
  rejects(
    `${BASE}room: { mean: 18, coldest: "05:00" }\n`,
    'room.coldest: unknown key "coldest"; did you mean "coldest_at"?',
  );
  rejects(
    `${BASE}colour: blue\n`,
    'colour: unknown key "colour"; expected one of: id, version, title',
  );
});

Deno.test("min ≥ max in a range is an error", () => {
  rejects(
    `${BASE}ranges:\n  temperature: { min: 26, max: 24 }\n`,
    "ranges.temperature: expected min < max, got min 26 ≥ max 24",
  );
  rejects(
    `${BASE}ranges:\n  ph: { min: 7, max: 7 }\n`,
    "ranges.ph: expected min < max",
  );
  rejects(`${BASE}ranges:\n  ph: {}\n`, "ranges.ph: expected min, max or both");
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "20:00", min: 500, max: 400 }\n    - { from: "20:00", to: "08:00", max: 50 }\n`,
    "ranges.light[0]: expected min < max",
  );
});

Deno.test("an unknown sensor name is an error, in ranges and in sensor events", () => {
  rejects(
    `${BASE}ranges:\n  temprature: { min: 24, max: 26 }\n`,
    'ranges.temprature: unknown key "temprature"; did you mean "temperature"?',
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: sensor_stuck, sensor: temp }\n`,
    'events[0].sensor: expected one of "temperature", "room_temperature", "ph", "oxygen", "light" or "level", got "temp"',
  );
});

Deno.test("an unknown event type lists the known ones and suggests the closest", () => {
  rejects(
    `${BASE}events:\n  - { at: 1h, type: heater_fail }\n`,
    "events[0].type: expected one of room_step, room_ramp, heater_failure",
    'got "heater_fail"; did you mean "heater_failure"?',
  );
  rejects(
    `${BASE}events:\n  - { at: 1h }\n`,
    "events[0].type: missing; expected one of room_step",
  );
});

Deno.test("a sensor event without `sensor` is an error", () => {
  rejects(
    `${BASE}events:\n  - { at: 1h, type: sensor_dropout, for: 10m }\n`,
    "events[0].sensor: missing; expected one of",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: sensor_noise }\n`,
    "events[0].sensor: missing",
  );
});

Deno.test("an event at or after the end of the run is an error", () => {
  rejects(
    `${BASE}events:\n  - { at: 1h, type: lid_open }\n  - { at: 25h, type: feeding, grams: 1 }\n`,
    'events[1].at: expected a time before the end of the run (duration 1d), got "25h"',
  );
  rejects(
    `${BASE}events:\n  - { at: 24h, type: lid_open }\n`,
    "events[0].at: expected a time before the end of the run",
  );
});

Deno.test("a YAML syntax error gives the line and column", () => {
  const error = rejects(
    `${BASE}events:\n  - { at: 1h, type: lid_open }}\n`,
    'YAML syntax error: Unexpected flow-map-end token in YAML stream: "}" (line 9, column 31)',
  );
  assert.equal(error.issues[0]!.line, 9);
  assert.equal(error.issues[0]!.column, 31);
  assert.ok(error.cause instanceof Error, "the YAML error is the cause");
  rejects(
    `${BASE}events:\n  - { at: 1h, type: lid_open\n`,
    "YAML syntax error: Flow map in block collection",
    "(line 10, column 1)",
  );
  rejects(`${BASE}seed: 2\n`, "Map keys must be unique", "(line 8, column 1)");
  rejects("id: x\n\ttitle: tab\n", "YAML syntax error", "line 2");
});

Deno.test("an unknown param lists the known ones", () => {
  const error = rejects(
    `${BASE}params:\n  heater_powr: 50\n`,
    'params.heater_powr: unknown key "heater_powr"; did you mean "heater_power"?',
    "Known keys: water_volume, surface_area",
  );
  assert.ok(error.message.includes("heater_power, ua,"), error.message);
  rejects(
    `${BASE}params:\n  heaterPower: 50\n`,
    'params.heaterPower: unknown key "heaterPower"; did you mean "heater_power"?',
  );
  rejects(
    `${BASE}params:\n  flux_capacitor: 1\n`,
    'params.flux_capacitor: unknown key "flux_capacitor"; expected one of: water_volume',
  );
  rejects(
    `${BASE}params:\n  heater_power: strong\n`,
    'params.heater_power: expected a number, got "strong"',
  );
  rejects(
    `${BASE}params:\n  heater_power: .inf\n`,
    "params.heater_power: expected a number, got Infinity",
  );
  rejects(
    `${BASE}params:\n  sensors:\n    temperature: { nois: 1 }\n`,
    'params.sensors.temperature.nois: unknown key "nois"; did you mean "noise"?',
  );
});

Deno.test("params and initial conditions the model rejects are reported at their field", () => {
  rejects(
    `${BASE}params:\n  room_humidity: 1.5\n`,
    "params.room_humidity: expected a number ≥ 0 and ≤ 1, got 1.5",
  );
  rejects(
    `${BASE}params:\n  sensors:\n    ph: { resolution: 0 }\n`,
    "params.sensors.ph.resolution: expected a number > 0",
  );
  rejects(
    `${BASE}initial:\n  oxygen: 30\n`,
    "initial.oxygen: expected a number ≥ 0 and ≤",
  );
  rejects(
    `${BASE}initial:\n  ph: 12\n`,
    "initial.ph: expected a number ≤ 9.5, got 12",
  );
});

Deno.test("every problem is reported at once, in file order, with line numbers", () => {
  const error = rejects(
    `id: Test Tank
version: 0
title: Test
good_controller: Anything.
seed: 1.5
start: 2026-01-15T06:00:00
duration: 24h
events:
  - { at: soon, type: lid_open }
`,
    "4 problems",
    'id: expected a kebab-case id like "cold-room"',
    "version: expected a whole number > 0, got 0 (line 2)",
    "seed: expected a whole number, got 1.5 (line 5)",
    'events[0].at: expected a duration like "90s", "30m", "6h" or "2d", got "soon" (line 9)',
  );
  assert.deepEqual(error.issues.map((issue) => issue.path), [
    "id",
    "version",
    "seed",
    "events[0].at",
  ]);
  assert.deepEqual(error.issues.map((issue) => issue.line), [1, 2, 5, 9]);
});

Deno.test("other teacher mistakes get precise messages", () => {
  rejects(
    BASE.replace("2026-01-15T06:00:00", "2026-01-15T06:00:00+01:00"),
    "start: expected a date and time",
    "(leave out the time zone)",
  );
  rejects(
    BASE.replace("2026-01-15T06:00:00", "2026-02-30T06:00:00"),
    "start: expected a date and time",
    "(no such date or time)",
  );
  rejects(
    BASE.replace("2026-01-15T06:00:00", "tomorrow"),
    'start: expected a date and time like "2026-01-15T06:00:00"',
  );
  rejects(
    `${BASE}system: greenhouse\n`,
    'system: expected "fishtank", got "greenhouse"',
  );
  rejects(
    `${BASE}grading: { pass: 60 }\n`,
    'grading.pass: unknown key "pass": did you mean "pass_mark"',
  );
  rejects(
    `${BASE}room: { coldest_at: "5am" }\n`,
    'room.coldest_at: expected a time of day like "08:00" or "19:30", got "5am"',
  );
  rejects(
    `${BASE}daylight: { sunrise: "20:00" }\n`,
    "daylight.sunrise: expected sunrise before sunset",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: power_cut }\n`,
    "events[0].for: missing; expected a duration",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: feeding, grams: 1, for: 1h }\n`,
    'events[0].for: unknown key "for": a feeding is an instant',
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: feeding }\n`,
    "events[0].grams: missing; expected a number",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: room_step, to: 16, by: -2 }\n`,
    "events[0]: expected `to` (°C) or `by` (K), not both",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: room_ramp, by: -2 }\n`,
    "events[0].over: missing; expected a duration",
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: room_ramp, by: -2, over: 2h, for: 1h }\n`,
    'events[0].for: expected "for" to be at least "over"',
  );
  rejects(
    `${BASE}events:\n  - heater_failure at 2h\n`,
    'events[0]: expected a mapping (key: value lines), got "heater_failure at 2h"',
  );
  rejects(
    `${BASE}publish_period: 1500ms\n`,
    "publish_period: expected a whole number of physics steps (step is 1s), got 1s500ms",
  );
  rejects(
    `${BASE}step: 10s\npublish_period: 5s\n`,
    "publish_period: expected a whole number of physics steps",
  );
  rejects(
    `${BASE}control_period: 15s\npublish_period: 10s\nstep: 10s\n`,
    "control_period: expected a whole number of physics steps",
  );
  rejects("", "expected a mapping of scenario fields", "got an empty file");
  rejects("- a\n- b\n", "got a list");
  rejects(
    `${BASE}title: ""\n`.replace("title: Test tank\n", ""),
    "title: must not be empty",
  );
});

Deno.test("parseScenario() resolves grading: defaults, weights 0 for measurements without a range, fault alarms", () => {
  const plain = parse(BASE);
  assert.deepEqual(plain.grading, {
    passMark: 60,
    weights: {
      temperature: 3,
      room_temperature: 0,
      ph: 1,
      oxygen: 2,
      light: 1,
      level: 1,
      energy: 1,
      switching: 1,
      alarms: 2,
      hygiene: 1,
    },
    energyBudgetWh: null,
    maxSwitchesPerHour: 6,
    detectionDeadline: 1800,
    alarmGrace: 900,
    expectAlarm: [],
  });
  assert.deepEqual(plain.grading, {
    ...DEFAULT_GRADING,
    expectAlarm: [],
    weights: plain.grading.weights,
  });

  const faults = parse(`${BASE}events:
  - { at: 2h, type: feeding, grams: 0.5 }
  - { at: 3h, type: sensor_stuck, sensor: ph, for: 1h }
  - { at: 1h, type: heater_failure, for: 1h }
  - { at: 5h, type: heater_failure }
  - { at: 6h, type: lid_open, for: 1h }
`);
  assert.deepEqual(
    faults.grading.expectAlarm,
    ["heater_failure", "sensor_stuck"],
    "the fault types present, each once, in the documented order; not feedings or an open lid",
  );
});

Deno.test("parseScenario() reads a full grading section", () => {
  const scenario = parse(`${BASE}events:
  - { at: 1h, type: feeding, grams: 5 }
  - { at: 2h, type: pump_failure, for: 1h }
ranges:
  room_temperature: { min: 18, max: 24 }
grading:
  pass_mark: 72.5
  weights: { temperature: 5, room_temperature: 0.5, energy: 0, alarms: 4 }
  energy_budget_wh: 450
  max_switches_per_hour: 12
  detection_deadline: 1h30m
  alarm_grace: 5m
  expect_alarm: [feeding, feeding, pump_failure]
`);
  assert.deepEqual(scenario.grading, {
    passMark: 72.5,
    weights: {
      temperature: 5,
      room_temperature: 0.5,
      ph: 1,
      oxygen: 2,
      light: 1,
      level: 1,
      energy: 0,
      switching: 1,
      alarms: 4,
      hygiene: 1,
    },
    energyBudgetWh: 450,
    maxSwitchesPerHour: 12,
    detectionDeadline: 5400,
    alarmGrace: 300,
    expectAlarm: ["feeding", "pump_failure"],
  });
  assert.ok(Object.isFrozen(scenario.grading.weights));
  assert.deepEqual(
    parse(
      `${BASE}events:\n  - { at: 2h, type: power_cut, for: 1h }\ngrading:\n  expect_alarm: []\n`,
    )
      .grading.expectAlarm,
    [],
    "an empty list: no alarm expected, even for faults",
  );
});

Deno.test("grading mistakes get precise messages", () => {
  rejects(
    `${BASE}grading:\n  pass_mark: 120\n`,
    "grading.pass_mark: expected a number ≤ 100, got 120 (line 9)",
  );
  rejects(
    `${BASE}grading:\n  weights: { ph: -1 }\n`,
    "grading.weights.ph: expected a number ≥ 0, got -1",
  );
  rejects(
    `${BASE}grading:\n  weights: { temprature: 2 }\n`,
    'grading.weights.temprature: unknown key "temprature"; did you mean "temperature"?',
  );
  rejects(
    `${BASE}grading:\n  weights: { room_temperature: 2 }\n`,
    "grading.weights.room_temperature: room_temperature has no range in this scenario",
    "give it a range under ranges, or weight 0",
  );
  rejects(
    `${BASE}ranges: { light: ~ }\ngrading:\n  weights: { light: 1 }\n`,
    "grading.weights.light: light has no range in this scenario",
  );
  rejects(
    `${BASE}grading:
  weights:
    { temperature: 0, ph: 0, oxygen: 0, light: 0, level: 0, energy: 0, switching: 0, alarms: 0, hygiene: 0 }
`,
    "grading.weights: expected at least one weight above 0",
  );
  rejects(
    `${BASE}grading:\n  detection_deadline: soon\n`,
    'grading.detection_deadline: expected a duration like "90s", "30m", "6h" or "2d", got "soon"',
  );
  rejects(
    `${BASE}grading:\n  energy_budget_wh: 0\n`,
    "grading.energy_budget_wh: expected a number > 0, got 0",
  );
  rejects(
    `${BASE}grading:\n  expect_alarm: [feeding]\n`,
    'grading.expect_alarm[0]: expected an event type of this scenario, got "feeding", but it has no events',
  );
  rejects(
    `${BASE}events:\n  - { at: 1h, type: lid_open }\ngrading:\n  expect_alarm: [heater_failure]\n`,
    'grading.expect_alarm[0]: expected one of this scenario\'s event types (lid_open), got "heater_failure"',
  );
  rejects(
    `${BASE}grading:\n  expect_alarm: [fire]\n`,
    'grading.expect_alarm[0]: expected one of "room_step"',
  );
  rejects(`${BASE}grading: 60\n`, "grading: expected a mapping");
});

Deno.test("range rules must cover the day exactly once", () => {
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "20:00", min: 400 }\n    - { from: "21:00", to: "08:00", max: 50 }\n`,
    "ranges.light: the rules leave 20:00–21:00 uncovered",
    "a rule with neither min nor max",
  );
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "20:00", min: 400 }\n`,
    "ranges.light: the rules leave 20:00–08:00 uncovered",
  );
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "20:00", min: 400 }\n    - { from: "19:00", to: "08:00", max: 50 }\n`,
    "ranges.light[1]: overlaps rule [0] (08:00–20:00)",
  );
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "8:00", min: 400 }\n`,
    'ranges.light[0]: expected "from" and "to" to differ',
  );
  rejects(
    `${BASE}ranges:\n  light: []\n`,
    "ranges.light: expected at least 1 item(s)",
  );
  rejects(
    `${BASE}ranges:\n  light: bright\n`,
    "ranges.light: expected {min, max}, a list of time-of-day rules",
    'got "bright"',
  );
  rejects(
    `${BASE}ranges:\n  light:\n    - { from: "08:00", to: "20:00", mn: 400 }\n    - { from: "20:00", to: "08:00" }\n`,
    'ranges.light[0].mn: unknown key "mn"; did you mean "min"?',
  );
});

Deno.test("the example in README.md is a valid scenario", async () => {
  const readme = await Deno.readTextFile(
    new URL("./README.md", import.meta.url),
  );
  const example = readme.split("```yaml\n")[1]?.split("```")[0];
  assert.ok(example, "README.md has a yaml example");
  const scenario = parseScenario(example, { file: "README.md" });
  assert.equal(scenario.id, "winter-weekend");
  assert.equal(scenario.events.length, 4);
});

Deno.test("parseScenario() reads the rigs a live session declares, and names the field of a bad rig id", () => {
  assert.deepEqual(parse(`${BASE}rigs: [rig1, demo_2]\n`).rigs, [
    "rig1",
    "demo_2",
  ]);
  rejects(`${BASE}rigs: [rig1, "a/b"]\n`, "rigs[1]", "expected a rig id");
});
