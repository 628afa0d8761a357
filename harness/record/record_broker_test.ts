import assert from "node:assert/strict";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../broker/mod.ts";
import { type MessageRecord, RunStore } from "../../store/mod.ts";
import { recordBroker } from "./record_broker.ts";

const decoder = new TextDecoder();

Deno.test("recordBroker keeps one clock: a rig's own t (declared, or a status saying rig) never moves the recording's simulated time", async () => {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const store = await RunStore.open(":memory:");
  const stop = new AbortController();
  let seen = 0;
  let started!: (runId: string) => void;
  const runIdReady = new Promise<string>((resolve) => started = resolve);
  const recording = recordBroker(store, {
    broker: broker.url,
    root: "fishtank",
    tank: null,
    db: ":memory:",
    rigs: ["rig1"],
  }, {
    signal: stop.signal,
    onStart: (runId) => started(runId),
    onProgress: (p) => seen = p.messages,
  });
  const client = await mqtt.connectAsync(broker.url, {
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  try {
    const runId = await runIdReady;
    // The recorder subscribes after the run exists: wait until it hears a first message.
    const deadline = performance.now() + 20_000;
    let sent = 0;
    while (seen === 0) {
      assert.ok(performance.now() < deadline, "the recorder heard nothing");
      await client.publishAsync("fishtank/tank1/clock", '{"t":100}', {
        qos: 1,
      });
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sends: [string, string][] = [
      ["fishtank/rig1/clock", '{"t":5000}'],
      ["fishtank/rig1/sensors/all", '{"t":7,"temperature":24.9}'],
      ["fishtank/rig2/status", '{"state":"online","rig":true}'],
      ["fishtank/rig2/clock", '{"t":9999}'],
      ["fishtank/tank1/sensors/all", '{"t":110,"temperature":25}'],
      ["fishtank/rig1/sensors/all", '{"t":3,"temperature":24.8}'],
      ["fishtank/tank1/status", '{"state":"done"}'],
    ];
    for (const [topic, text] of sends) {
      await client.publishAsync(topic, text, { qos: 1 });
    }
    // One connection, QoS 1: the last message heard means every one before it was.
    while (seen < sent + sends.length) {
      assert.ok(
        performance.now() < deadline,
        `the recorder heard ${seen} messages`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stop.abort();
    await recording;
    const records: MessageRecord[] = [];
    for await (const record of store.messages(runId)) records.push(record);
    const publishes = records.filter((r) => r.kind === "publish").map((r) => ({
      topic: r.topic,
      t: r.t,
      text: decoder.decode(r.payload),
    }));
    const tail = publishes.slice(-sends.length);
    assert.deepEqual(
      tail.map((p) => [p.topic, p.t]),
      [
        ["fishtank/rig1/clock", 100],
        ["fishtank/rig1/sensors/all", 100],
        ["fishtank/rig2/status", 100],
        ["fishtank/rig2/clock", 100],
        ["fishtank/tank1/sensors/all", 110],
        ["fishtank/rig1/sensors/all", 110],
        ["fishtank/tank1/status", 110],
      ],
      "the simulation's time only",
    );
    assert.equal(tail[1]!.text, '{"t":7,"temperature":24.9}', "stored as sent");
    const notes = records.filter((r) => r.kind === "note").map((r) => r.note);
    assert.ok(notes.some((n) => /rigs rig1: outside tanks/.test(n ?? "")));
    assert.ok(notes.some((n) => /rig2 says it is a rig/.test(n ?? "")));
    assert.equal((await store.getRun(runId))?.simulated, 10);
  } finally {
    stop.abort();
    await recording.catch(() => {});
    await client.endAsync(true);
    await store.close();
    await broker.close();
  }
});
