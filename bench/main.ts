/**
 * `deno task bench`: the simulator's speed and the live mode's accuracy, measured in one run on this machine.
 * `--quick` shortens the live measurement from a wall minute to ten seconds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";
import pc from "picocolors";
import { benchSimSpeed } from "./sim_speed.ts";
import { benchLiveDrift } from "./live_drift.ts";
import { benchAwkPerReading, benchLockstep } from "./lockstep_speed.ts";
import { benchRoundTrip } from "./round_trip.ts";
import { benchKvRecording } from "./kv_record.ts";
import { benchWeb } from "./web_speed.ts";
import { BENCH_WEB_LOAD, benchWebLoad } from "./web_load.ts";
import { benchClassStore } from "./class_store_scale.ts";
import { benchNatsCourse } from "./nats_course.ts";
import { benchClassRun } from "./class_run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`deno task bench [--quick]

Measures, on this machine, in one run:
  - the pure simulator's speed: simulated seconds per wall second, for one tank and for 30 tanks;
  - the live mode's accuracy at 60×: simulated-time drift over a wall minute (--quick: ten seconds);
  - lockstep grading of cold-room (24 h) with the examples and the student thermostats of the determinism matrix
    (paho 1.6/2.x, mqtt.js, Node-RED, two shell pipelines; steps per second and how each was synchronised),
    against the MQTT round-trip floor (an mqtt.js ping-pong client through the same embedded broker, in another
    process and in the harness's own) and, for the while-read pipeline, the cost of the awk it starts per reading;
  - Deno KV recording throughput (messages per second into a file store);
  - the web front end on a 24-hour run at 1 s resolution: server time of a run report and of the series API (first
    and repeated), and the time to the report's first drawn chart in headless Chromium;
  - live mode under a burst of 2,000 requests (100 at a time) at a running run's report and replay pages: the gap
    between the tank's readings (p99), the simulation process's peak memory, and how the requests were answered;
  - the class store: bytes per graded scenario-day in the Deno KV file, and the class server's leaderboard, console,
    a student's history and CSV export times at 10,000 stored runs (--quick: 2,000);
  - a class run: 200 submissions of the four example controllers through deno task serve's embedded queue and its
    worker pool (one worker per core): submissions graded per minute per core, the queue's overhead as a share of
    grading time, and the teacher console's response times meanwhile (--quick: 40 submissions).`);
  Deno.exit(0);
}

/** A table whose header is coloured only when colours are wanted. */
const table = (head: string[]) =>
  new Table({
    head,
    ...(Deno.env.get("NO_COLOR") ? { style: { head: [], border: [] } } : {}),
  });
const round = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits });

console.log(
  pc.bold("Pure simulator (sim/), one observe() every 10 simulated seconds"),
);
const speed = await benchSimSpeed();
const simTable = table(["tanks", "simulated s / wall s", "× real time"]);
simTable.push(["1", round(speed.oneTank), `${round(speed.oneTank)}×`]);
simTable.push([
  "30 (stepped together)",
  round(speed.thirtyTanks),
  `${round(speed.thirtyTanks)}×`,
]);
console.log(simTable.toString());

const wallSeconds = values.quick ? 10 : 60;
console.log(
  pc.bold(
    `\nLive mode at 60× for ${wallSeconds} wall seconds (embedded broker, one tank, one subscriber)`,
  ),
);
const drift = await benchLiveDrift({ wallSeconds, speed: 60 });
const liveTable = table(["figure", "value"]);
liveTable.push([
  "simulated / expected (60 × wall)",
  `${round(drift.simulatedSeconds, 1)} s / ${
    round(drift.expectedSeconds, 1)
  } s`,
]);
liveTable.push([
  "worst drift at the runner's ticks",
  `${round(drift.worstRunnerDrift, 2)} simulated s`,
]);
liveTable.push([
  "drift seen by a subscriber (mean / worst)",
  `${round(drift.meanSubscriberDrift, 2)} / ${
    round(drift.worstSubscriberDrift, 2)
  } simulated s`,
]);
liveTable.push(["clock messages received", round(drift.clockMessages)]);
console.log(liveTable.toString());

console.log(
  pc.bold(
    "\nLockstep grading of cold-room (24 h, 8,640 steps), recording into Deno KV",
  ),
);
// Two floors, each from 3,000 warm round trips (fewer gave figures that varied two-fold between runs): a ping-pong
// client in another Deno process, as every controller is, and one inside the harness's own process.
const floors = await benchRoundTrip({
  only: ["floor", "mqtt.js in Deno, QoS 0, with"],
  commands: 1,
  steps: 3000,
});
const floor =
  floors["mqtt.js in Deno, QoS 0, with the harness's nodelay.cjs"] ?? NaN;
const inProcessFloor =
  floors["floor: mqtt.js in the harness's process, setNoDelay(true)"] ?? NaN;
const lockstep = await benchLockstep();
const lockTable = table([
  "controller",
  "synchronised by",
  "steps / s (whole run)",
  "steps / s (steps only)",
  "of the floor (steps only)",
  "a 24 h day (wall)",
  "outcome",
]);
for (const r of lockstep) {
  // A controller measured on a shorter scenario: the day it would take at the same pace.
  const day = r.scenario === "cold-room"
    ? `${round(r.wallSeconds, 1)} s`
    : `≈ ${round(8640 / r.loopStepsPerSecond)} s (from ${r.steps} steps)`;
  lockTable.push([
    r.controller,
    r.sync,
    round(r.stepsPerSecond),
    round(r.loopStepsPerSecond),
    `${round((100 * r.loopStepsPerSecond) / floor)} %`,
    day,
    r.outcome,
  ]);
}
lockTable.push([
  "floor: ping-pong client in another process, same broker",
  "",
  round(floor),
  round(floor),
  "100 %",
  "",
  "",
]);
lockTable.push([
  "ping-pong client in the harness's own process",
  "",
  round(inProcessFloor),
  round(inProcessFloor),
  `${round((100 * inProcessFloor) / floor)} %`,
  "",
  "",
]);
const awkMs = benchAwkPerReading();
lockTable.push([
  "floor of the while-read pipeline: one NEW=$(awk …) in bash per reading",
  "",
  round(1000 / awkMs),
  round(1000 / awkMs),
  `${round((100 * 1000 / awkMs) / floor)} %`,
  `${round((8640 * awkMs) / 1000)} s`,
  "",
]);
console.log(lockTable.toString());

console.log(
  pc.bold(
    "\nDeno KV recording (temporary file store, realistic lockstep traffic)",
  ),
);
const kv = await benchKvRecording();
const kvTable = table(["figure", "value"]);
kvTable.push(["messages per second", round(kv.messagesPerSecond)]);
kvTable.push(["payload MB per second", round(kv.bytesPerSecond / 1e6, 1)]);
console.log(kvTable.toString());

console.log(
  pc.bold(
    "\nWeb front end on a 24-hour run at 1 s resolution (steady-day, TypeScript example, Deno KV file)",
  ),
);
const web = await benchWeb({ repeats: values.quick ? 3 : 5 });
const webTable = table(["figure", "first (nothing cached)", "repeated"]);
webTable.push([
  "GET /runs/:id (server time)",
  `${round(web.reportMs)} ms`,
  `${round(web.reportCachedMs)} ms`,
]);
webTable.push([
  "GET /api/runs/:id/series?points=1000",
  `${round(web.seriesMs)} ms`,
  `${round(web.seriesCachedMs)} ms`,
]);
webTable.push([
  "GET /api/runs/:id/series, one hour at 2,000 points",
  `${round(web.zoomMs)} ms`,
  "",
]);
webTable.push([
  "GET /runs/:id of a run without a stored digest",
  `${round(web.reportWithoutDigestMs)} ms`,
  "",
]);
webTable.push([
  "navigation start → first drawn chart (Chromium)",
  Number.isNaN(web.firstChartMs)
    ? "no Chromium"
    : `${round(web.firstChartMs)} ms`,
  Number.isNaN(web.firstChartCachedMs)
    ? ""
    : `${round(web.firstChartCachedMs)} ms`,
]);
webTable.push([
  "run measured",
  `${round(web.truthSamples)} truth samples, ${round(web.messages)} messages`,
  `graded in ${round(web.gradeSeconds, 1)} s`,
]);
console.log(webTable.toString());

console.log(
  pc.bold(
    `\ndeno task sim --web at ${BENCH_WEB_LOAD.speed}× (${BENCH_WEB_LOAD.tanks} tanks, recording): ${
      round(BENCH_WEB_LOAD.requests)
    } requests, ${BENCH_WEB_LOAD.concurrency} at a time, at the running run's report and replay`,
  ),
);
const load = await benchWebLoad();
const loadTable = table(["figure", "value"]);
loadTable.push([
  "gap between readings (p99 / worst)",
  `${round(load.p99GapMs)} / ${round(load.maxGapMs)} ms (period ${
    round(load.periodMs)
  } ms)`,
]);
loadTable.push([
  "tank time behind the wall clock (worst)",
  `${round(load.worstLagSeconds, 1)} simulated s`,
]);
loadTable.push([
  "process memory (RSS) before / peak",
  `${round(load.rssBeforeMb)} / ${round(load.peakRssMb)} MB`,
]);
loadTable.push([
  "answers",
  Object.entries(load.statuses).map(([status, n]) => `${round(n)} × ${status}`)
    .join(", ") + (load.timeouts > 0 ? `, ${load.timeouts} timed out` : ""),
]);
loadTable.push([
  "burst (wall) / run size",
  `${round(load.burstMs / 1000, 1)} s / ${round(load.recordsBefore)} records`,
]);
console.log(loadTable.toString());

console.log(
  pc.bold(
    `\nClass store: bytes per graded scenario-day, and the class server at ${
      values.quick ? "2,000" : "10,000"
    } stored runs (bench/class_store_scale.ts)`,
  ),
);
const scale = await benchClassStore({
  days: values.quick ? 2 : 4,
  runs: values.quick ? 2_000 : 10_000,
});
const scaleTable = table(["figure", "value"]);
scaleTable.push([
  `graded scenario-days (steady-day, 24 h, embedded pool)`,
  `${scale.days}: ${round(scale.bytesPerScenarioDay / 1e6, 1)} MB each (${
    round(scale.recordsPerDay)
  } records)`,
]);
scaleTable.push([
  `store file at ${round(scale.runs)} runs (${scale.students} students)`,
  `${round(scale.fileBytes / 1e6, 1)} MB (summaries, submissions, grades)`,
]);
for (const p of scale.pages) {
  scaleTable.push([
    `${p.name} (${p.path.split("/").slice(0, 5).join("/")})`,
    `first ${round(p.firstMs)} ms, then median ${round(p.medianMs)} ms`,
  ]);
}
console.log(scaleTable.toString());

const classRunSize = values.quick ? 40 : 200;
console.log(
  pc.bold(
    `\nClass run: ${classRunSize} submissions of the four example controllers through deno task serve's embedded queue (bench/class_run.ts)`,
  ),
);
const classRun = await benchClassRun({ submissions: classRunSize });
const classRunTable = table(["figure", "value"]);
classRunTable.push([
  "submissions graded per minute per core",
  `${
    round(classRun.submissionsPerMinutePerCore, 1)
  } (${classRun.graded} of ${classRun.submissions} by ${classRun.workers} workers on ${classRun.cores} cores in ${
    round(classRun.wallSeconds)
  } s; mean grading ${round(classRun.meanGradingSeconds, 1)} s)`,
]);
classRunTable.push([
  "queue overhead / grading time",
  `${round(100 * classRun.overheadShare, 1)} % (workers' time ${
    round(classRun.workerSeconds, 1)
  } s, grading ${round(classRun.gradingSeconds)} s)`,
]);
for (const p of classRun.console) {
  classRunTable.push([
    `${p.name}: p99 (p50, worst)`,
    `${round(p.p99)} ms (${round(p.p50)}, ${
      round(p.max)
    } ms; ${p.requests} requests)`,
  ]);
}
classRunTable.push([
  "load average (1 min): start / mean / end",
  `${round(classRun.load.start, 2)} / ${round(classRun.load.mean, 2)} / ${
    round(classRun.load.end, 2)
  }`,
]);
console.log(classRunTable.toString());

const natsServer = ["nats-server", "/usr/sbin/nats-server"].some((c) => {
  try {
    return new Deno.Command(c, { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
});
const courseSize = values.quick ? 40 : 200;
console.log(
  pc.bold(
    `\nA course through NATS JetStream: ${courseSize} submissions (half-hour scenario), workers × slots (bench/nats_course.ts)`,
  ),
);
if (!natsServer) {
  console.log("(skipped: nats-server is not installed)");
} else {
  const courseTable = table([
    "workers × slots",
    "graded/min",
    "per slot",
    "queue overhead",
    "upload → running",
  ]);
  const perMinute: Record<string, number> = {};
  for (const [workers, slots] of [[1, 1], [2, 1], [1, 2]] as const) {
    const r = await benchNatsCourse({
      workers,
      slots,
      submissions: courseSize,
    });
    perMinute[`${workers}x${slots}`] = r.perMinute;
    courseTable.push([
      `${workers} × ${slots}`,
      round(r.perMinute, 1),
      round(r.perMinutePerSlot, 1),
      `${round(r.overhead * 100, 1)} %`,
      `${round(r.firstRunningMs)} ms`,
    ]);
  }
  console.log(courseTable.toString());
  console.log(
    `speed-up from 1 to 2 workers: ${
      round(perMinute["2x1"]! / perMinute["1x1"]!, 2)
    }× on ${navigator.hardwareConcurrency} cores (all processes on this machine)`,
  );
}
