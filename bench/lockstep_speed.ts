/**
 * Lockstep speed: `cold-room` (24 h, 8,640 steps at a 10 s control period) graded against the example controllers and
 * the determinism matrix's student thermostats (paho 1.6 and 2.x, mqtt.js, Node-RED, two shell pipelines), recording
 * into a Deno KV file, as `deno task grade` does. Controllers whose toolchain is missing are left out.
 *
 * @module
 */

import { join } from "node:path";
import { loadScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { gradeScenario } from "../harness/grading/mod.ts";
import { RunStore } from "../store/mod.ts";
import {
  hasCommand,
  hasNodeRed,
  hasPaho2,
  NODE_RED_DIR,
  PAHO2_PYTHON,
} from "../tests/_peers.ts";

/** One controller's figures. */
export interface LockstepSpeed {
  controller: string;
  steps: number;
  /** Wall seconds for the whole 24-hour run, the controller's start-up included. */
  wallSeconds: number;
  stepsPerSecond: number;
  /** Steps per second from the first step to the last (start-up left out). */
  loopStepsPerSecond: number;
  outcome: string;
  /** How the steps were synchronised (library, puback, explicit, timeout). */
  sync: string;
  /** The scenario played, when not cold-room (a shorter one for a time-window controller). */
  scenario: string;
}

const STUDENTS = "tests/fixtures/students";
/** The controllers measured: [name, command, scenario]; those whose toolchain is missing are left out. */
function controllers(): [string, string, string][] {
  const mosquitto = hasCommand("mosquitto_sub", ["--help"]);
  const list: [string, string, string, boolean][] = [
    [
      "TypeScript example (mqtt.js, Deno, acks)",
      `"${Deno.execPath()}" run --allow-net --allow-env examples/thermostat.ts`,
      "cold-room",
      true,
    ],
    [
      "Python example (paho 1.6, acks)",
      "/usr/bin/python3 examples/thermostat.py",
      "cold-room",
      true,
    ],
    [
      "student: paho 1.6, loop_forever",
      `/usr/bin/python3 ${STUDENTS}/thermostat_paho_forever.py`,
      "cold-room",
      true,
    ],
    [
      "student: paho 1.6, loop_start",
      `/usr/bin/python3 ${STUDENTS}/thermostat_paho_loop_start.py`,
      "cold-room",
      true,
    ],
    [
      "student: paho 2.1, loop_forever",
      `${PAHO2_PYTHON} ${STUDENTS}/thermostat_paho_forever.py`,
      "cold-room",
      hasPaho2(),
    ],
    [
      "student: mqtt.js in TypeScript",
      `${STUDENTS}/thermostat_mqttjs.ts`,
      "cold-room",
      true,
    ],
    [
      "student: Node-RED 4 flow",
      `NODE_RED_DIR=${NODE_RED_DIR} bash examples/node-red/run.sh`,
      "cold-room",
      hasNodeRed(),
    ],
    [
      "student: paho 1.6 without preload, QoS 1",
      `QOS=1 /usr/bin/python3 -I ${STUDENTS}/thermostat_paho_forever.py`,
      "cold-room",
      true,
    ],
    [
      "student: mosquitto_sub | awk | mosquitto_pub -l",
      `sh ${STUDENTS}/thermostat_pipeline_awk.sh`,
      "cold-room",
      mosquitto,
    ],
    [
      "student: mosquitto_sub | while read (awk per reading)",
      `bash ${STUDENTS}/thermostat_pipeline.sh`,
      "cold-room",
      mosquitto,
    ],
  ];
  return list.filter(([, , , ok]) => ok).map(([a, b, c]) => [a, b, c]);
}

/** Grades `cold-room` (24 h) once per controller (a time-window one on a half hour) and reports steps per second. */
export async function benchLockstep(): Promise<LockstepSpeed[]> {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-bench-" });
  const store = await RunStore.open(join(dir, "bench.kv"));
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const results: LockstepSpeed[] = [];
  try {
    for (const [name, controller, scenarioId] of controllers()) {
      const scenario = await loadScenario(scenarioId);
      const started = performance.now();
      const grade = await gradeScenario({
        options: { stepTimeoutMs: 100, connectTimeoutMs: 10_000 },
        store,
        harness,
        scenario,
        student: "bench",
        tank: "tank1",
        controller,
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const meta = await store.getRun(grade.runId);
      const steps = meta?.stats.steps ?? 0;
      const loopSeconds = meta?.stats.loopSeconds ?? wallSeconds;
      results.push({
        controller: name,
        steps,
        wallSeconds,
        stepsPerSecond: steps / wallSeconds,
        loopStepsPerSecond: steps / loopSeconds,
        outcome: grade.outcome,
        sync: meta?.ackMode ?? "none",
        scenario: scenario.id,
      });
    }
  } finally {
    await bus.close();
    await broker.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

/**
 * The bash pipeline's own floor: wall milliseconds of one `NEW=$(awk …)` in bash (a fork and an exec, as its loop
 * runs for every reading), from `count` in a row.
 */
export function benchAwkPerReading(count = 300): number {
  const started = performance.now();
  new Deno.Command("bash", {
    args: [
      "-c",
      `for i in $(seq ${count}); do NEW=$(awk -v t=25 'BEGIN { print (t < 24.5) ? "on" : "off" }'); done`,
    ],
    stdout: "null",
  }).outputSync();
  return (performance.now() - started) / count;
}

if (import.meta.main) console.log(await benchLockstep());
