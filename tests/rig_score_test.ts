/**
 * A rig's recorded session scored over the part where its own control system was in charge: `deno task sim --record
 * --rig rig1 --rig-control-from tank1`, the demo rig (examples/rig/demo_rig.py), the handover to rig1's own
 * controller (examples/thermostat.py with TANK_ID=rig1) and back, then `deno task grade --rescore SESSION --tank rig1`.
 * The scored run is listed like any run and ranked on the leaderboard. Real processes, paho and mqtt.js over TCP, a
 * real Deno KV store.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { emptyRunStats, type MessageRecord, RunStore } from "../store/mod.ts";
import { type RunGrade, sessionClock } from "../grader/mod.ts";
import { gradeStoredRun, scoreRigSession } from "../harness/grading/mod.ts";
import { startWeb } from "../web/mod.ts";
import { Child, eventually } from "./_processes.ts";
import { hasPaho, ignoreWithout } from "./_peers.ts";

const SIM = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
  "cli/sim.ts",
];
const decoder = new TextDecoder();

/** The latest simulated time tank1's clock said, as a watcher heard it. */
async function clockWatcher(url: string) {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    protocolVersion: 4,
    connectTimeout: 5000,
  });
  let t = 0;
  client.on("message", (topic, bytes) => {
    if (topic === "fishtank/tank1/clock") t = JSON.parse(String(bytes)).t;
  });
  await client.subscribeAsync("fishtank/tank1/clock", { qos: 0 });
  return {
    client,
    get t() {
      return t;
    },
  };
}

Deno.test({
  name:
    "deno task grade --rescore SESSION --tank rig1 scores the demo rig over the interval its own controller was in charge, stores it as a run, listed and ranked like any",
  ignore: ignoreWithout(hasPaho(), "python3 with paho-mqtt"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fishtank-rig-score-" });
    const db = join(dir, "class.kv");
    const children: Child[] = [];
    const clients: mqtt.MqttClient[] = [];
    try {
      const sim = new Child(Deno.execPath(), [
        ...SIM,
        "--port=0",
        "--ws-port=0",
        "--record",
        "--speed=600",
        "--quiet",
        "--rig=rig1",
        "--rig-control-from=tank1",
        `--db=${db}`,
      ]);
      children.push(sim);
      const url = (await sim.waitFor(/MQTT\s+(mqtt:\/\/\S+)/, 60_000))[1]!;
      const sessionId =
        (await sim.waitFor(/Recording\s+run (\S+)/, 60_000))[1]!;
      const port = new URL(url).port;
      const clock = await clockWatcher(url);
      clients.push(clock.client);

      const rig = new Child("/usr/bin/python3", [
        "-u",
        "examples/rig/demo_rig.py",
        "--tank=rig1",
        `--port=${port}`,
        "--speed=600",
        "--period=60",
        "--water=24.8",
      ]);
      children.push(rig);
      await rig.waitFor(/now following tank1's control topics/, 30_000);

      // tank1's controller (here mqtt.js) drives the rig through tank1's control topics.
      const teacher = await mqtt.connectAsync(url, {
        reconnectPeriod: 0,
        protocolVersion: 4,
        connectTimeout: 5000,
      });
      clients.push(teacher);
      await teacher.publishAsync("fishtank/tank1/control/heater", "on", {
        qos: 1,
      });
      await rig.waitFor(/heater 100 % \(from fishtank\/tank1\/control/, 20_000);

      // The handover: rig1 obeys its own control topics, where the thermostat subscribed to rig1 takes over.
      await teacher.publishAsync("fishtank/rig1/control_source", "self", {
        qos: 1,
        retain: true,
      });
      await rig.waitFor(/now obeying its own control topics/, 20_000);
      const controller = new Child("/usr/bin/python3", [
        "-u",
        "examples/thermostat.py",
      ], { env: { MQTT_PORT: port, TANK_ID: "rig1" } });
      children.push(controller);
      await rig.waitFor(/\(from fishtank\/rig1\/control\/heater\)/, 30_000);
      const from = clock.t;
      await eventually(
        () => clock.t >= from + 3600,
        60_000,
        "an hour of simulated time under rig1's own controller",
      );
      await teacher.publishAsync("fishtank/rig1/control_source", "tank1", {
        qos: 1,
        retain: true,
      });
      await rig.waitFor(
        /now obeying its own control topics[^]*now following tank1's/,
        20_000,
      );
      const back = clock.t;
      await eventually(
        () => clock.t >= back + 600,
        60_000,
        "ten simulated minutes after the hand-back",
      );
      await controller.kill();
      await rig.kill();
      await Promise.allSettled(clients.splice(0).map((c) => c.endAsync(true)));
      sim.process.kill("SIGINT");
      assert.equal((await sim.exit(30_000)).code, 0, sim.output);

      // The handover as recorded, on the session's one clock.
      const store = await RunStore.open(db);
      let handover: number[];
      try {
        const records: MessageRecord[] = [];
        for await (const r of store.messages(sessionId)) records.push(r);
        handover = records.filter((r) =>
          r.topic === "fishtank/rig1/control_source"
        ).map((r) => r.t);
        const sources = records.filter((r) =>
          r.topic === "fishtank/rig1/control_source"
        ).map((r) => decoder.decode(r.payload));
        assert.deepEqual(sources, ["tank1", "self", "tank1"]);
        // The rig's own t (from its start at 0) never became the session's time: it stays near tank1's.
        const times = records.filter((r) => r.kind === "publish").map((r) =>
          r.t
        );
        for (let i = 1; i < times.length; i++) {
          assert.ok(
            times[i]! >= times[i - 1]!,
            `time went back at record ${i}: ${times[i - 1]} → ${times[i]}`,
          );
        }
      } finally {
        await store.close();
      }
      const [, ownFrom, ownTo] = handover;

      const jsonPath = join(dir, "rig.json");
      const grade = new Child(Deno.execPath(), [
        "run",
        "-A",
        "cli/grade.ts",
        "grade",
        `--rescore=${sessionId}`,
        "--tank=rig1",
        `--db=${db}`,
        "--name=Rig team",
        `--json=${jsonPath}`,
      ]);
      children.push(grade);
      const status = await grade.exit(60_000);
      assert.ok(status.code === 0 || status.code === 1, grade.output);
      // The card says which interval was scored.
      assert.match(
        grade.output,
        new RegExp(
          `Scored: rig1 scored over the interval of session ${sessionId} where its own control system was in charge \\(its control_source said self\\): t = ${
            sessionClock(ownFrom!)
          }–${sessionClock(ownTo!)} of the session's simulated time`,
        ),
      );
      const runId = `${sessionId}-rig1`;
      assert.match(grade.output, new RegExp(`Stored as run ${runId}`));
      const report = JSON.parse(await Deno.readTextFile(jsonPath));
      const card: RunGrade = report.grades[0];
      assert.equal(card.runId, runId);
      assert.equal(card.student, "Rig team");
      assert.equal(card.outcome, "completed");
      assert.equal(card.scenario.id, "steady-day-rig");
      assert.ok(
        Math.abs(card.kpis.covered - (ownTo! - ownFrom!)) <= 1,
        `covered ${card.kpis.covered} s of ${ownTo! - ownFrom!}`,
      );
      assert.ok(card.kpis.hygiene.commands > 0, "the thermostat's commands");
      assert.equal(card.kpis.alarms.faults.length, 0, "no simulated faults");
      const temperature = card.kpis.measurements.find((m) =>
        m.name === "temperature"
      );
      assert.ok(temperature !== undefined);
      assert.ok(card.kpis.energy.heaterWh >= 0);
      assert.equal(card.interference, null);

      const again = await RunStore.open(db);
      try {
        // Rescoring the stored rig run gives its score again: an ordinary run now.
        assert.equal((await gradeStoredRun(again, runId)).score, card.score);
        const web = await startWeb({
          store: again,
          port: 0,
          islands: new Map(),
        });
        try {
          const runs = await (await web.app.request("/api/runs")).json();
          const listed = runs.runs.find((r: { id: string }) => r.id === runId);
          assert.ok(listed, "the rig's scored run in the runs API");
          assert.equal(listed.outcome, "completed");
          assert.equal(listed.score, card.score);
          assert.equal(listed.scenario, "steady-day-rig");
          const page = await (await web.app.request("/runs")).text();
          assert.match(page, new RegExp(runId));
          const board = await (await web.app.request("/leaderboard")).text();
          assert.match(board, /steady-day-rig|on a rig/);
          assert.match(board, /Rig team/);
        } finally {
          await web.close();
        }
      } finally {
        await again.close();
      }
    } finally {
      await Promise.allSettled(clients.map((c) => c.endAsync(true)));
      for (const child of children.reverse()) await child.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A recorded session as `deno task sim --record --rig rig1` stores it, made directly (no processes). */
async function storeSession(
  store: RunStore,
  sessionId: string,
  sources: [number, string][],
) {
  await store.createRun({
    runId: sessionId,
    scenario: {
      id: "steady-day",
      version: 2,
      title: "A steady day",
      hash: "",
      source: "",
    },
    seed: 0,
    simulatorVersion: "",
    controller: { command: null, exitCode: null, signal: null },
    student: "Teacher",
    tank: "*",
    root: "fishtank",
    mode: "record",
    ackMode: "none",
    startedAt: "2026-12-02T10:00:00.000Z",
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
  });
  const recorder = store.recorder(sessionId);
  const encoder = new TextEncoder();
  const events: [number, string, string][] = sources.map(([t, source]) => [
    t,
    "fishtank/rig1/control_source",
    source,
  ]);
  for (let t = 0; t <= 3600; t += 60) {
    events.push([t, "fishtank/tank1/clock", `{"t":${t}}`]);
    events.push([
      t,
      "fishtank/rig1/sensors/all",
      `{"t":${t + 99999},"temperature":${t < 1800 ? 25 : 27}}`,
    ]);
  }
  events.push([0, "fishtank/tank1/status", '{"scenario":"steady-day"}']);
  events.push([1200, "fishtank/rig1/control/heater", "off"]);
  events.push([1200, "fishtank/rig1/actuators", '{"heater":0}']);
  events.sort((a, b) => a[0] - b[0]);
  for (const [t, topic, text] of events) {
    recorder.append({
      t,
      wall: 0,
      kind: "publish",
      client: "$unknown",
      topic,
      payload: encoder.encode(text),
      qos: 1,
      retain: false,
    });
  }
  await recorder.close();
  await store.finishRun(sessionId, { outcome: "completed", simulated: 3600 });
  return sessionId;
}

Deno.test("scoreRigSession: the rig's own-control interval stored as a run, in the runs list with its outcome and on the leaderboard; a rig never in charge is refused by name", async () => {
  const store = await RunStore.open(":memory:");
  try {
    const sessionId = await storeSession(store, "20261202-100000-abcdef", [[
      0,
      "tank1",
    ], [
      1200,
      "self",
    ], [2400, "tank1"]]);
    const scored = await scoreRigSession(store, sessionId, {
      rig: "rig1",
      student: "Rig team",
    });
    assert.equal(scored.runId, `${sessionId}-rig1`);
    assert.deepEqual(scored.session.intervals, [{ from: 1200, to: 2400 }]);
    assert.match(scored.scored, /t = 0:20:00–0:40:00/);
    const meta = await store.getRun(scored.runId);
    assert.equal(meta?.outcome, "completed");
    assert.equal(meta?.tank, "rig1");
    assert.equal(meta?.simulated, 1200);
    assert.equal(meta?.grade?.score, scored.grade.score);
    // 25 °C up to 30 min, 27 °C after: half the scored interval out of range.
    const temperature = scored.grade.kpis.measurements.find((m) =>
      m.name === "temperature"
    )!;
    assert.equal(temperature.timeInRangePercent, 50);
    // Scoring again replaces the run.
    const again = await scoreRigSession(store, sessionId, { rig: "rig1" });
    assert.equal(again.grade.score, scored.grade.score);
    assert.equal(
      (await store.listRuns()).filter((r) => r.tank === "rig1").length,
      1,
    );

    const web = await startWeb({ store, port: 0, islands: new Map() });
    try {
      const runs = await (await web.app.request("/api/runs")).json();
      const row = runs.runs.find((r: { id: string }) => r.id === again.runId);
      assert.equal(row.outcome, "completed");
      assert.equal(row.score, again.grade.score);
      const page = await (await web.app.request("/runs")).text();
      assert.match(page, new RegExp(again.runId));
      const board = await (await web.app.request("/leaderboard")).text();
      assert.match(board, /A steady day, on a rig/);
    } finally {
      await web.close();
    }

    const never = await storeSession(store, "20261202-110000-abcdef", [[
      0,
      "tank1",
    ]]);
    await assert.rejects(
      scoreRigSession(store, never, { rig: "rig1" }),
      /rig1 was never under its own control in run/,
    );
    await assert.rejects(
      scoreRigSession(store, never, { rig: "tank1" }),
      /tank1 is one of the simulator's own tanks .* not a rig/,
    );
  } finally {
    await store.close();
  }
});
