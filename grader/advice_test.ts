import assert from "node:assert/strict";
import type { RunMeta } from "../store/mod.ts";
import { renderScoreCard } from "./report_terminal.ts";
import { toMarkdown } from "./report_markdown.ts";
import { toJUnit } from "./report_junit.ts";
import { ENDED_EARLY } from "./_protocol_advice.ts";
import {
  loadScenario,
  parseScenario,
  type Scenario,
} from "../scenarios/mod.ts";
import { computeKpis } from "./kpis.ts";
import { scoreRun } from "./score.ts";
import {
  faultAwareController,
  type ReferenceController,
  referenceRun,
} from "./reference.ts";
import {
  type SyntheticOptions,
  SyntheticRun,
  testScenario,
} from "./_testing.ts";

const H = 3600;

/** Between 10:00 and 14:00 on the test day. */
const spell = (t: number) => t >= 10 * H && t < 14 * H;
/** From 12:00 to the end. */
const afternoon = (t: number) => t >= 12 * H;

/** The advice of a synthetic run on the test day with `extra` YAML, one line each. */
function advice(
  options: Omit<SyntheticOptions, "scenario"> & { extra?: string } = {},
  more: {
    meta?: Partial<RunMeta>;
    build?: (run: SyntheticRun) => void;
  } = {},
): string {
  const { extra, ...rest } = options;
  const run = new SyntheticRun({ scenario: testScenario(extra), ...rest });
  more.build?.(run);
  return run.grade(more.meta).advice.join("\n");
}

const HEATER_FAILURE = "events:\n  - { at: 10h, type: heater_failure }\n";
const POWER_CUT = "events:\n  - { at: 10h, type: power_cut, for: 4h }\n";
const HEATER_STUCK = "events:\n  - { at: 10h, type: heater_stuck_on }\n";
const PUMP_FAILURE = "events:\n  - { at: 10h, type: pump_failure }\n";
const OXYGEN_MAX = "ranges:\n  oxygen: { min: 6, max: 9 }\n";

interface Rule {
  /** The rule, in words. */
  rule: string;
  /** What its advice says. */
  says: RegExp;
  /** A run whose advice must say it. */
  appears: () => string;
  /** A run whose advice must not. */
  absent: () => string;
}

const cold = (t: number) => afternoon(t) ? { temperature: 22.5 } : {};
const warm = (t: number) => afternoon(t) ? { temperature: 27.5 } : {};
const hotRoom = (t: number) =>
  afternoon(t) ? { temperature: 27.5, room_temperature: 29 } : {};

const RULES: Rule[] = [
  {
    rule: "too cold without a fault: start heating earlier",
    says: /temperature was below 24 °C .*: start heating earlier/,
    appears: () => advice({ values: cold }),
    absent: () => advice({ values: cold, extra: HEATER_FAILURE }),
  },
  {
    rule: "too cold after the heater failed: say so, and point at the alarm",
    says:
      /temperature was below 24 °C for 12\.0 h .*: the heater failed at 10:00 \(to the end of the run\), so heating earlier would not have helped: detect it and raise the alarm on fishtank\/tank1\/alarm: compare the temperature trend with the heater command/,
    appears: () => advice({ values: cold, extra: HEATER_FAILURE }),
    absent: () => advice({ values: cold }),
  },
  {
    rule: "too cold after the heater failed, alarm in time: nothing more",
    says:
      /so heating earlier would not have helped: you raised the alarm 5 min after it, which is what a controller can do/,
    appears: () =>
      advice({ values: cold, extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(10 * H + 300, "heater gives no heat"),
      }),
    absent: () => advice({ values: cold, extra: HEATER_FAILURE }),
  },
  {
    rule: "too cold after the heater failed, alarm late: raise it sooner",
    says:
      /so heating earlier would not have helped: you raised the alarm 1 h after it: raise it sooner; compare the temperature trend/,
    appears: () =>
      advice({ values: cold, extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(11 * H, "heater gives no heat"),
      }),
    absent: () =>
      advice({ values: cold, extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(10 * H + 300, "heater gives no heat"),
      }),
  },
  {
    rule: "too cold in a power cut: say so",
    says:
      /temperature was below 24 °C .*: the power went off at 10:00 \(for 4 h\), so heating earlier would not have helped/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { temperature: 23 } : {},
        extra: POWER_CUT,
      }),
    absent: () =>
      advice({ values: (t) => spell(t) ? { temperature: 23 } : {} }),
  },
  {
    rule: "too warm while the heater heated: switch it off sooner",
    says: /temperature was above 26 °C .*: switch the heater off sooner/,
    appears: () =>
      advice({ values: warm, heater: (t) => afternoon(t) ? 1 : 0.12 }),
    absent: () =>
      advice({ values: warm, heater: (t) => afternoon(t) ? 0 : 0.12 }),
  },
  {
    rule: "too warm in a hot room with the heater off: a heater cannot cool",
    says:
      /temperature was above 26 °C .*: the heater gave no heat then \(0 Wh\), and the room was up to 29\.0 °C, warmer than the range's 26 °C: a heater cannot cool/,
    appears: () =>
      advice({ values: hotRoom, heater: (t) => afternoon(t) ? 0 : 0.12 }),
    absent: () =>
      advice({ values: hotRoom, heater: (t) => afternoon(t) ? 1 : 0.12 }),
  },
  {
    rule: "too warm in a cool room with the heater off: warm from before",
    says:
      /the heater gave no heat then \(0 Wh\): the water was warm from before/,
    appears: () =>
      advice({ values: warm, heater: (t) => afternoon(t) ? 0 : 0.12 }),
    absent: () =>
      advice({ values: hotRoom, heater: (t) => afternoon(t) ? 0 : 0.12 }),
  },
  {
    rule: "too warm with the heater stuck on: say so",
    says:
      /temperature was above 26 °C .*: the heater stuck on at 10:00 \(to the end of the run\), so switching the heater off sooner would not have helped: detect it/,
    appears: () =>
      advice({
        values: warm,
        heater: (t) => t >= 10 * H ? 0 : 0.12,
        extra: HEATER_STUCK,
      }),
    absent: () =>
      advice({ values: warm, heater: (t) => t >= 10 * H ? 0 : 0.12 }),
  },
  {
    rule: "low oxygen, pump mostly off: run it sooner and longer",
    says: /oxygen was below 6 mg\/L .*: run the air pump sooner and longer/,
    appears: () => advice({ values: (t) => spell(t) ? { oxygen: 5 } : {} }),
    absent: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 5 } : {},
        pump: () => true,
      }),
  },
  {
    rule:
      "low oxygen with the pump running: it cannot do more, raise the alarm",
    says:
      /oxygen was below 6 mg\/L .*: the air pump already ran 100 % of that time and cannot do more: raise the alarm/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 5 } : {},
        pump: () => true,
      }),
    absent: () => advice({ values: (t) => spell(t) ? { oxygen: 5 } : {} }),
  },
  {
    rule: "low oxygen after the pump failed: say so",
    says:
      /oxygen was below 6 mg\/L .*: the air pump failed at 10:00 \(to the end of the run\), so running the air pump more would not have helped/,
    appears: () =>
      advice({
        values: (t) => t >= 10 * H ? { oxygen: 5 } : {},
        pump: () => true,
        extra: PUMP_FAILURE,
      }),
    absent: () =>
      advice({
        values: (t) => t >= 10 * H ? { oxygen: 5 } : {},
        pump: () => true,
      }),
  },
  {
    rule: "high oxygen with the pump running: run it less",
    says: /oxygen was above 9 mg\/L .*: run the air pump less/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 10 } : {},
        pump: spell,
        extra: OXYGEN_MAX,
      }),
    absent: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 10 } : {},
        extra: OXYGEN_MAX,
      }),
  },
  {
    rule: "high oxygen with the pump off: it comes down by itself",
    says: /oxygen was above 9 mg\/L .*: the air pump was already off/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 10 } : {},
        extra: OXYGEN_MAX,
      }),
    absent: () =>
      advice({
        values: (t) => spell(t) ? { oxygen: 10 } : {},
        pump: spell,
        extra: OXYGEN_MAX,
      }),
  },
  {
    rule: "too dark with the lamp off: switch it on",
    says:
      /light was below 400 lx .*: switch the lamp on whenever the range asks/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { light: 100 } : {},
        light: (t) => t >= 8 * H && t < 20 * H && !spell(t),
      }),
    absent: () => advice({ values: (t) => spell(t) ? { light: 100 } : {} }),
  },
  {
    rule: "too dark with the lamp on: the alarm",
    says:
      /light was below 400 lx .*: the lamp was already on 100 % of that time: a lamp that gives no light calls for the alarm/,
    appears: () => advice({ values: (t) => spell(t) ? { light: 100 } : {} }),
    absent: () =>
      advice({
        values: (t) => spell(t) ? { light: 100 } : {},
        light: (t) => t >= 8 * H && t < 20 * H && !spell(t),
      }),
  },
  {
    rule: "too dark in a power cut: say so",
    says:
      /light was below 400 lx .*: the power went off at 10:00 \(for 4 h\), so switching the lamp on would not have helped/,
    appears: () =>
      advice({
        values: (t) => spell(t) ? { light: 100 } : {},
        extra: POWER_CUT,
      }),
    absent: () => advice({ values: (t) => spell(t) ? { light: 100 } : {} }),
  },
  {
    rule: "too bright at night with the lamp on: switch it off",
    says: /light was above 100 lx .*: switch the lamp off when the range asks/,
    appears: () =>
      advice({
        values: (t) => t >= 21 * H && t < 23 * H ? { light: 300 } : {},
        light: (t) => t >= 8 * H && t < 23 * H,
      }),
    absent: () =>
      advice({
        values: (t) => t >= 21 * H && t < 23 * H ? { light: 300 } : {},
      }),
  },
  {
    rule: "too bright with the lamp off: daylight, nothing the lamp can do",
    says: /light was above 100 lx .*: the lamp was already off: daylight alone/,
    appears: () =>
      advice({
        values: (t) => t >= 21 * H && t < 23 * H ? { light: 300 } : {},
      }),
    absent: () =>
      advice({
        values: (t) => t >= 21 * H && t < 23 * H ? { light: 300 } : {},
        light: (t) => t >= 8 * H && t < 23 * H,
      }),
  },
  {
    rule:
      "level low with the valve closed: open it when the level nears the minimum",
    says:
      /water level was below 30 cm .*: open the top-up valve when the level nears 30 cm, in short bursts/,
    appears: () => advice({ values: (t) => spell(t) ? { level: 29 } : {} }),
    absent: () =>
      advice({ values: (t) => spell(t) ? { level: 29 } : {}, topup: spell }),
  },
  {
    rule: "level low with the valve open: open it sooner",
    says:
      /water level was below 30 cm .*: the top-up valve was already open 100 % of that time: open it sooner/,
    appears: () =>
      advice({ values: (t) => spell(t) ? { level: 29 } : {}, topup: spell }),
    absent: () => advice({ values: (t) => spell(t) ? { level: 29 } : {} }),
  },
  {
    rule: "level high with the valve open: close it sooner",
    says: /water level was above 35 cm .*: close the top-up valve sooner/,
    appears: () =>
      advice({ values: (t) => spell(t) ? { level: 36 } : {}, topup: spell }),
    absent: () => advice({ values: (t) => spell(t) ? { level: 36 } : {} }),
  },
  {
    rule: "level high with the valve closed: nothing to close",
    says: /water level was above 35 cm .*: the top-up valve was already closed/,
    appears: () => advice({ values: (t) => spell(t) ? { level: 36 } : {} }),
    absent: () =>
      advice({ values: (t) => spell(t) ? { level: 36 } : {}, topup: spell }),
  },
  {
    rule: "pH low with the pump off: run it more",
    says: /pH was below 7\.2 .*: run the air pump more/,
    appears: () => advice({ values: (t) => spell(t) ? { ph: 7 } : {} }),
    absent: () =>
      advice({ values: (t) => spell(t) ? { ph: 7 } : {}, pump: () => true }),
  },
  {
    rule: "pH low with the pump running: it cannot do more",
    says:
      /pH was below 7\.2 .*: the air pump already ran 100 % of that time: it cannot drive out more CO2/,
    appears: () =>
      advice({ values: (t) => spell(t) ? { ph: 7 } : {}, pump: () => true }),
    absent: () => advice({ values: (t) => spell(t) ? { ph: 7 } : {} }),
  },
  {
    rule: "pH high with the pump running: run it less",
    says: /pH was above 8\.2 .*: run the air pump less/,
    appears: () =>
      advice({ values: (t) => spell(t) ? { ph: 8.5 } : {}, pump: () => true }),
    absent: () => advice({ values: (t) => spell(t) ? { ph: 8.5 } : {} }),
  },
  {
    rule: "pH high with the pump off: it comes down slowly",
    says: /pH was above 8\.2 .*: the air pump was already off/,
    appears: () => advice({ values: (t) => spell(t) ? { ph: 8.5 } : {} }),
    absent: () =>
      advice({ values: (t) => spell(t) ? { ph: 8.5 } : {}, pump: () => true }),
  },
  {
    rule: "a chattering heater: add hysteresis",
    says: /heater switched 8,640 times \(360 per hour\): add hysteresis/,
    appears: () => advice({ heater: (t) => (t / 10) % 2 === 0 ? 1 : 0 }),
    absent: () => advice(),
  },
  {
    rule: "a chattering pump: add hysteresis",
    says: /air pump switched .*: add hysteresis, e\.g\. on below 6\.5 mg\/L/,
    appears: () => advice({ pump: (t) => (t / 10) % 2 === 0 }),
    absent: () => advice(),
  },
  {
    rule: "a chattering lamp: switch it once",
    says: /lamp switched .*: switch it once when the light range changes/,
    appears: () => advice({ light: (t) => (t / 10) % 2 === 0 }),
    absent: () => advice(),
  },
  {
    rule: "a chattering top-up valve: fewer, longer bursts",
    says: /top-up valve switched .*: open it in fewer, longer bursts/,
    appears: () => advice({ topup: (t) => (t / 10) % 2 === 0 }),
    absent: () => advice(),
  },
  {
    rule: "energy over budget: aim for the middle",
    says:
      /the heater gave 600 Wh, 50 % over the 400 Wh budget: aim for the middle/,
    appears: () =>
      advice({
        heater: () => 0.25,
        extra: "grading:\n  energy_budget_wh: 400\n",
      }),
    absent: () => advice({ extra: "grading:\n  energy_budget_wh: 400\n" }),
  },
  {
    rule: "a fault without an alarm",
    says:
      /no alarm after the heater failed at 10:00: compare the temperature trend/,
    appears: () => advice({ extra: HEATER_FAILURE }),
    absent: () =>
      advice({ extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(10 * H + 300, "heater"),
      }),
  },
  {
    rule: "a late alarm",
    says:
      /the alarm came 1 h after the heater failed at 10:00 \(deadline 30 min\): raise it sooner/,
    appears: () =>
      advice({ extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(11 * H, "heater"),
      }),
    absent: () =>
      advice({ extra: HEATER_FAILURE }, {
        build: (run) => run.alarm(10 * H + 300, "heater"),
      }),
  },
  {
    rule: "a false alarm",
    says: /1 alarm raised when nothing was wrong \(first at 12:00: "ok"\)/,
    appears: () => advice({}, { build: (run) => run.alarm(12 * H, "ok") }),
    absent: () => advice(),
  },
  {
    rule: "no commands at all",
    says: /your controller sent no commands at all/,
    appears: () => advice({ heater: () => 0, light: () => false }),
    absent: () => advice(),
  },
  {
    rule: "refused messages",
    says:
      /the tank refused 1 message \(most on fishtank\/tank1\/control\/heater/,
    appears: () =>
      advice({}, {
        build: (run) =>
          run.reject(100, run.topic("control/heater"), "x", "expected on/off"),
      }),
    absent: () => advice(),
  },
  {
    rule: "stray topics",
    says: /1 message went to topics the tank does not read/,
    appears: () =>
      advice({}, { build: (run) => run.publish(100, run.topic("debug"), "x") }),
    absent: () => advice(),
  },
  {
    rule: "late commands",
    says: /3 commands arrived after their step had closed/,
    appears: () =>
      advice({}, { meta: { stats: { ...stats(), lateCommands: 3 } } }),
    absent: () => advice(),
  },
  {
    rule: "timed-out steps of a controller that acknowledges",
    says: /864 of 8,640 steps timed out waiting for your answer/,
    appears: () =>
      advice({}, { meta: { stats: { ...stats(), timedOutSteps: 864 } } }),
    absent: () =>
      advice({}, {
        meta: {
          ackMode: "timeout",
          stats: { ...stats(), timedOutSteps: 864 },
        },
      }),
  },
  {
    rule: "slow answers: Nagle",
    says: /steps took 42 ms each: your client waits for TCP acknowledgements/,
    appears: () =>
      advice({}, { meta: { stats: { ...stats(), medianResponseMs: 42 } } }),
    absent: () => advice(),
  },
  {
    rule: "a crash (exit code 1): read the error output",
    says:
      /your controller crashed before the end of the run \(exit code 1\).*read its error output/,
    appears: () => advice({}, { meta: crashed(1) }),
    absent: () => advice({}, { meta: crashed(0) }),
  },
  {
    rule: "a clean exit before the end (exit code 0): loop_forever()",
    says: new RegExp(
      `^${
        ENDED_EARLY.replace(/[()?`]/g, "\\$&")
      } It ended at simulated 190 s and the tank ran on without control`,
    ),
    appears: () => advice({}, { meta: crashed(0) }),
    absent: () => advice({}, { meta: crashed(1) }),
  },
];

function stats(): RunMeta["stats"] {
  return new SyntheticRun({ scenario: testScenario() }).meta().stats;
}

/** The meta of a run whose controller exited with `code` at simulated 190 s, in the harness's words. */
function crashed(code: number): Partial<RunMeta> {
  return {
    outcome: "crashed",
    outcomeMessage: code === 0
      ? "your program ended before the run did (exit code 0) at simulated 190 s: did it forget `loop_forever()` (or to keep running)?"
      : `the controller exited with code ${code} at simulated 190 s, before the end: NameError: x`,
    controller: { command: "python3 c.py", exitCode: code, signal: null },
  };
}

for (const { rule, says, appears, absent } of RULES) {
  Deno.test(`advice rule "${rule}": given when it fits, not when it does not`, () => {
    const given = appears();
    assert.match(given, says, `must appear in:\n${given}`);
    const notGiven = absent();
    assert.doesNotMatch(notGiven, says, `must not appear in:\n${notGiven}`);
  });
}

Deno.test("no advice contradicts what happened: a failed heater is never told to heat earlier, a cold heater never to switch off sooner", () => {
  const failed = advice({ values: cold, extra: HEATER_FAILURE });
  assert.doesNotMatch(failed, /start heating earlier/);
  const hot = advice({ values: hotRoom, heater: () => 0 });
  assert.doesNotMatch(hot, /switch the heater off sooner/);
});

Deno.test("a clean exit is not called a crash in any report", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const grade = run.grade(crashed(0));
  assert.equal(grade.outcome, "crashed", "the stored outcome stays the same");
  assert.doesNotMatch(grade.advice.join("\n"), /crash/);
  const card = renderScoreCard([grade], { color: false });
  assert.match(card, /FAIL \(ENDED EARLY\)/);
  assert.match(
    card,
    /Run ended early: your program ended before the run did \(exit code 0\)/,
  );
  assert.doesNotMatch(card, /crash/i);
  assert.match(toMarkdown([grade]), /\*\*Run ended early\*\*/);
  assert.match(toJUnit([grade], { suiteName: "s" }), /run ended early/);

  const one = run.grade(crashed(1));
  assert.match(renderScoreCard([one], { color: false }), /FAIL \(CRASHED\)/);
});

/** A plain thermostat on the real simulator: the reference controller without its alarms. */
function plainThermostat(scenario: Scenario): ReferenceController {
  const controller = faultAwareController(scenario);
  return (t, readings, inputs) => ({
    commands: controller(t, readings, inputs).commands,
  });
}

function realAdvice(
  scenario: Scenario,
  controller: ReferenceController | null,
): string {
  const { records, meta } = referenceRun(scenario, controller);
  return scoreRun(
    computeKpis({ scenario, meta, records }),
    scenario.grading,
    meta,
  )
    .advice.join("\n");
}

Deno.test("on the real simulator, heater-failure without an alarm is told of the failure and the alarm, not to heat earlier", async () => {
  const scenario = await loadScenario("heater-failure");
  const advice = realAdvice(scenario, plainThermostat(scenario));
  assert.match(
    advice,
    /temperature was below 24 °C .*: the heater failed at \d\d:\d\d \(to the end of the run\), so heating earlier would not have helped: detect it and raise the alarm/,
  );
  assert.doesNotMatch(advice, /start heating earlier/);
  // The same tank with no controller at all in a cold room is told to heat.
  const cold = await loadScenario("cold-room");
  assert.match(realAdvice(cold, null), /start heating earlier/);
});

Deno.test("on the real simulator, a hot day with the heater off is told a heater cannot cool, not to switch it off sooner", async () => {
  const text = (await Deno.readTextFile(
    new URL("../tests/fixtures/scenarios/short-day.yaml", import.meta.url),
  )).replace("  mean: 20", "  mean: 30");
  const scenario = parseScenario(text, { file: "hot-day.yaml" });
  const advice = realAdvice(scenario, plainThermostat(scenario));
  assert.match(advice, /temperature was above 26 °C .*a heater cannot cool/);
  assert.doesNotMatch(advice, /switch the heater off sooner/);
});
