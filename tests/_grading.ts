/**
 * A lockstep grading setup for end-to-end tests: an embedded broker, the harness and a store, and a `grade` function
 * that runs one scenario against one controller as `deno task grade` does.
 *
 * @module
 */

import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import { gradeScenario } from "../harness/grading/mod.ts";
import { type MessageRecord, RunStore } from "../store/mod.ts";
import { loadScenario } from "../scenarios/mod.ts";
import type { RunGrade } from "../grader/mod.ts";

/** The short scenario most end-to-end tests play: six simulated hours. */
export const SHORT_DAY = "tests/fixtures/scenarios/short-day.yaml";

/** What {@linkcode withGrading} hands its callback. */
export interface Grading {
  store: RunStore;
  broker: EmbeddedBroker;
  /** Grades `controller` on `scenario` (default the short day) as tank `tank` (default tank1). */
  grade(
    controller: string,
    options?: { student?: string; tank?: string; scenario?: string },
  ): Promise<RunGrade>;
}

/** Runs `fn` with a broker, a harness and a store (`store` if given, else in memory), all closed afterwards. */
export async function withGrading<T>(
  fn: (grading: Grading) => Promise<T>,
  options: { store?: RunStore } = {},
): Promise<T> {
  const store = options.store ?? await RunStore.open(":memory:");
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const harness = new LockstepHarness(broker, bus);
  try {
    return await fn({
      store,
      broker,
      grade: async (controller, run = {}) =>
        await gradeScenario({
          options: { stepTimeoutMs: 100, connectTimeoutMs: 10_000 },
          store,
          harness,
          scenario: await loadScenario(run.scenario ?? SHORT_DAY),
          student: run.student ?? "test",
          tank: run.tank ?? "tank1",
          controller,
        }),
    });
  } finally {
    await bus.close();
    await broker.close();
    await store.close();
  }
}

/** The recorded traffic without the fields that may differ between identical runs (wall clock, run id, raw ids). */
export function recordedTraffic(records: MessageRecord[]): string {
  return records
    .filter((r) => r.kind !== "output")
    .map((r) =>
      [
        r.seq,
        r.t,
        r.kind,
        r.client,
        r.topic,
        r.qos,
        r.retain,
        r.kind === "connect" ? "" : r.note ?? "",
        new TextDecoder().decode(r.payload),
      ].join("\t")
    )
    .join("\n");
}
