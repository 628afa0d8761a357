/**
 * The gaming matrix: honest controllers and cheats, written from the topic contract (readings in; heater, lamp, pump,
 * top-up and alarm out), played on the real simulator on every built-in scenario and graded with the current grading
 * version against the reference controller. No cheat may beat the fault-aware thermostat anywhere, PWM chatter may not
 * beat on/off chatter (by more than half a point), and on every scenario with a fault: do nothing < bang-bang <
 * hysteresis ≤ fault-aware. The controllers run in-process on the simulator (as `grader/reference.ts` plays them), so
 * that 63 graded days take seconds; the lockstep harness's own tests cover the MQTT side.
 */

import assert from "node:assert/strict";
import {
  computeKpis,
  faultAwareController,
  GRADING_VERSION,
  type ReferenceController,
  referenceFigures,
  referenceRun,
  scoreRun,
} from "../grader/mod.ts";
import {
  builtinScenarioIds,
  FAULT_EVENT_TYPES,
  loadScenario,
  rangesAt,
  type Scenario,
} from "../scenarios/mod.ts";
import { withGrading } from "./_grading.ts";

/** Lamp on the light range, pump on oxygen (6.8–7.6 mg/L), top-up on the level (30.5–31.5 cm), as every honest one. */
function housekeeping(scenario: Scenario): ReferenceController {
  return (t, readings) => {
    const commands: Record<string, boolean> = {
      light: rangesAt(scenario, t).light?.min !== undefined,
    };
    const oxygen = readings.oxygen ?? 7;
    if (oxygen < 6.8) commands.pump = true;
    else if (oxygen > 7.6) commands.pump = false;
    const level = readings.level ?? 32;
    if (level < 30.5) commands.topup = true;
    else if (level > 31.5) commands.topup = false;
    return { commands };
  };
}

/** The heater on below `on`, at `low` above `off`, kept as it is between; no alarm. */
function thermostat(
  scenario: Scenario,
  on: number,
  off: number,
  low = 0,
): ReferenceController {
  const base = housekeeping(scenario);
  return (t, readings, inputs) => {
    const { commands } = base(t, readings, inputs);
    const temperature = readings.temperature;
    if (temperature !== null && temperature !== undefined) {
      if (temperature < on) commands.heater = 1;
      else if (temperature >= off) commands.heater = low;
    }
    return { commands };
  };
}

/** `inner`, with an alarm raised from the start whose text changes every five minutes. */
function constantAlarm(inner: ReferenceController): ReferenceController {
  return (t, readings, inputs) => ({
    ...inner(t, readings, inputs),
    alarm: `check the tank (${Math.floor(t / 300)})`,
  });
}

/** The constant alarm, with the lamp switched the wrong way on the first step, so the light's range "excuses" it. */
function excusedAlarm(
  scenario: Scenario,
  inner: ReferenceController,
): ReferenceController {
  const alarmed = constantAlarm(inner);
  return (t, readings, inputs) => {
    const out = alarmed(t, readings, inputs);
    if (t === 0) {
      out.commands.light = rangesAt(scenario, t).light?.min === undefined;
    }
    return out;
  };
}

const CONTROLLERS: Record<string, (scenario: Scenario) => ReferenceController> =
  {
    "do nothing": () => () => ({ commands: {} }),
    "bang-bang": (s) => thermostat(s, 25, 25),
    "hysteresis": (s) => thermostat(s, 24.5, 25.5),
    "fault-aware": (s) => faultAwareController(s),
    "constant alarm": (s) => constantAlarm(thermostat(s, 24.5, 25.5)),
    "excused alarm": (s) => excusedAlarm(s, thermostat(s, 24.5, 25.5)),
    "PWM chatter": (s) => thermostat(s, 25, 25, 0.02),
  };
const CHEATS = ["constant alarm", "excused alarm", "PWM chatter"];

/** Plays `controller` on `scenario` and grades it as a run recorded today would be. */
function grade(
  scenario: Scenario,
  controller: ReferenceController,
): number {
  const { records, meta } = referenceRun(scenario, controller);
  const stamped = {
    ...meta,
    gradingVersion: GRADING_VERSION,
    reference: referenceFigures(scenario),
  };
  const kpis = computeKpis({ scenario, meta: stamped, records });
  return scoreRun(kpis, scenario.grading, stamped).score;
}

Deno.test("gaming matrix: no cheat beats the fault-aware thermostat, PWM chatter no better than on/off chatter, and honest work ranks in order on every fault scenario", async () => {
  const table: string[] = [];
  const failures: string[] = [];
  for (const id of await builtinScenarioIds()) {
    const scenario = await loadScenario(id);
    const scores = Object.fromEntries(
      Object.entries(CONTROLLERS).map(([name, make]) => [
        name,
        grade(scenario, make(scenario)),
      ]),
    ) as Record<string, number>;
    table.push(
      `${id}: ${
        Object.entries(scores).map(([n, s]) => `${n} ${s}`).join(", ")
      }`,
    );
    const fair = scores["fault-aware"]!;
    for (const cheat of CHEATS) {
      if (scores[cheat]! > fair) {
        failures.push(`${id}: ${cheat} ${scores[cheat]} > fault-aware ${fair}`);
      }
    }
    // Within half a point: the 2 % of heat it keeps on changes the dynamics a little (a few switches an hour fewer of
    // well over a hundred); counted the old way it won by 11.7 points on steady-day.
    if (scores["PWM chatter"]! > scores["bang-bang"]! + 0.5) {
      failures.push(
        `${id}: PWM chatter ${scores["PWM chatter"]} > on/off chatter ${
          scores["bang-bang"]
        }`,
      );
    }
    const faulty = scenario.events.some((e) =>
      FAULT_EVENT_TYPES.includes(e.type as (typeof FAULT_EVENT_TYPES)[number])
    );
    if (faulty) {
      const order = ["do nothing", "bang-bang", "hysteresis"];
      for (let i = 0; i + 1 < order.length; i++) {
        if (!(scores[order[i]!]! < scores[order[i + 1]!]!)) {
          failures.push(
            `${id}: ${order[i]} ${scores[order[i]!]} is not below ${
              order[i + 1]
            } ${scores[order[i + 1]!]}`,
          );
        }
      }
      if (scores["hysteresis"]! > fair) {
        failures.push(
          `${id}: hysteresis ${scores["hysteresis"]} > fault-aware ${fair}`,
        );
      }
    }
  }
  assert.deepEqual(failures, [], table.join("\n"));
});

Deno.test("a run recorded before grading version 2 keeps its version-1 score: the old PWM loophole still shows in it, not in a new run", async () => {
  const scenario = await loadScenario("steady-day");
  const score = (name: string, version: number | undefined) => {
    const { records, meta } = referenceRun(
      scenario,
      CONTROLLERS[name]!(scenario),
    );
    const stamped = version === undefined ? meta : {
      ...meta,
      gradingVersion: version,
      reference: referenceFigures(scenario),
    };
    const kpis = computeKpis({ scenario, meta: stamped, records });
    return scoreRun(kpis, scenario.grading, stamped).score;
  };
  // Version 1 (no version stored): 2 %-"off" chatter counted as one switch.
  assert.ok(
    score("PWM chatter", undefined) > score("bang-bang", undefined) + 5,
  );
  assert.ok(
    score("PWM chatter", GRADING_VERSION) <=
      score("bang-bang", GRADING_VERSION) + 0.5,
  );
});

Deno.test("the reference controller shipped in examples/ runs over MQTT and matches the grader's reference on heater-failure: the fault alarmed in time, nothing lost beyond the reference", async () => {
  await withGrading(async ({ grade }) => {
    const run = await grade("examples/fault_aware.ts", {
      scenario: "heater-failure",
    });
    assert.equal(run.outcome, "completed");
    assert.ok(run.pass, `${run.score}`);
    const fault = run.kpis.alarms.faults.find((f) => f.expected);
    assert.equal(fault?.withinDeadline, true);
    const temperature = run.components.find((c) => c.name === "temperature");
    assert.match(temperature?.detail ?? "", /\(reference: [\d.]+ K·h\)/);
    assert.ok((temperature?.score ?? 0) >= 0.95, temperature?.detail ?? "");
  });
});
