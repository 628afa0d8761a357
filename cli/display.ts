/**
 * `deno task display`: the command line of the terminal display of one tank (see `harness/display/`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  type LayoutName,
  LAYOUTS,
  validateTopicPart,
} from "../protocol/mod.ts";
import {
  DEFAULT_BROKER,
  DISPLAY_DEFAULTS,
  type DisplayOptions,
  normalizeBroker,
  runDisplay,
} from "../harness/display/mod.ts";

/** Usage text for `--help`. */
export const HELP =
  `Show one simulated fish tank live in the terminal (readings, ranges, actuators, alarm, clock).

Usage: deno task display [options]
       deno run -A cli/display.ts [options]

Options:
  --broker URL        MQTT broker (default ${DEFAULT_BROKER}; "host:port" works too)
  --tank ID           tank id, the topic level after the root (default ${DEFAULT_TANK})
  --topic-root ROOT   first topic level(s) (default ${DEFAULT_ROOT})
  --layout NAME       topic layout preset: ${Object.keys(LAYOUTS).join(" or ")}
                      (olp = the original kit: root OLP/device/tank, tank id);
                      --tank and --topic-root override it
  --plain             print one plain line per batch of readings instead of redrawing
                      (automatic when the output is not a terminal)
  --once              print the first complete batch (sensors/all) and exit 0;
                      exit 1 if none arrives in time or the broker cannot be reached
  --timeout SECONDS   how long --once waits (default 10)
  -h, --help          show this help

Topics read, under {root}/{tank}/: sensors/+, ranges/+, actuators, control/+, alarm, status, clock, errors.
Colours follow NO_COLOR; every colour also has a word (in range, LOW, HIGH, STALE, DROPPED OUT).
Press Ctrl+C to quit.

Examples:
  deno task display
  deno task display --layout olp
  deno task display --broker mqtt://192.168.1.20:1883 --tank tank2 --plain
`;

/** Parses the command line; `"help"` when help was asked for. Throws `TypeError`/`RangeError` on bad input. */
export function parseDisplayArgs(args: string[]): DisplayOptions | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      broker: { type: "string" },
      tank: { type: "string" },
      "topic-root": { type: "string" },
      layout: { type: "string" },
      plain: { type: "boolean" },
      once: { type: "boolean" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  let layout: (typeof LAYOUTS)[LayoutName] | undefined;
  if (values.layout !== undefined) {
    if (!Object.hasOwn(LAYOUTS, values.layout)) {
      throw new RangeError(
        `--layout: expected ${
          Object.keys(LAYOUTS).join(" or ")
        }, got "${values.layout}"`,
      );
    }
    layout = LAYOUTS[values.layout as LayoutName];
  }
  const timeout = values.timeout === undefined
    ? DISPLAY_DEFAULTS.timeout
    : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(
      `--timeout: expected a number of seconds above 0, got "${values.timeout}"`,
    );
  }
  return {
    broker: normalizeBroker(values.broker ?? DISPLAY_DEFAULTS.broker),
    root: validateTopicPart(
      values["topic-root"] ?? layout?.root ?? DISPLAY_DEFAULTS.root,
      "root",
    ),
    tank: validateTopicPart(
      values.tank ?? layout?.tank ?? DISPLAY_DEFAULTS.tank,
      "tank",
    ),
    plain: values.plain ?? DISPLAY_DEFAULTS.plain,
    once: values.once ?? DISPLAY_DEFAULTS.once,
    timeout,
  };
}

/** Entry point: parses `args`, prints help or a usage error (exit 2), else runs the display. */
export async function main(args: string[]): Promise<number> {
  let options: DisplayOptions | "help";
  try {
    options = parseDisplayArgs(args);
  } catch (error) {
    console.error(
      `display: ${
        error instanceof Error ? error.message : error
      }\nRun with --help for the options.`,
    );
    return 2;
  }
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  return await runDisplay(options);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
