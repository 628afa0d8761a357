/**
 * Real runs for the web tests: the short scenario played in lockstep by example controllers on an embedded broker,
 * stored in an in-memory store.
 *
 * @module
 */

import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { gradeScenario } from "../harness/grading/mod.ts";
import { RunStore } from "../store/mod.ts";
import { loadScenario } from "../scenarios/mod.ts";
import type { RunGrade } from "../grader/mod.ts";

const DENO = `"${Deno.execPath()}"`;
/** The example thermostat (scores well). */
export const THERMOSTAT =
  `${DENO} run --allow-net --allow-env examples/thermostat.ts`;
/** The starter controller (scores badly, on purpose). */
export const STARTER =
  `${DENO} run --allow-net --allow-env examples/starter.ts`;
/** Answers three readings, then crashes (exit code 1): a run that ends `crashed`. */
export const CRASH =
  `${DENO} run --allow-net --allow-env tests/fixtures/controllers/crash.ts`;
/** Keeps the heater on and answers every reading: a run that completes, and fails. */
export const ALWAYS_HEATING =
  `${DENO} run --allow-net --allow-env tests/fixtures/controllers/heater_on.ts`;
/** Never connects: a run that ends `no_connect` (give it a short `connectTimeoutMs`). */
export const SILENT =
  `${DENO} run --allow-net --allow-env tests/fixtures/controllers/silent.ts`;
/** Subscribes, sends one command and exits with code 0: a run that ended early, not a crash. */
export const FORGOT_LOOP =
  `${DENO} run --allow-net --allow-env tests/fixtures/controllers/forgot_loop.ts`;
/** Six simulated hours. */
export const SHORT_DAY = "tests/fixtures/scenarios/short-day.yaml";

/** An in-memory store with one run per `{student, controller}`, in order; `close()` ends everything. */
export async function storeWithRuns(
  runs: readonly {
    student: string;
    controller: string;
    group?: string;
    /** How long to wait for the controller to connect (10 s). */
    connectTimeoutMs?: number;
  }[],
  scenarioPath: string = SHORT_DAY,
): Promise<{ store: RunStore; grades: RunGrade[]; close(): Promise<void> }> {
  const store = await RunStore.open(":memory:");
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  const grades: RunGrade[] = [];
  try {
    const scenario = await loadScenario(scenarioPath);
    for (const run of runs) {
      grades.push(
        await gradeScenario({
          options: {
            stepTimeoutMs: 100,
            connectTimeoutMs: run.connectTimeoutMs ?? 10_000,
            ...(run.group !== undefined ? { group: run.group } : {}),
          },
          store,
          harness,
          scenario,
          student: run.student,
          tank: "tank1",
          controller: run.controller,
        }),
      );
    }
  } finally {
    await bus.close();
    await broker.close();
  }
  return { store, grades, close: () => store.close() };
}
