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

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`deno task bench [--quick]

Measures, on this machine:
  - the pure simulator's speed: simulated seconds per wall second, for one tank and for 30 tanks;
  - the live mode's accuracy at 60×: simulated-time drift over a wall minute (--quick: ten seconds).`);
  Deno.exit(0);
}

const round = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits });

console.log(
  pc.bold("Pure simulator (sim/), one observe() every 10 simulated seconds"),
);
const speed = await benchSimSpeed();
const simTable = new Table({
  head: ["tanks", "simulated s / wall s", "× real time"],
});
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
const liveTable = new Table({ head: ["figure", "value"] });
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
