/**
 * How fast a run's messages go into the data store: realistic lockstep traffic (per simulated step the six readings,
 * `sensors/all` JSON of ~200 bytes, the clock, a ~400-byte truth sample, a command and an ack) appended through
 * `RunStore.recorder` to a Deno KV file in a temp folder, the final flush included. Run directly with
 * `deno run -A bench/kv_record.ts [messages]`.
 *
 * @module
 */

import {
  emptyRunStats,
  type MessageRecord,
  type RunMeta,
  RunStore,
} from "../store/mod.ts";

/** Options for {@linkcode benchKvRecording}. */
export interface BenchKvRecordingOptions {
  /** Messages to record; default 500 000. */
  messages?: number;
}

/** Result of {@linkcode benchKvRecording}. */
export interface KvRecordingRate {
  messagesPerSecond: number;
  /** Payload bytes per second. */
  bytesPerSecond: number;
}

type Input = Omit<MessageRecord, "runId" | "seq">;

const STEP = 10;
const SENSORS = [
  "temperature",
  "room_temperature",
  "ph",
  "oxygen",
  "light",
  "level",
];
/** Distinct steps whose payloads are prepared up front, so the figure is the store's and not JSON.stringify's. */
const PREPARED_STEPS = 256;

/** The messages of one simulated step, as the lockstep harness records them. */
function stepRecords(step: number): Input[] {
  const encoder = new TextEncoder();
  const t = step * STEP;
  const values = {
    temperature: 24.5 + Math.sin(step / 50) / 2,
    room_temperature: 20.1 + Math.sin(step / 400),
    ph: 7.62 + (step % 7) / 100,
    oxygen: 7.9 + (step % 5) / 20,
    light: step % 8640 < 4000 ? 312 : 0,
    level: 31.4 - (step % 100) / 100,
  };
  const time = new Date(Date.UTC(2026, 0, 15, 6) + t * 1000).toISOString();
  const base = { t, wall: 0, qos: 0 as const, retain: false };
  const records: Input[] = SENSORS.map((name) => ({
    ...base,
    kind: "publish",
    client: "$harness",
    topic: `fishtank/tank1/sensors/${name}`,
    payload: encoder.encode(
      String(Math.round(values[name as keyof typeof values] * 100) / 100),
    ),
    qos: 1,
    retain: true,
  }));
  records.push({
    ...base,
    kind: "publish",
    client: "$harness",
    topic: "fishtank/tank1/sensors/all",
    payload: encoder.encode(JSON.stringify({ time, t, ...values })),
    qos: 1,
    retain: true,
  });
  records.push({
    ...base,
    kind: "publish",
    client: "$harness",
    topic: "fishtank/tank1/clock",
    payload: encoder.encode(JSON.stringify({ time, t, speed: 0 })),
  });
  records.push({
    ...base,
    kind: "truth",
    client: "$harness",
    topic: "$truth",
    payload: encoder.encode(JSON.stringify({
      t,
      values,
      inputs: { heater: 0.35, light: true, pump: true, topup: false },
      heaterEnergy: 1234567.8 + step,
      switches: { heater: step % 13, light: 2, pump: 1, topup: 0 },
      alarm: false,
      events: step % 500 < 50 ? ["heater_failure"] : [],
      ranges: {
        temperature: { min: 24, max: 26 },
        ph: { min: 7.2, max: 8.2 },
        oxygen: { min: 6 },
        level: { min: 30, max: 35 },
      },
    })),
  });
  records.push({
    ...base,
    kind: "publish",
    client: "controller-1",
    topic: "fishtank/tank1/control/heater",
    payload: encoder.encode(String(step % 3 === 0 ? 0 : 35)),
    qos: 1,
  });
  records.push({
    ...base,
    kind: "publish",
    client: "controller-1",
    topic: "fishtank/tank1/ack",
    payload: encoder.encode(String(t)),
  });
  return records;
}

function benchMeta(runId: string): RunMeta {
  return {
    runId,
    scenario: {
      id: "bench",
      version: 1,
      title: "Recording benchmark",
      hash: "",
      source: "",
    },
    seed: 1,
    simulatorVersion: "bench",
    controller: { command: null, exitCode: null, signal: null },
    student: "bench",
    tank: "tank1",
    root: "fishtank",
    mode: "lockstep",
    ackMode: "explicit",
    startedAt: new Date().toISOString(),
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
  };
}

/** Records `messages` realistic messages into a temp file store; messages and payload bytes per wall second. */
export async function benchKvRecording(
  options: BenchKvRecordingOptions = {},
): Promise<KvRecordingRate> {
  const total = options.messages ?? 500_000;
  const prepared = Array.from(
    { length: PREPARED_STEPS },
    (_, i) => stepRecords(i),
  )
    .flat();
  const dir = await Deno.makeTempDir({ prefix: "fishtank-bench-kv-" });
  const store = await RunStore.open(`${dir}/bench.kv`);
  try {
    await store.createRun(benchMeta("bench"));
    const start = performance.now();
    const recorder = store.recorder("bench");
    let bytes = 0;
    for (let i = 0; i < total; i++) {
      const record = prepared[i % prepared.length]!;
      record.wall = Date.now();
      recorder.append(record);
      bytes += record.payload.length;
      // What a producer does when the store falls behind.
      if (recorder.overloaded) await recorder.flush();
    }
    await recorder.close();
    const seconds = (performance.now() - start) / 1000;
    if (await store.countMessages("bench") !== total) {
      throw new Error("benchKvRecording: not every message was stored");
    }
    await store.finishRun("bench", { outcome: "completed" });
    return {
      messagesPerSecond: total / seconds,
      bytesPerSecond: bytes / seconds,
    };
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const messages = Deno.args[0] === undefined
    ? undefined
    : Number(Deno.args[0]);
  const rate = await benchKvRecording(
    messages === undefined ? {} : { messages },
  );
  console.log(
    `Recording into Deno KV (file): ${
      Math.round(rate.messagesPerSecond).toLocaleString("en-US")
    } messages/s, ${(rate.bytesPerSecond / 1e6).toFixed(1)} MB/s of payload`,
  );
}
