import assert from "node:assert/strict";
import { parseScenario } from "../scenarios/mod.ts";
import type { MessageRecord, RunMeta, TruthSample } from "../store/mod.ts";
import { emptyRunStats } from "../store/mod.ts";
import { computeKpis } from "./kpis.ts";
import { scoreRun } from "./score.ts";
import { GRADING_VERSION } from "./grading_version.ts";
import {
  RIG_CONTROLLER_CLIENT,
  rigScenarioSource,
  rigSession,
} from "./rig_session.ts";
import { SCENARIO_TEXT, testScenario } from "./_testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A session's records as the recorder stores them: publishes with the simulation's t. */
function session(events: [t: number, topic: string, text: string][]) {
  return events.map(([t, topic, text], seq): MessageRecord => ({
    runId: "S",
    seq,
    t,
    wall: 1_000 + seq,
    kind: "publish",
    client: "$unknown",
    topic,
    payload: encoder.encode(text),
    qos: 1,
    retain: false,
  }));
}

const R = "fishtank/rig1";

function truthOf(records: { kind: string; payload: Uint8Array }[]) {
  return records.filter((r) => r.kind === "truth").map((r) =>
    JSON.parse(decoder.decode(r.payload)) as TruthSample
  );
}

Deno.test("rigSession scores only where control_source named the rig: intervals end to end, the last readings before a handover carried in", () => {
  const scenario = testScenario();
  const records = session([
    [0, `${R}/control_source`, "tank1"],
    [10, `${R}/sensors/all`, '{"t":9999,"temperature":23}'],
    [20, `${R}/actuators`, '{"heater":100,"light":false}'],
    [100, `${R}/control_source`, "self"],
    [110, `${R}/sensors/all`, '{"temperature":23.5}'],
    [120, `${R}/control/heater`, "off"],
    [121, `${R}/actuators`, '{"heater":0,"light":false}'],
    [200, `${R}/control_source`, "tank1"],
    [250, `${R}/sensors/all`, '{"temperature":30}'],
    [300, `${R}/control_source`, "rig1"],
    [310, `${R}/sensors/all`, '{"lux":500,"temperature":25}'],
    [360, "fishtank/tank1/clock", '{"t":360}'],
  ]);
  const found = rigSession(records, {
    root: "fishtank",
    rig: "rig1",
    scenario,
    sessionId: "S",
  });
  assert.deepEqual(found.intervals, [{ from: 100, to: 200 }, {
    from: 300,
    to: 360,
  }]);
  assert.equal(found.by, "control_source");
  assert.equal(found.seconds, 160);
  assert.deepEqual(found.sensors, ["temperature", "light"]);
  const truth = truthOf(found.records);
  // Rebased: the first interval from 0 (with the readings from before it), the second from 100.
  assert.deepEqual(truth.map((s) => s.t), [0, 10, 21, 100, 110, 160]);
  assert.deepEqual(truth.map((s) => s.values.temperature), [
    23,
    23.5,
    23.5,
    30,
    25,
    25,
  ]);
  assert.equal(
    truth[0]!.inputs.heater,
    1,
    "the heater tank1's controller left on",
  );
  assert.equal(truth[2]!.inputs.heater, 0);
  assert.equal(truth.at(-1)!.switches.heater, 1, "one switch, by rig1's own");
  // 100 W for 21 s, then off.
  assert.equal(truth.at(-1)!.heaterEnergy, 100 * 21);
  assert.equal(truth.at(-1)!.values.light, 500, "the kit's lux read as light");
  const command = found.records.find((r) => r.topic === `${R}/control/heater`);
  assert.equal(command?.client, RIG_CONTROLLER_CLIENT);
  assert.equal(command?.t, 20);
  assert.match(
    found.records[0]!.note!,
    /rig1 scored over the intervals of session S .*t = 0:01:40–0:03:20, t = 0:05:00–0:06:00/,
  );
  assert.ok(
    !found.records.some((r) => r.topic === `${R}/sensors/all` && r.t === 250),
    "nothing from while it followed tank1",
  );
});

Deno.test("rigSession without a recorded control_source scores from the rig's first own command; none: nothing to score", () => {
  const scenario = testScenario();
  const base = [
    [0, `${R}/sensors/all`, '{"temperature":24}'],
    [50, "fishtank/tank1/control/heater", "on"],
  ] as [number, string, string][];
  const none = rigSession(session(base), {
    root: "fishtank",
    rig: "rig1",
    scenario,
    sessionId: "S",
  });
  assert.deepEqual(none.intervals, []);
  assert.deepEqual(none.records, []);
  const found = rigSession(
    session([...base, [60, `${R}/control/heater`, "on"], [
      90,
      `${R}/sensors/all`,
      '{"temperature":24.5}',
    ]]),
    { root: "fishtank", rig: "rig1", scenario, sessionId: "S" },
  );
  assert.deepEqual(found.intervals, [{ from: 60, to: 90 }]);
  assert.equal(found.by, "first command");
});

Deno.test("a rig's scored run grades with the ordinary formula under a scenario of its own: no events, unreported measurements unranged, the budget scaled", () => {
  const source = SCENARIO_TEXT + `events:
  - { at: 10m, type: heater_failure, for: 1h }
grading:
  energy_budget_wh: 2400
`;
  const scenario = parseScenario(source, { file: "test-day" });
  const events: [number, string, string][] = [
    [0, `${R}/control_source`, "self"],
    [0, `${R}/actuators`, '{"heater":0}'],
  ];
  for (let t = 0; t < 3600; t += 10) {
    events.push([t, `${R}/sensors/all`, `{"temperature":25,"t":${t}}`]);
  }
  events.push([60, `${R}/control/heater`, "off"]);
  events.sort((a, b) => a[0] - b[0]);
  events.push([3600, "fishtank/tank1/clock", '{"t":3600}']);
  const found = rigSession(session(events), {
    root: "fishtank",
    rig: "rig1",
    scenario,
    sessionId: "S",
  });
  const rigSource = rigScenarioSource(source, scenario, found);
  const rigScenario = parseScenario(rigSource, { file: "test-day-rig" });
  assert.equal(rigScenario.id, "test-day-rig");
  assert.equal(rigScenario.duration, 3600);
  assert.equal(rigScenario.events.length, 0);
  assert.equal(rigScenario.grading.energyBudgetWh, 100);
  assert.equal(rigScenario.ranges.ph.length, 0);
  const meta: RunMeta = {
    runId: "S-rig1",
    scenario: {
      id: rigScenario.id,
      version: rigScenario.version,
      title: rigScenario.title,
      hash: rigScenario.hash,
      source: rigSource,
    },
    seed: 0,
    simulatorVersion: "",
    controller: { command: null, exitCode: null, signal: null },
    student: "class",
    tank: "rig1",
    root: "fishtank",
    mode: "record",
    ackMode: "none",
    startedAt: "2026-12-02T10:00:00.000Z",
    outcome: "completed",
    simulated: found.seconds,
    stats: emptyRunStats(),
    gradingVersion: GRADING_VERSION,
  };
  const records = found.records.map((r, seq) => ({
    ...r,
    runId: "S-rig1",
    seq,
  }));
  const kpis = computeKpis({ scenario: rigScenario, meta, records });
  assert.deepEqual(kpis.measurements.map((m) => m.name), ["temperature"]);
  assert.equal(kpis.measurements[0]!.timeInRangePercent, 100);
  assert.equal(kpis.hygiene.commands, 1);
  assert.equal(kpis.alarms.faults.length, 0);
  assert.equal(kpis.covered, 3600);
  const grade = scoreRun(kpis, rigScenario.grading, meta);
  assert.equal(grade.outcome, "completed");
  assert.equal(grade.interference, null);
  assert.ok(grade.score > 80, `score ${grade.score}`);
});
