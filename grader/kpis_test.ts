import assert from "node:assert/strict";
import { computeKpis } from "./kpis.ts";
import { SyntheticRun, testScenario } from "./_testing.ts";

const HOUR = 3600;
const twoHoursFrom6 = (t: number) => t >= 6 * HOUR && t < 8 * HOUR;

Deno.test("computeKpis() of a perfect run: every range kept, no area, energy and switches counted", () => {
  const kpis = new SyntheticRun({ scenario: testScenario() }).kpis();
  assert.equal(kpis.samples, 8640);
  assert.equal(kpis.covered, 86_400);
  assert.deepEqual(
    kpis.measurements.map((m) => m.name),
    ["temperature", "ph", "oxygen", "light", "level"],
    "one entry per measurement with a range (the room has none)",
  );
  for (const m of kpis.measurements) {
    assert.equal(m.timeInRange, 1, m.name);
    assert.equal(m.timeInRangePercent, 100, m.name);
    assert.equal(m.areaOutside, 0, m.name);
    assert.equal(m.worst, null, m.name);
  }
  // 0.12 × 100 W for 24 h.
  assert.equal(kpis.energy.heaterWh, 288);
  assert.equal(kpis.energy.countedWh, 288);
  const light = kpis.switching.actuators.find((a) => a.name === "light")!;
  assert.equal(light.switches, 2, "on at 08:00, off at 20:00");
  assert.equal(light.perHour, 0.08);
  assert.deepEqual(kpis.alarms.faults, []);
  assert.deepEqual(kpis.alarms.falseAlarms, []);
  assert.equal(kpis.hygiene.rejected, 0);
  assert.equal(kpis.hygiene.strayMessages, 0);
  assert.equal(kpis.hygiene.connected, true);
});

Deno.test("2 h at 1 K below the range is 2 K·h, 91.7 % in range, worst 1 K at 06:00", () => {
  const kpis = new SyntheticRun({
    scenario: testScenario(),
    values: (t) => twoHoursFrom6(t) ? { temperature: 23 } : {},
  }).kpis();
  const temperature = kpis.measurements[0]!;
  assert.equal(temperature.name, "temperature");
  assert.equal(temperature.areaUnit, "K·h");
  assert.equal(temperature.hoursBelow, 2);
  assert.equal(temperature.hoursAbove, 0);
  assert.equal(temperature.areaBelow, 2);
  assert.equal(temperature.areaOutside, 2);
  assert.equal(temperature.timeInRange, 0.9167); // 22 h of 24
  assert.equal(temperature.timeInRangePercent, 91.7);
  assert.deepEqual(temperature.worst, {
    side: "below",
    by: 1,
    value: 23,
    bound: 24,
    t: 6 * HOUR,
    clock: "06:00",
  });
});

Deno.test("a ramp out of the range integrates by the hand-computed rectangle sum", () => {
  // 26 °C rising by 1 K per hour from 10:00 to 12:00: samples every 10 s stand for 10 s each, so the area is
  // Σ_{k=0}^{719} (10k / 3600) K × 10 s = 10² · 719 · 720 / 2 / 3600² = 1.99722… K·h.
  const kpis = new SyntheticRun({
    scenario: testScenario(),
    values: (t) =>
      t >= 10 * HOUR && t < 12 * HOUR
        ? { temperature: 26 + (t - 10 * HOUR) / HOUR }
        : {},
  }).kpis();
  const temperature = kpis.measurements[0]!;
  assert.equal(temperature.areaAbove, 1.997);
  assert.equal(
    temperature.hoursAbove,
    1.997,
    "the sample at exactly 26 °C is in range",
  );
  assert.equal(temperature.worst?.side, "above");
  assert.equal(temperature.worst?.clock, "11:59");
});

Deno.test("computeKpis() weighs each sample by the measured spacing, not the scenario's publish period", () => {
  // Samples every 60 s although the scenario publishes every 10 s: still 2 h and 2 K·h.
  const kpis = new SyntheticRun({
    scenario: testScenario(),
    every: 60,
    values: (t) => twoHoursFrom6(t) ? { temperature: 23 } : {},
  }).kpis();
  assert.equal(kpis.samples, 1440);
  assert.equal(kpis.covered, 86_400);
  assert.equal(kpis.measurements[0]!.areaBelow, 2);
  assert.equal(kpis.measurements[0]!.hoursBelow, 2);
});

Deno.test("a run cut short covers only the time up to its last sample plus one spacing", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const records = run.records().filter((r) => r.t < 6 * HOUR);
  const kpis = computeKpis({
    scenario: run.scenario,
    meta: run.meta({ outcome: "crashed", simulated: 6 * HOUR }),
    records,
  });
  assert.equal(kpis.covered, 6 * HOUR);
  assert.equal(kpis.duration, 24 * HOUR);
});

Deno.test("areas are in each measurement's unit·h", () => {
  const kpis = new SyntheticRun({ scenario: testScenario() }).kpis();
  assert.deepEqual(
    Object.fromEntries(kpis.measurements.map((m) => [m.name, m.areaUnit])),
    {
      temperature: "K·h",
      ph: "pH·h",
      oxygen: "(mg/L)·h",
      light: "lx·h",
      level: "cm·h",
    },
  );
});

Deno.test("heater energy counts the heat the controller asked for, not a stuck heater's", () => {
  const scenario = testScenario(
    "events:\n  - { at: 2h, type: heater_stuck_on, for: 1h }\n",
  );
  const kpis = new SyntheticRun({
    scenario,
    // The stuck heater gives full power; the tank's cumulative energy follows what is applied.
    heater: (t) => t >= 2 * HOUR && t < 3 * HOUR ? 1 : 0.1,
  }).kpis();
  assert.equal(kpis.energy.heaterWh, 100 + 0.1 * 100 * 23);
  assert.equal(kpis.energy.stuckOnWh, 100);
  assert.equal(kpis.energy.countedWh, 230);
});

Deno.test("switching: the heater counts changes between off and on, not changes of power", () => {
  const modulating = new SyntheticRun({
    scenario: testScenario(),
    heater: (t) => 0.1 + 0.05 * Math.sin(t / 600),
  }).kpis();
  const heater = modulating.switching.actuators[0]!;
  assert.equal(heater.name, "heater");
  assert.ok(heater.switches > 8000, "every change of power is a change");
  assert.equal(heater.counted, 1, "it went on once and stayed on");

  const chattering = new SyntheticRun({
    scenario: testScenario(),
    heater: (t) => (t / 10) % 2 === 0 ? 1 : 0,
  }).kpis();
  const chatter = chattering.switching.actuators[0]!;
  assert.equal(chatter.switches, 8640);
  assert.equal(chatter.counted, 8640);
  assert.equal(chatter.countedPerHour, 360);
});

Deno.test("an alarm 5 minutes after a fault is detected within the deadline; none means never", () => {
  const scenario = testScenario(
    "events:\n  - { at: 6h, type: heater_failure }\n",
  );
  const detected = new SyntheticRun({ scenario })
    .alarm(6 * HOUR + 300, "heater broken")
    .kpis();
  assert.deepEqual(detected.alarms.faults, [{
    type: "heater_failure",
    sensor: null,
    at: 6 * HOUR,
    until: null,
    clock: "06:00",
    expected: true,
    alarmAt: 6 * HOUR + 300,
    detectedAfter: 300,
    withinDeadline: true,
  }]);
  assert.equal(detected.alarms.raises, 1);
  assert.deepEqual(detected.alarms.falseAlarms, []);

  const never = new SyntheticRun({ scenario }).kpis();
  assert.equal(never.alarms.faults[0]!.detectedAfter, null);
  assert.equal(never.alarms.faults[0]!.withinDeadline, false);

  const late = new SyntheticRun({ scenario }).alarm(8 * HOUR, "cold").kpis();
  assert.equal(late.alarms.faults[0]!.detectedAfter, 2 * HOUR);
  assert.equal(late.alarms.faults[0]!.withinDeadline, false);
});

Deno.test("an alarm raised before a fault does not detect it; one raised again with a new message does", () => {
  const scenario = testScenario(
    "events:\n  - { at: 6h, type: sensor_stuck, sensor: temperature, for: 1h }\n",
  );
  const kpis = new SyntheticRun({ scenario })
    .alarm(5 * HOUR, "something")
    .alarm(5 * HOUR + 600, "something") // the same message again: not a raise
    .alarm(6 * HOUR + 120, "temperature reading stuck")
    .kpis();
  assert.equal(kpis.alarms.faults[0]!.detectedAfter, 120);
  assert.equal(kpis.alarms.raises, 1, "one clear → raised change");
  assert.equal(kpis.alarms.publishes, 3);
  assert.equal(kpis.alarms.falseAlarms.length, 1);
});

Deno.test("false alarms: raised with nothing wrong; not within the grace after a fault, nor while out of range", () => {
  const scenario = testScenario(
    "events:\n  - { at: 6h, type: pump_failure, for: 1h }\n",
  );
  const kpis = new SyntheticRun({
    scenario,
    values: (t) => t >= 15 * HOUR && t < 16 * HOUR ? { oxygen: 5 } : {},
  })
    .alarm(6 * HOUR + 60, "pump").clear(7 * HOUR)
    .alarm(7 * HOUR + 600, "pump still?").clear(7 * HOUR + 700) // within 15 min of the end
    .alarm(12 * HOUR, "ok").clear(12 * HOUR + 10) // nothing wrong: false
    .alarm(15 * HOUR + 1800, "oxygen low").clear(16 * HOUR) // oxygen truly low
    .kpis();
  assert.deepEqual(kpis.alarms.falseAlarms, [{
    t: 12 * HOUR,
    clock: "12:00",
    message: "ok",
  }]);
  assert.equal(kpis.alarms.raises, 4);
});

Deno.test("a feeding is not a fault unless the scenario expects an alarm for it", () => {
  const plain = testScenario(
    "events:\n  - { at: 1h, type: feeding, grams: 5 }\n",
  );
  assert.deepEqual(
    new SyntheticRun({ scenario: plain }).kpis().alarms.faults,
    [],
  );
  const expecting = testScenario(
    "events:\n  - { at: 1h, type: feeding, grams: 5 }\ngrading:\n  expect_alarm: [feeding]\n  detection_deadline: 3h\n",
  );
  const kpis = new SyntheticRun({ scenario: expecting })
    .alarm(3 * HOUR, "oxygen low although the pump runs")
    .kpis();
  assert.equal(kpis.alarms.faults[0]!.type, "feeding");
  assert.equal(kpis.alarms.faults[0]!.until, 3600);
  assert.equal(kpis.alarms.faults[0]!.withinDeadline, true);
  assert.deepEqual(kpis.alarms.falseAlarms, [], "within the deadline after it");
});

Deno.test("hygiene: rejected messages and publishes on topics the controller has no business with", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  run
    .reject(
      100,
      run.topic("control/heater"),
      "maybe",
      'heater: expected on/off, got "maybe"',
    )
    .reject(
      200,
      run.topic("control/heater"),
      "maybe",
      'heater: expected on/off, got "maybe"',
    )
    .publish(300, run.topic("heater"), "on")
    .publish(310, run.topic("heater"), "on")
    .publish(320, run.topic("sensors/temperature"), "25")
    .publish(330, "fishtank/tank2/control/heater", "on")
    .publish(340, run.topic("ack"), "340")
    .publish(350, run.topic("control/all"), '{"pump": true}');
  const { hygiene } = run.kpis();
  assert.equal(hygiene.rejected, 2);
  assert.deepEqual(hygiene.rejectedTopics, [{
    topic: "fishtank/tank1/control/heater",
    count: 2,
    note: 'heater: expected on/off, got "maybe"',
  }]);
  assert.equal(hygiene.strayMessages, 4);
  assert.deepEqual(hygiene.strayTopics, [
    { topic: "fishtank/tank1/heater", count: 2 },
    { topic: "fishtank/tank1/sensors/temperature", count: 1 },
    { topic: "fishtank/tank2/control/heater", count: 1 },
  ]);
});

Deno.test("hygiene takes late commands, timed-out steps and answer times from the run's stats", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const { hygiene } = run.kpis({
    ackMode: "puback",
    stats: {
      ...run.meta().stats,
      lateCommands: 4,
      timedOutSteps: 7,
      medianResponseMs: 42,
      p95ResponseMs: 80,
    },
  });
  assert.equal(hygiene.ackMode, "puback");
  assert.equal(hygiene.lateCommands, 4);
  assert.equal(hygiene.timedOutSteps, 7);
  assert.equal(hygiene.steps, 8640);
  assert.equal(hygiene.medianResponseMs, 42);
});

Deno.test("computeKpis() is pure: the same records give deep-equal figures", () => {
  const run = new SyntheticRun({
    scenario: testScenario("events:\n  - { at: 6h, type: heater_failure }\n"),
    values: (t) => twoHoursFrom6(t) ? { temperature: 23.5 } : {},
  }).alarm(7 * HOUR, "heater");
  const input = {
    scenario: run.scenario,
    meta: run.meta(),
    records: run.records(),
  };
  assert.deepEqual(computeKpis(input), computeKpis(input));
});
