/**
 * Lockstep speed: a 24-hour scenario (8,640 steps at a 10 s control period) graded against the TypeScript and the
 * Python example controllers, recording into a Deno KV file, as `deno task grade` does.
 *
 * @module
 */

import { join } from "node:path";
import { loadScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { gradeScenario } from "../harness/grading/mod.ts";
import { RunStore } from "../store/mod.ts";

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
}

const CONTROLLERS = {
  "TypeScript example (mqtt.js, Deno)":
    `"${Deno.execPath()}" run --allow-net --allow-env examples/thermostat.ts`,
  "Python example (paho 1.6)": "/usr/bin/python3 examples/thermostat.py",
};

/** Grades `steady-day` (24 h) once per example controller and reports steps per second. */
export async function benchLockstep(): Promise<LockstepSpeed[]> {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-bench-" });
  const store = await RunStore.open(join(dir, "bench.kv"));
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const scenario = await loadScenario("steady-day");
  const results: LockstepSpeed[] = [];
  try {
    for (const [name, controller] of Object.entries(CONTROLLERS)) {
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

if (import.meta.main) console.log(await benchLockstep());
