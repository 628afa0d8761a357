import assert from "node:assert/strict";
import { computeKpis } from "./kpis.ts";
import { overallScore, type RunGrade, scoreRun } from "./score.ts";
import { SyntheticRun, testScenario } from "./_testing.ts";
import { answersSteps, hygieneScore } from "./score_components.ts";

const HOUR = 3600;

function component(grade: RunGrade, name: string) {
  const found = grade.components.find((c) => c.name === name);
  assert.ok(found, `component ${name} in ${JSON.stringify(grade.components)}`);
  return found;
}

Deno.test("a perfect run scores 100 and passes, with no advice", () => {
  const grade = new SyntheticRun({ scenario: testScenario() }).grade();
  assert.equal(grade.score, 100);
  assert.equal(grade.pass, true);
  assert.equal(grade.passMark, 60);
  assert.equal(grade.outcome, "completed");
  assert.deepEqual(grade.scenario, {
    id: "test-day",
    version: 1,
    title: "Test day",
  });
  assert.equal(grade.student, "Ada");
  assert.equal(grade.runId, "run-1");
  assert.equal(grade.wallSeconds, 90);
  assert.deepEqual(grade.advice, []);
  assert.deepEqual(
    grade.components.map((c) => [c.name, c.weight, c.score]),
    [
      ["temperature", 3, 1],
      ["ph", 1, 1],
      ["oxygen", 2, 1],
      ["light", 1, 1],
      ["level", 1, 1],
      ["energy", 1, 1],
      ["switching", 1, 1],
      ["alarms", 2, 1],
      ["hygiene", 1, 1],
    ],
  );
  assert.equal(
    component(grade, "energy").detail,
    "288 Wh of an estimated 836 Wh budget",
  );
});

Deno.test("2 h at 1 K too cold: temperature = 0.9167 / (1 + 2 K·h / 4 K·h), the score drops to 86.9", () => {
  const grade = new SyntheticRun({
    scenario: testScenario(),
    values: (t) => t >= 6 * HOUR && t < 8 * HOUR ? { temperature: 23 } : {},
  }).grade();
  const temperature = component(grade, "temperature");
  assert.equal(temperature.score, 0.611);
  assert.equal(temperature.detail, "91.7 % in range, 2 K·h outside over 2.0 h");
  // Energy is scaled by the temperature kept, switching by the ranges kept: no credit for saving by neglect.
  assert.equal(component(grade, "energy").score, 0.611);
  assert.equal(component(grade, "switching").score, 0.854);
  assert.equal(grade.score, 86.9);
  assert.equal(grade.pass, true);
  assert.deepEqual(grade.advice, [
    "temperature was below 24 °C for 2.0 h (2 K·h, lowest 23.0 °C at 06:00): start heating earlier: switch the heater on before the water reaches the minimum (it takes hours to warm back)",
  ]);
});

Deno.test("a chattering heater gets the switching advice with its figures", () => {
  const grade = new SyntheticRun({
    scenario: testScenario(),
    heater: (t) => (t / 10) % 2 === 0 ? 1 : 0,
  }).grade();
  const switching = component(grade, "switching");
  assert.equal(switching.score, 0.017); // 6 / 360
  assert.equal(switching.detail, "most: heater 360/h (limit 6/h)");
  assert.ok(
    grade.advice.includes(
      "heater switched 8,640 times (360 per hour): add hysteresis, e.g. switch on below 24.5 °C and off above 25.5 °C",
    ),
    grade.advice.join("\n"),
  );
});

Deno.test("alarms: detected in 5 min scores 1, never scores 0 with advice, late earns part", () => {
  const scenario = testScenario(
    "events:\n  - { at: 6h, type: heater_failure }\n",
  );
  const inTime = new SyntheticRun({ scenario }).alarm(6 * HOUR + 300, "heater")
    .grade();
  assert.equal(component(inTime, "alarms").score, 1);
  assert.equal(
    component(inTime, "alarms").detail,
    "1 of 1 fault alarmed within 30 min, 0 false alarms",
  );

  const never = new SyntheticRun({ scenario }).grade();
  assert.equal(component(never, "alarms").score, 0);
  assert.ok(never.score < inTime.score);
  assert.ok(
    never.advice.includes(
      "no alarm after the heater failed at 06:00: compare the temperature trend with the heater command (falling while the heater is on means no heat arrives)",
    ),
    never.advice.join("\n"),
  );

  // 1 h after: half an hour past a 30-minute deadline, credit falls to 0 at 2 h: 1 − 30/90.
  const late = new SyntheticRun({ scenario }).alarm(7 * HOUR, "cold").grade();
  assert.equal(component(late, "alarms").score, 0.667);
  assert.match(
    late.advice.join("\n"),
    /the alarm came 1 h after the heater failed at 06:00 \(deadline 30 min\): raise it sooner/,
  );
});

Deno.test("a false alarm costs a quarter of the alarm component and says how to clear it", () => {
  const grade = new SyntheticRun({ scenario: testScenario() })
    .alarm(12 * HOUR, "ok")
    .grade();
  assert.equal(component(grade, "alarms").score, 0.75);
  assert.equal(component(grade, "alarms").detail, "1 false alarm");
  assert.ok(
    grade.advice.some((line) =>
      line.startsWith(
        '1 alarm raised when nothing was wrong (first at 12:00: "ok")',
      ) &&
      line.includes('(any other text, even "ok", raises it)')
    ),
    grade.advice.join("\n"),
  );
});

Deno.test("rejected messages and stray topics lower hygiene and say where", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  run
    .reject(100, run.topic("control/heater"), "maybe", "expected on/off")
    .reject(200, run.topic("control/heater"), "maybe", "expected on/off")
    .publish(300, run.topic("heater"), "on")
    .publish(310, run.topic("heater"), "on")
    .publish(320, run.topic("debug"), "hello")
    .publish(330, run.topic("debug"), "hello");
  const grade = run.grade();
  const hygiene = component(grade, "hygiene");
  assert.equal(hygiene.score, 0.7); // 1 − 2 × 0.05 − 4 × 0.05
  assert.equal(
    hygiene.detail,
    "2 rejected, 4 on stray topics, 0 late, 0 timed out",
  );
  const advice = grade.advice.join("\n");
  assert.match(
    advice,
    /the tank refused 2 messages \(most on fishtank\/tank1\/control\/heater: expected on\/off\): it says why on fishtank\/tank1\/errors/,
  );
  assert.match(
    advice,
    /4 messages went to topics the tank does not read \(fishtank\/tank1\/debug ×2, fishtank\/tank1\/heater ×2\)/,
  );
});

Deno.test("timed-out steps count only when the controller acknowledges; slow answers get the Nagle advice", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const stats = {
    ...run.meta().stats,
    timedOutSteps: 864,
    medianResponseMs: 42,
  };
  const acking = run.grade({ ackMode: "puback", stats });
  assert.equal(component(acking, "hygiene").score, 0.7); // 10 % of the steps: the most, 0.3
  assert.ok(
    acking.advice.includes(
      "steps took 42 ms each: your client waits for TCP acknowledgements (Nagle); subscribe with QoS 1 or set TCP_NODELAY",
    ),
    acking.advice.join("\n"),
  );
  const waiting = run.grade({ ackMode: "timeout", stats });
  assert.equal(
    component(waiting, "hygiene").score,
    1,
    "every step waits for the deadline by design",
  );
});

Deno.test("energy over budget falls linearly to 0 at twice the budget", () => {
  const scenario = testScenario("grading:\n  energy_budget_wh: 400\n");
  const grade = new SyntheticRun({ scenario, heater: () => 0.25 }).grade();
  // 600 Wh used: 1 − 200/400.
  assert.equal(component(grade, "energy").score, 0.5);
  assert.equal(component(grade, "energy").detail, "600 Wh of a 400 Wh budget");
  assert.ok(
    grade.advice.some((line) =>
      line.startsWith("the heater gave 600 Wh, 50 % over the 400 Wh budget")
    ),
    grade.advice.join("\n"),
  );
});

Deno.test("a crashed run keeps its score, cannot pass, and says so first", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const grade = run.grade({
    outcome: "crashed",
    outcomeMessage:
      "the controller exited with code 1 at simulated 80000 s, before the end",
    controller: { command: "python3 c.py", exitCode: 1, signal: null },
  });
  assert.equal(grade.outcome, "crashed");
  assert.equal(grade.score, run.grade().score, "the computed score is kept");
  assert.equal(grade.pass, false);
  assert.match(
    grade.advice[0]!,
    /^your controller crashed before the end of the run \(exit code 1\) and the tank ran on without control/,
  );
  assert.match(grade.advice[0]!, /at simulated 80000 s/);
});

Deno.test("a controller that never connected: behaviour scores 0 and the advice names MQTT_HOST/MQTT_PORT", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const records = run.records().filter((r) => r.client === "$harness");
  const meta = run.meta({
    outcome: "no_connect",
    outcomeMessage:
      "the controller did not connect within 10 s: check that it uses MQTT_HOST and MQTT_PORT (here 127.0.0.1:1883)",
  });
  const grade = scoreRun(
    computeKpis({ scenario: run.scenario, meta, records }),
    run.scenario.grading,
    meta,
  );
  assert.equal(grade.pass, false);
  assert.equal(component(grade, "hygiene").score, 0);
  assert.equal(component(grade, "hygiene").detail, "never connected");
  assert.equal(component(grade, "alarms").score, 0);
  assert.equal(
    grade.advice[0],
    "your controller did not connect within 10 s: check MQTT_HOST/MQTT_PORT (or MQTT_URL), and that it connects as soon as it starts",
  );
});

Deno.test("every other outcome shows in the advice", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  const expected = {
    unresponsive: /stopped answering/,
    no_subscribe:
      /did not subscribe to the readings: check TANK_ID and TOPIC_ROOT/,
    flooding: /too many messages per step/,
    interrupted:
      /stopped before the end: the score covers only the first 1 d of 1 d/,
    running: /has not finished/,
    error: /the harness failed/,
  } as const;
  for (const [outcome, pattern] of Object.entries(expected)) {
    const grade = run.grade({ outcome: outcome as keyof typeof expected });
    assert.equal(grade.outcome, outcome);
    assert.equal(grade.pass, false, outcome);
    assert.match(grade.advice[0]!, pattern, outcome);
  }
});

Deno.test("components weighted 0 are left out of the grade", () => {
  const scenario = testScenario(
    "grading:\n  pass_mark: 80\n  weights: { energy: 0, hygiene: 0, ph: 0 }\n",
  );
  const grade = new SyntheticRun({ scenario }).grade();
  assert.deepEqual(
    grade.components.map((c) => c.name),
    ["temperature", "oxygen", "light", "level", "switching", "alarms"],
  );
  assert.equal(grade.passMark, 80);
});

Deno.test("scoreRun() is pure: the same input gives deep-equal grades", () => {
  const run = new SyntheticRun({
    scenario: testScenario("events:\n  - { at: 6h, type: heater_failure }\n"),
    values: (t) => t >= 9 * HOUR ? { temperature: 23.2 } : {},
  }).alarm(6 * HOUR + 900, "heater").alarm(20 * HOUR, "still cold");
  const kpis = run.kpis();
  const meta = run.meta();
  const first = scoreRun(kpis, run.scenario.grading, meta);
  const second = scoreRun(kpis, run.scenario.grading, meta);
  assert.deepEqual(first, second);
  assert.deepEqual(run.grade(), run.grade());
});

Deno.test("overallScore() is the plain mean of the scores, one decimal", () => {
  const a = new SyntheticRun({ scenario: testScenario() }).grade();
  const b = { ...a, score: 71.2 };
  const c = { ...a, score: 40.05 };
  assert.equal(overallScore([a, b, c]), 70.4); // (100 + 71.2 + 40.05) / 3 = 70.416…
  assert.equal(overallScore([]), 0);
});

Deno.test("an unresponsive run's advice fits how it stopped: a stuck handler, a controller that left, the wall-clock limit", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  for (
    const [outcomeMessage, pattern] of [
      [
        "the controller stopped handling readings: its message handler has not returned for 3 steps of 5 s each",
        /handler returns quickly and never waits/,
      ],
      [
        "the controller disconnected at simulated 190 s and did not connect again within 50 steps",
        /left the broker and did not come back.*loop_forever/,
      ],
      [
        "the run took longer than its wall-clock limit of 900 s",
        /longer than its wall-clock limit/,
      ],
    ] as const
  ) {
    const grade = run.grade({ outcome: "unresponsive", outcomeMessage });
    assert.match(grade.advice[0]!, pattern);
  }
});

Deno.test("timed-out steps lower hygiene when the steps were answered (by the processes too), not with only a time window", () => {
  const run = new SyntheticRun({ scenario: testScenario() });
  run.publish(300, run.topic("control/heater"), "on");
  const { hygiene } = run.grade().kpis;
  const score = (ackMode: typeof hygiene.ackMode) =>
    hygieneScore({ ...hygiene, ackMode, timedOutSteps: 2, steps: 10 }, {
      outcome: "completed",
      idle: false,
    });
  for (
    const answered of ["explicit", "library", "puback", "process"] as const
  ) {
    assert.ok(answersSteps(answered));
    assert.match(score(answered).detail, /2 timed out/);
    assert.ok(score(answered).score < 1, answered);
  }
  assert.equal(answersSteps("timeout"), false);
  assert.equal(score("timeout").score, 1);
});
