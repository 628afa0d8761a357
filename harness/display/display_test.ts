import assert from "node:assert/strict";
import {
  applyConnection,
  applyMessage,
  describeChanges,
  describeConnectionError,
  type DisplayState,
  initialDisplayState,
  judgeReading,
  readingAge,
  renderDisplay,
  renderPlainLine,
} from "./display.ts";
import { ALL, BASE } from "./testing.ts";

const T0 = 1_700_000_000_000;

/** Feeds `[topic, payload]` pairs at wall time `at`, starting from a fresh state. */
function feed(messages: [string, unknown][], at = T0): DisplayState {
  let state = initialDisplayState({
    broker: "mqtt://127.0.0.1:1883",
    root: "fishtank",
    tank: "tank1",
  }, at);
  state = applyConnection(state, { kind: "connected" }, at);
  for (const [topic, payload] of messages) {
    const text = typeof payload === "string"
      ? payload
      : JSON.stringify(payload);
    state = applyMessage(
      state,
      `${BASE}/${topic}`,
      new TextEncoder().encode(text),
      at,
    );
  }
  return state;
}

/** The rendered row of one reading, found by its label. */
function row(screen: string, label: string): string {
  const line = screen.split("\n").find((l) => l.startsWith(`│ ${label} `));
  assert.ok(line, `no row for ${label} in:\n${screen}`);
  return line;
}

// deno-lint-ignore no-control-regex -- matching terminal escapes is the point
const ANSI = /\x1b\[[0-9;]*m/g;

Deno.test("judgeReading() says in range, LOW or HIGH, with one-sided and missing ranges", () => {
  assert.equal(judgeReading(25, { min: 24, max: 26 }), "in range");
  assert.equal(judgeReading(23.9, { min: 24, max: 26 }), "LOW");
  assert.equal(judgeReading(26.1, { min: 24, max: 26 }), "HIGH");
  assert.equal(judgeReading(5, { min: 6 }), "LOW");
  assert.equal(judgeReading(50, { min: 6 }), "in range");
  assert.equal(judgeReading(50, undefined), "no range");
});

Deno.test("renderDisplay() puts each reading against its range in words, with or without colour", () => {
  const state = feed([
    ["ranges/temperature", { min: 24, max: 26 }],
    ["ranges/ph", { min: 6.5, max: 7.5 }],
    ["ranges/oxygen", { min: 8.5, max: null }],
    ["sensors/all", ALL],
  ]);
  const plain = renderDisplay(state, { color: false, now: T0 + 800 });
  assert.doesNotMatch(plain, ANSI);
  assert.match(row(plain, "temperature"), /24\.88 °C .*24–26 °C .*in range/);
  assert.match(row(plain, "pH"), /7\.85 .*6\.5–7\.5 .*HIGH/);
  assert.match(row(plain, "oxygen"), /8\.10 mg\/L .*≥ 8\.5 mg\/L .*LOW/);
  assert.match(row(plain, "light"), /120 lx .*no range/);
  assert.match(plain, /Simulated time: 2026-01-15 06:00:10/);
  assert.match(plain, /connected to mqtt:\/\/127\.0\.0\.1:1883/);

  const colored = renderDisplay(state, { color: true, now: T0 + 800 });
  assert.match(colored, ANSI);
  // Colour never replaces the word: without the escapes the screen reads the same.
  assert.equal(colored.replace(ANSI, ""), plain);
});

Deno.test("renderPlainLine() gives one line with values, verdicts, actuators and alarm", () => {
  const state = feed([
    ["ranges/temperature", { min: 24, max: 26 }],
    ["actuators", {
      heater: 100,
      light: true,
      pump: false,
      topup: false,
      source: "tank1",
    }],
    ["sensors/all", { ...ALL, temperature: 23.5 }],
  ]);
  const line = renderPlainLine(state, { now: T0 });
  assert.ok(!line.includes("\n"));
  assert.match(
    line,
    /^2026-01-15 06:00:10 t=10s \| temperature 23\.50 °C LOW \(24–26 °C\)/,
  );
  assert.match(line, /heater on 100 %, light on, pump off, topup off/);
  assert.match(line, /alarm: none/);
});

Deno.test("an alarm is shown with its message, and cleared by 'off'", () => {
  const raised = feed([["sensors/all", ALL], ["alarm", {
    message: "Temperature too low",
  }]]);
  const screen = renderDisplay(raised, { color: false, now: T0 + 3_000 });
  assert.match(screen, /ALARM: Temperature too low \(raised 3\.0 s ago\)/);
  assert.match(
    renderPlainLine(raised, { now: T0 }),
    /ALARM: Temperature too low/,
  );

  const cleared = applyMessage(raised, `${BASE}/alarm`, "off", T0 + 4_000);
  assert.match(
    renderDisplay(cleared, { color: false, now: T0 + 4_000 }),
    /Alarm: none/,
  );
  assert.deepEqual(describeChanges(raised, cleared), ["alarm cleared"]);
});

Deno.test("a stale reading shows its age in wall seconds and simulated time, and the word STALE", () => {
  const status = {
    state: "online",
    scenario: "steady-day",
    title: "Steady day",
    speed: 60,
    t: 10,
  };
  let state = feed([["status", status], ["sensors/all", ALL]]);
  assert.deepEqual(readingAge(state, T0 + 1_000), {
    wall: 1,
    sim: 0,
    stale: false,
  });

  // The clock goes on for 30 wall seconds (30 simulated minutes at 60×) but no reading comes.
  const clock = { time: "2026-01-15T06:30:10.000Z", t: 1810, speed: 60 };
  state = applyMessage(
    state,
    `${BASE}/clock`,
    JSON.stringify(clock),
    T0 + 30_000,
  );
  const old = renderDisplay(state, { color: false, now: T0 + 30_000 });
  assert.match(
    old,
    /Last reading: 30 s ago \(30 min 00 s simulated\) STALE \(readings stopped while the simulated clock went on\)/,
  );
  assert.match(old, /Simulated time: 2026-01-15 06:30:10 \(t = 30 min 10 s\)/);
  assert.match(old, /Scenario: steady-day "Steady day" · online · speed ×60/);
  assert.match(
    renderPlainLine(state, { now: T0 + 30_000 }),
    /STALE: last reading 30 s ago/,
  );

  // Nothing moves at all: the display says the run is not advancing rather than inventing time.
  const paused = feed([["status", status], ["sensors/all", ALL]]);
  assert.match(
    renderDisplay(paused, { color: false, now: T0 + 20_000 }),
    /Last reading: 20 s ago \(0\.0 s simulated\) STALE \(the simulated clock has not moved either/,
  );
  const finished = applyMessage(
    paused,
    `${BASE}/status`,
    JSON.stringify({ ...status, state: "finished" }),
    T0,
  );
  assert.match(
    renderDisplay(finished, { color: false, now: T0 + 20_000 }),
    /STALE \(the run has finished\)/,
  );
});

Deno.test("a dropped-out sensor shows DROPPED OUT and its old retained topic does not hide that", () => {
  let state = feed([["ranges/oxygen", { min: 6 }], ["sensors/all", {
    ...ALL,
    oxygen: null,
  }]]);
  // The retained single topic still holds the last value the sensor gave before it dropped out.
  state = applyMessage(state, `${BASE}/sensors/oxygen`, "8.1", T0 + 10);
  const screen = renderDisplay(state, { color: false, now: T0 + 100 });
  assert.match(row(screen, "oxygen"), /—.*≥ 6 mg\/L.*DROPPED OUT/);
  assert.match(renderPlainLine(state, { now: T0 }), /oxygen — DROPPED OUT/);

  // Without batches (a publisher of single topics only), the single topics are used.
  const single = feed([["sensors/temperature", "23.2"]]);
  assert.equal(single.readings.temperature?.value, 23.2);
});

Deno.test("actuators, commands, tank errors and bad payloads are shown", () => {
  const state = feed([
    ["actuators", {
      heater: 50,
      light: false,
      pump: true,
      topup: false,
      source: "tank1",
    }],
    ["control/heater", "off"],
    ["control/pump", "banana"],
    ["control/all", { light: true }],
    ["errors", {
      time: ALL.time,
      topic: `${BASE}/control/pump`,
      error: "pump: expected on/off",
    }],
    ["sensors/ph", "not a number"],
  ]);
  const screen = renderDisplay(state, { color: false, now: T0 + 2_000 });
  assert.match(screen, /│ heater +│ on 50 % +│ off 2\.0 s ago/);
  assert.match(screen, /│ pump +│ on +│ "banana" \(refused\)/);
  assert.match(screen, /│ light +│ off +│ on 2\.0 s ago/);
  assert.match(
    screen,
    /Last tank error \(2\.0 s ago\): fishtank\/tank1\/control\/pump: pump: expected on\/off/,
  );
  assert.match(
    screen,
    /Ignored a message on fishtank\/tank1\/sensors\/ph: expected a number, got "not a number"/,
  );
});

Deno.test("messages for other tanks are ignored", () => {
  const before = feed([]);
  const after = applyMessage(
    before,
    "fishtank/tank2/sensors/all",
    JSON.stringify(ALL),
    T0,
  );
  assert.equal(after, before);
});

Deno.test("connection state: reconnecting shows the broker and the reason", () => {
  let state = feed([]);
  state = applyConnection(state, { kind: "closed" }, T0);
  const error = describeConnectionError(
    "mqtt://127.0.0.1:1883",
    Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
  );
  assert.equal(
    error,
    "Cannot connect to mqtt://127.0.0.1:1883: connection refused. Is the simulator running? Start it with: deno task sim",
  );
  state = applyConnection(state, { kind: "error", message: error }, T0);
  state = applyConnection(state, { kind: "reconnecting" }, T0 + 2_000);
  const screen = renderDisplay(state, { color: false, now: T0 + 2_000 });
  assert.match(
    screen,
    /reconnecting to mqtt:\/\/127\.0\.0\.1:1883 \(attempt 2\)/,
  );
  assert.match(
    screen,
    /Cannot connect to mqtt:\/\/127\.0\.0\.1:1883: connection refused/,
  );
  state = applyConnection(state, { kind: "connected" }, T0 + 4_000);
  assert.doesNotMatch(
    renderDisplay(state, { color: false, now: T0 + 4_000 }),
    /Cannot connect/,
  );
});

Deno.test("a rig in the kit's style: its field names are read, a plain online/offline status and its control source are shown", () => {
  const state = feed([
    ["sensors/all", {
      temperature: 24.1,
      lux: 300,
      humidity: 7.5,
      ambient_temperature: 20,
    }],
    ["status", "online"],
    ["control_source", "tank2"],
  ]);
  assert.equal(state.readings.light?.value, 300);
  assert.equal(state.readings.room_temperature?.value, 20);
  assert.equal(state.readings.oxygen?.value, 7.5);
  assert.equal(state.status?.state, "online");
  assert.equal(state.controlSource, "tank2");
  const text = renderDisplay(state, { now: T0, color: false });
  assert.match(text, /Outside tank \(rig\) · online/);
  assert.match(text, /obeys the control topics of tank "tank2"/);
  const back = feed([["control_source", "self"], ["status", {
    state: "offline",
  }]]);
  assert.equal(back.controlSource, "tank1");
  assert.equal(back.status?.state, "offline");
  assert.equal(back.handover, undefined, "the first value seen is no handover");
  // A change seen while connected is a handover, named with the tank's time.
  const handed = feed([
    ["clock", { t: 640, time: "2026-01-15T06:10:40" }],
    ["control_source", "tank2"],
    ["control_source", "self"],
  ]);
  assert.equal(handed.handover?.from, "tank2");
  assert.equal(handed.handover?.t, 640);
  assert.match(
    renderDisplay(handed, { now: T0, color: false }),
    /Handed over from tank "tank2" at .*06:10/,
  );
  // The contract's own name wins over the kit's.
  assert.equal(
    feed([["sensors/all", { light: 10, lux: 300 }]]).readings.light?.value,
    10,
  );
});
