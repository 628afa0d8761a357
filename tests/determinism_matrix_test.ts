/**
 * The determinism matrix: thermostats written the way students write them (publish only on a change, QoS 0, no ack),
 * each graded three times on cold-room and heater-failure while two busy processes keep both cores loaded. Each run
 * must be synchronised exactly (the client library's reports, PUBACKs, or for a shell pipeline its processes going
 * idle with the readings read: never a wall-clock window), give byte-identical recorded traffic
 * and the same score, and none may be called unresponsive.
 */

import assert from "node:assert/strict";
import {
  hasCommand,
  hasNodeRed,
  hasPaho,
  hasPaho2,
  ignoreWithout,
  NODE_RED_DIR,
  PAHO2_PYTHON,
} from "./_peers.ts";
import { recordedTraffic, withGrading } from "./_grading.ts";
import { gradeStoredRun } from "../harness/grading/mod.ts";
import type { MessageRecord } from "../store/mod.ts";

const STUDENTS = "tests/fixtures/students";
/** Keeps one core busy until stopped (bounded: it ends by itself after `seconds`). */
function busyLoop(seconds: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end) {}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

const MATRIX: {
  label: string;
  controller: string;
  ignore: boolean;
  /** How the steps must have been synchronised. */
  sync: "library" | "puback" | "process";
  /** Scenarios graded three times each, when not cold-room and heater-failure. */
  scenarios?: string[];
}[] = [
  {
    label: "paho 1.6, loop_forever",
    controller: `/usr/bin/python3 ${STUDENTS}/thermostat_paho_forever.py`,
    ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
    sync: "library",
  },
  {
    label: "paho 1.6, loop_start",
    controller: `/usr/bin/python3 ${STUDENTS}/thermostat_paho_loop_start.py`,
    ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
    sync: "library",
  },
  {
    label: "paho 2.x, loop_forever",
    controller: `${PAHO2_PYTHON} ${STUDENTS}/thermostat_paho_forever.py`,
    ignore: ignoreWithout(
      hasPaho2(),
      `paho-mqtt 2 at ${PAHO2_PYTHON} (FISHTANK_PAHO2_PYTHON)`,
    ),
    sync: "library",
  },
  {
    label: "paho 2.x, MQTT 5, loop_forever",
    controller: `MQTT=5 ${PAHO2_PYTHON} ${STUDENTS}/thermostat_paho_forever.py`,
    ignore: ignoreWithout(
      hasPaho2(),
      `paho-mqtt 2 at ${PAHO2_PYTHON} (FISHTANK_PAHO2_PYTHON)`,
    ),
    sync: "library",
  },
  {
    label: "mqtt.js in TypeScript",
    controller: `${STUDENTS}/thermostat_mqttjs.ts`,
    ignore: false,
    sync: "library",
  },
  {
    label: "Node-RED 4 flow",
    controller: `NODE_RED_DIR=${NODE_RED_DIR} bash examples/node-red/run.sh`,
    ignore: ignoreWithout(
      hasNodeRed(),
      `Node-RED 4 in ${NODE_RED_DIR} (FISHTANK_NODE_RED_DIR)`,
    ),
    sync: "library",
  },
  {
    // python -I ignores PYTHONPATH, so no preload: the QoS 1 subscription's PUBACKs are the barrier.
    label: "paho 1.6 without the preload, QoS 1",
    controller:
      `QOS=1 /usr/bin/python3 -I ${STUDENTS}/thermostat_paho_forever.py`,
    ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
    sync: "puback",
  },
  {
    // No client library the harness can see into: its processes going idle with the readings read are the barrier.
    label: "mosquitto_sub | awk | mosquitto_pub -l",
    controller: `sh ${STUDENTS}/thermostat_pipeline_awk.sh`,
    ignore: ignoreWithout(
      hasCommand("mosquitto_sub", ["--help"]),
      "mosquitto-clients",
    ),
    sync: "process",
  },
  {
    // One mosquitto_pub process per change, and an awk process per reading (about 6 ms each on a small VM): a whole
    // day takes minutes, so a half hour is graded.
    label: "mosquitto_sub | while read … mosquitto_pub",
    controller: `bash ${STUDENTS}/thermostat_pipeline.sh`,
    ignore: ignoreWithout(
      hasCommand("mosquitto_sub", ["--help"]),
      "mosquitto-clients",
    ),
    sync: "process",
    scenarios: ["tests/fixtures/scenarios/cool-half-hour.yaml"],
  },
];

for (
  const {
    label,
    controller,
    ignore,
    sync,
    scenarios = ["cold-room", "heater-failure"],
  } of MATRIX
) {
  Deno.test({
    name:
      `a publish-on-change thermostat (${label}) is synchronised by ${sync}: three runs each of ${
        scenarios.map((s) => s.replace(/^.*\/|\.yaml$/g, "")).join(" and ")
      } on busy cores give identical traffic and scores`,
    ignore,
    async fn() {
      const busy = [busyLoop(600), busyLoop(600)];
      try {
        await withGrading(async ({ store, grade }) => {
          for (const scenario of scenarios) {
            const runs = [];
            for (let i = 0; i < 3; i++) {
              runs.push(await grade(controller, { scenario }));
            }
            const texts: string[] = [];
            for (const run of runs) {
              const meta = (await store.getRun(run.runId))!;
              assert.equal(
                meta.outcome,
                "completed",
                `${scenario}: ${meta.outcomeMessage}`,
              );
              assert.equal(
                meta.ackMode,
                sync,
                `${scenario}: synchronised by ${meta.ackMode}`,
              );
              assert.equal(meta.stats.timedOutSteps, 0);
              assert.equal(meta.stats.lateCommands, 0);
              const records: MessageRecord[] = [];
              for await (const r of store.messages(run.runId)) records.push(r);
              assert.ok(
                records.some((r) =>
                  r.kind === "publish" && r.topic.endsWith("/control/heater")
                ),
                `${scenario}: the thermostat never switched the heater`,
              );
              assert.ok(
                !records.some((r) => r.topic.startsWith("$fishtank")),
                "a handled report was recorded",
              );
              texts.push(recordedTraffic(records));
            }
            assert.equal(
              texts[1],
              texts[0],
              `${scenario}: traffic of runs 1 and 2 differs`,
            );
            assert.equal(
              texts[2],
              texts[0],
              `${scenario}: traffic of runs 1 and 3 differs`,
            );
            // The grade each run returned is the grade of its stored records (not of a part of them).
            for (const run of runs) {
              assert.deepEqual(
                (await gradeStoredRun(store, run.runId)).components,
                run.components,
                `${scenario}: run ${run.runId} graded again from its records differs from its grade`,
              );
            }
            for (const run of runs.slice(1)) {
              assert.deepEqual(
                { components: run.components, advice: run.advice },
                { components: runs[0]!.components, advice: runs[0]!.advice },
                `${scenario}: the grades differ`,
              );
            }
            assert.deepEqual(runs.map((r) => r.score), [
              runs[0]!.score,
              runs[0]!.score,
              runs[0]!.score,
            ]);
          }
        });
      } finally {
        for (const p of busy) {
          try {
            p.kill("SIGKILL");
          } catch { /* already ended */ }
          await p.status;
        }
      }
    },
  });
}

Deno.test("a controller that reads every reading and never publishes is not unresponsive: quiet is an answer", async () => {
  await withGrading(async ({ store, grade }) => {
    const run = await grade("tests/fixtures/controllers/quiet.ts");
    const meta = (await store.getRun(run.runId))!;
    assert.equal(meta.outcome, "completed", meta.outcomeMessage ?? "");
    assert.equal(meta.ackMode, "library");
    assert.equal(meta.stats.timedOutSteps, 0);
  });
});

Deno.test({
  name:
    "a paho handler that sleeps for an hour, a controller that leaves the broker, a pipeline that sleeps and one that spins are found unresponsive within a few simulated minutes; the tank runs on to the end",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    await withGrading(async ({ store, grade }) => {
      for (
        const [controller, message] of [
          [
            "/usr/bin/python3 tests/fixtures/controllers/sleepy.py",
            /handler has not returned for 3 steps of 5 s/,
          ],
          [
            "tests/fixtures/controllers/leaves.ts",
            /disconnected at simulated \d+ s and did not connect again/,
          ],
          [
            "sh tests/fixtures/controllers/sleepy_pipeline.sh",
            /processes did not go idle .*sleep is asleep on a timer/,
          ],
          [
            "sh tests/fixtures/controllers/spinning_pipeline.sh",
            /processes did not go idle .*sh is running/,
          ],
        ] as const
      ) {
        const run = await grade(controller);
        const meta = (await store.getRun(run.runId))!;
        assert.equal(meta.outcome, "unresponsive", meta.outcomeMessage ?? "");
        assert.match(meta.outcomeMessage ?? "", message);
        assert.equal(meta.simulated, 6 * 3600, "the tank ran on to the end");
        // Quickly, counted in simulated time: the sleeper stalls at t = 40 s and is given up three steps later; the
        // leaver goes at t = 190 s and is given up 50 steps later. Not at the wall-clock limit.
        let verdictAt = Infinity;
        for await (const r of store.messages(run.runId, { kinds: ["note"] })) {
          if (
            r.topic === "$note" &&
            /unresponsive|not returned|did not connect|did not go idle/.test(
              new TextDecoder().decode(r.payload),
            )
          ) {
            verdictAt = Math.min(verdictAt, r.t);
          }
        }
        assert.ok(
          verdictAt <= 800,
          `${controller}: given up at simulated ${verdictAt} s`,
        );
      }
    });
  },
});
