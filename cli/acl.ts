/**
 * `deno task acl`: writes a mosquitto ACL file for an external broker, giving the simulator, displays, the recorder
 * and each tank's controller the same rights the embedded broker enforces in lockstep runs (see `acl.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { mosquittoAcl } from "../harness/broker/mod.ts";
import { DEFAULT_ROOT, validateTopicPart } from "../protocol/mod.ts";

/** Usage text for `--help`. */
export const HELP =
  `Write a mosquitto ACL file: who may read and write which fish tank topics.

Usage: deno task acl [options] > fishtank.acl

Options:
  --topic-root ROOT   first topic level(s) (default ${DEFAULT_ROOT})
  --tanks N           tanks tank1 … tankN (default 1)
  --tank ID           one tank with this id (repeatable) instead of --tanks
  --rig ID            a rig (deno task sim --rig ID; repeatable): user ID and its controller
  -h, --help          show this help

Users (make their passwords with mosquitto_passwd):
  simulator           reads and writes everything under the root
  display             reads everything, writes ranges (the web page, a teacher)
  recorder            reads everything (deno task record)
  controller-{tank}   reads its tank's topics, writes its control, alarm and ack topics
  {rig}               a rig: writes its sensors/+ (sensors/all too), status, clock, errors and
                      actuators; reads its own topics and every tank's control/+ (it may follow any)
  controller-{rig}    the rig's own control system, as for a tank; the display user also writes
                      the rig's control_source (the handover)

mosquitto.conf:
  allow_anonymous false
  password_file /etc/mosquitto/fishtank.passwd
  acl_file /etc/mosquitto/fishtank.acl
`;

/** Runs `deno task acl`; returns the exit code. */
export function main(args: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        "topic-root": { type: "string", default: DEFAULT_ROOT },
        tanks: { type: "string" },
        tank: { type: "string", multiple: true },
        rig: { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`acl: ${(error as Error).message}. See deno task acl --help`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const root = validateTopicPart(values["topic-root"], "root");
    let tanks = values.tank ?? [];
    if (tanks.length === 0) {
      const count = Number(values.tanks ?? "1");
      if (!Number.isInteger(count) || count < 1 || count > 1000) {
        throw new RangeError(
          `--tanks: expected a whole number from 1 to 1000, got "${values.tanks}"`,
        );
      }
      tanks = Array.from({ length: count }, (_, i) => `tank${i + 1}`);
    }
    for (const tank of tanks) validateTopicPart(tank, "tank");
    const rigs = values.rig ?? [];
    for (const rig of rigs) {
      validateTopicPart(rig, "tank");
      if (tanks.includes(rig)) {
        throw new RangeError(
          `--rig ${rig}: a simulated tank has this id; a rig needs an id of its own`,
        );
      }
      if (
        ["simulator", "display", "recorder"].includes(rig) ||
        rig.startsWith("controller-")
      ) {
        throw new RangeError(
          `--rig ${rig}: the rig's user would be a role's (simulator, display, recorder, controller-…); name the rig otherwise`,
        );
      }
      if (rigs.indexOf(rig) !== rigs.lastIndexOf(rig)) {
        throw new RangeError(`--rig ${rig}: given twice`);
      }
    }
    Deno.stdout.writeSync(
      new TextEncoder().encode(mosquittoAcl({ root, tanks, rigs })),
    );
    return 0;
  } catch (error) {
    console.error(`acl: ${(error as Error).message}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(main(Deno.args));
