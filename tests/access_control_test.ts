/**
 * Access control in lockstep runs, attacked the way a clever student would: fake readings (live, retained and as a
 * last will), a widened range, another tank's heater, a subscription to everything, and a stolen client id. Each is
 * refused, recorded and reported in the grade, and the run itself carries on.
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import type { MessageRecord, TruthSample } from "../store/mod.ts";
import { withGrading } from "./_grading.ts";

const CHEAT =
  `"${Deno.execPath()}" run --allow-net --allow-env tests/fixtures/controllers/cheat.ts`;
const decoder = new TextDecoder();

Deno.test("a cheating controller cannot fake readings, widen its range, reach another tank or read everything", async () => {
  await withGrading(async ({ store, broker, grade: run }) => {
    const grade = await run(CHEAT, { student: "mallory" });
    assert.equal(grade.outcome, "completed", "the run carried on");
    const records: MessageRecord[] = [];
    for await (const r of store.messages(grade.runId)) records.push(r);
    const refused = records.filter((r) => r.kind === "rejected");
    const refusedOn = (topic: string, why: RegExp) =>
      refused.filter((r) => r.topic === topic && why.test(r.note ?? ""));

    assert.ok(
      refusedOn(
        "fishtank/tank1/sensors/all",
        /access denied: only the simulator publishes the tank's readings/,
      ).length > 10,
    );
    assert.ok(
      refusedOn("fishtank/tank1/sensors/temperature", /readings/).length > 10,
    );
    assert.ok(
      refusedOn(
        "fishtank/tank1/ranges/temperature",
        /set by the scenario or the teacher/,
      )
        .length > 10,
    );
    assert.ok(
      refusedOn("fishtank/tank2/control/heater", /outside this tank's topics/)
        .length >
        10,
    );
    assert.equal(refusedOn("#", /subscription to "#" refused/).length, 1);
    assert.equal(
      refusedOn("fishtank/+/sensors/all", /reaches beyond this tank/).length,
      1,
    );

    // Only the simulator's readings were ever published, and the controller never saw a fake one come back.
    const readings = records.filter((r) =>
      r.kind === "publish" && r.topic.includes("/sensors/")
    );
    assert.ok(readings.length > 0);
    assert.ok(readings.every((r) => r.client === "$harness"));
    const output = records.filter((r) => r.kind === "output")
      .map((r) => r.note ?? decoder.decode(r.payload)).join("\n");
    assert.match(output, /cheat.ts: refused: Subscribe error/);
    assert.doesNotMatch(output, /saw fake/);

    // The range in force stayed the scenario's, and the controller's own commands still worked.
    const truth = records.filter((r) => r.kind === "truth")
      .map((r) => JSON.parse(decoder.decode(r.payload)) as TruthSample);
    const scenarioRange = truth[0]?.ranges?.temperature;
    assert.ok(scenarioRange && scenarioRange.max !== 100);
    assert.ok(
      truth.every((s) => s.ranges?.temperature?.max === scenarioRange.max),
    );
    assert.ok(
      records.some((r) =>
        r.kind === "publish" && r.topic === "fishtank/tank1/control/heater" &&
        r.client.startsWith("controller-")
      ),
    );

    // Its last will (a fake reading, retained) was dropped too: nothing fake is retained on the broker.
    const late = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const retained: string[] = [];
    late.on("message", (_topic, payload) => retained.push(String(payload)));
    await late.subscribeAsync("fishtank/tank1/#");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await late.endAsync();
    assert.ok(!retained.some((text) => text.includes('"fake":true')));

    // The grade says so.
    assert.ok(
      grade.kpis.hygiene.rejected > 40,
      `${grade.kpis.hygiene.rejected}`,
    );
    assert.ok(
      grade.advice.some((line) => /access denied/.test(line)),
      grade.advice.join("\n"),
    );
  });
});

Deno.test("a connected client's id cannot be taken over, and $ ids are refused", async () => {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  new LockstepHarness(broker, bus);
  const first = await mqtt.connectAsync(broker.url, {
    clientId: "student-1",
    reconnectPeriod: 0,
  });
  try {
    for (const clientId of ["student-1", "$harness"]) {
      await assert.rejects(
        mqtt.connectAsync(broker.url, { clientId, reconnectPeriod: 0 }),
        /Identifier rejected/,
        clientId,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(first.connected, "the first client kept its connection");
  } finally {
    await first.endAsync();
    await bus.close();
    await broker.close();
  }
});

Deno.test("a controller holds at most 8 connections in a run; the others are closed and recorded", async () => {
  await withGrading(async ({ store, grade: run }) => {
    const grade = await run("tests/fixtures/hostile/many.ts");
    assert.equal(grade.outcome, "completed");
    const records: MessageRecord[] = [];
    for await (const r of store.messages(grade.runId)) records.push(r);
    assert.equal(records.filter((r) => r.kind === "connect").length, 8);
    assert.equal(
      records.filter((r) =>
        r.kind === "rejected" &&
        r.note === "connection refused: already 8 connections in this run"
      ).length,
      12,
    );
  });
});
