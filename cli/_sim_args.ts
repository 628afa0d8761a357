/**
 * The command line of `deno task sim`: its help text and the parsing of its options.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_STORE_PATH } from "../store/mod.ts";
import pc from "picocolors";
import { parseDuration } from "../scenarios/mod.ts";
import {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  type LayoutName,
  LAYOUTS,
  validateTopicPart,
} from "../protocol/mod.ts";

/** Usage text for `--help`. */
export const HELP = `${
  pc.bold("deno task sim")
} — a simulated fish tank on MQTT, live, for the classroom

${pc.bold("Usage")}
  deno task sim [options]

${pc.bold("Scenario")}
  --scenario ID|FILE   built-in scenario id or a YAML file (default: steady-day)
  --list               list the built-in scenarios and exit
  --duration D         override the scenario's duration, e.g. 12h, 90m, 2d
  --seed N             override the scenario's random seed

${pc.bold("Tanks and topics")}
  --tanks N            simulate N tanks, tank1 … tankN (default: 1)
  --tank ID            the tank id when there is one tank (default: ${DEFAULT_TANK})
  --topic-root ROOT    first topic levels (default: ${DEFAULT_ROOT})
  --layout NAME        ${
  Object.keys(LAYOUTS).join(" | ")
}; "olp" is the original kit's layout
                       (OLP/device/tank/id/…, with its field names in sensors/all)
  --control-from ID    the other tanks obey tank ID's control topics (a demo rig following
                       a simulated tank); switch at runtime with the retained topic
                       {root}/{tank}/control_source (payload: a tank id, or "self")

${
  pc.bold(
    "Rigs (outside tanks: real hardware or a demo program publishing its own readings)",
  )
}
  --rig ID             declare an outside tank ID (repeatable): clients may publish its sensors/…,
                       sensors/all, status and actuators; the simulator publishes its ranges and its
                       retained control_source; displays, the web page and the recorder show it
  --rig-control-from ID
                       the rigs start by following tank ID's control topics (retained
                       {root}/{rig}/control_source = ID; default "self": their own topics)
  --rig-password-file PATH
                       with --lock: the rigs' passwords, one "id:password" per line; or set
                       FISHTANK_RIG_PASSWORDS (the same lines); a rig without one gets a new
                       password, printed once. A rig connects as user ID with its password

${pc.bold("Speed")}
  --speed N|max        simulated seconds per wall second (default: 60); "max" = as fast as possible

${pc.bold("Broker")}
  --broker URL         use an external broker (e.g. mqtt://127.0.0.1:1883) instead of the embedded one
  --host HOST          address the embedded broker listens on (default: 127.0.0.1;
                       0.0.0.0 lets other machines in the classroom connect)
  --port N             MQTT/TCP port (default: 1883; 0 picks a free one)
  --ws-port N          MQTT over WebSocket port for browsers (default: 9001; 0 picks a free one)

${pc.bold("Access")}
  --lock               roles on the embedded broker: clients without a user name control the one
                       tank they first touch; user "viewer" reads everything; user "teacher" (with
                       the password printed at start) edits ranges and commands any tank; with
                       --web, changing a range on the page needs the teacher's login too
  --teacher-password-file PATH
                       read the teacher's password from the first line of PATH; or set the
                       FISHTANK_TEACHER_PASSWORD environment variable (default: a new one each
                       start, printed once). Never on the command line: /proc shows it to all

${pc.bold("Web and data store")}
  --web                also serve the web pages: live tanks (cards, charts, range editing),
                       stored runs, leaderboard; records the session (implies --record)
  --web-port N         its port (default: 8000; 0 picks a free one); it listens on --host
                       (without --lock, anyone who reaches it may edit ranges)
  --record             record every message of every tank into the data store, as a run
                       (the live charts' longer history comes from it)
  --db PATH            the data store (default: ${DEFAULT_STORE_PATH}; :memory: keeps nothing)

${pc.bold("Output")}
  --quiet              print only the connection banner, alarms and errors
  -h, --help           show this help

${pc.bold("Examples")}
  deno task sim
  deno task sim --scenario cold-room --tanks 3 --host 0.0.0.0
  deno task sim --layout olp --speed 600
  deno task sim --web --tanks 2
  deno task sim --web --lock --host 0.0.0.0        (a classroom: controllers keep to their tank)
  deno task sim --web --rig rig1 --rig-control-from tank1   (a rig following tank1's controller)
  deno task sim --broker mqtt://127.0.0.1:1883 --scenario heater-failure
`;

/** Thrown for bad command-line input: the message is shown without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parsed and checked command line of `deno task sim`. */
export interface SimCliOptions {
  scenario: string;
  list: boolean;
  duration?: number;
  seed?: number;
  tanks: string[];
  root: string;
  kitAliases: boolean;
  controlFrom?: string;
  /** Outside tanks (`--rig`), in the order given. */
  rigs: string[];
  /** The tank whose control topics the rigs follow at the start (`--rig-control-from`); absent: their own. */
  rigControlFrom?: string;
  /** With `--lock`: each rig's password (user name = rig id). */
  rigPasswords: Record<string, string>;
  /** Where each rig's password came from: printed at start only when generated. */
  rigPasswordsFrom: Record<string, "generated" | "environment" | "file">;
  /** `--rig-password-file`, kept for rigs the scenario declares. */
  rigPasswordFile?: string;
  speed: number | "max";
  broker?: string;
  host: string;
  port: number;
  wsPort: number;
  /** Serve the web pages beside the simulation (and record it). */
  web: boolean;
  webPort: number;
  /** Record the session into the data store (`--record`, or implied by `--web`). */
  record: boolean;
  /** Roles on the embedded broker (`--lock`), with the teacher's password. */
  lock: boolean;
  teacherPassword: string;
  /** Where the password came from: printed at start only when it was generated. */
  teacherPasswordFrom: "generated" | "environment" | "file";
  db: string;
  quiet: boolean;
  help: boolean;
}

function integer(
  value: string,
  flag: string,
  min: number,
  max: number,
): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag}: expected a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/** The environment variable that gives the teacher's password. */
export const TEACHER_PASSWORD_ENV = "FISHTANK_TEACHER_PASSWORD";

/** The environment variable that gives the rigs' passwords, as `id:password` lines. */
export const RIG_PASSWORDS_ENV = "FISHTANK_RIG_PASSWORDS";

/** Parses `id:password` entries, one per line (blank lines and `#` comments skipped). */
function passwordLines(text: string, where: string): Map<string, string> {
  const passwords = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || colon === line.length - 1) {
      throw new UsageError(
        `${where}: line ${
          i + 1
        }: expected "id:password", got a line without both`,
      );
    }
    passwords.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return passwords;
}

/** The rigs' passwords: from the file, else the environment, else new ones. Only needed with `--lock`. */
function rigPasswords(
  rigs: readonly string[],
  file: string | undefined,
): Pick<SimCliOptions, "rigPasswords" | "rigPasswordsFrom"> {
  let given = new Map<string, string>();
  let from: "environment" | "file" = "environment";
  if (file !== undefined) {
    let text;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      throw new UsageError(
        `--rig-password-file: cannot read "${file}": ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    given = passwordLines(text, `--rig-password-file "${file}"`);
    from = "file";
  } else {
    const env = Deno.env.get(RIG_PASSWORDS_ENV);
    if (env !== undefined && env !== "") {
      given = passwordLines(env, RIG_PASSWORDS_ENV);
    }
  }
  for (const id of given.keys()) {
    if (!rigs.includes(id)) {
      throw new UsageError(
        `${
          from === "file" ? "--rig-password-file" : RIG_PASSWORDS_ENV
        }: a password for "${id}", which is not a rig; declare it with --rig ${id}`,
      );
    }
  }
  const rigPasswords: Record<string, string> = {};
  const rigPasswordsFrom: SimCliOptions["rigPasswordsFrom"] = {};
  for (const rig of rigs) {
    const password = given.get(rig);
    rigPasswords[rig] = password ?? crypto.randomUUID().slice(0, 8);
    rigPasswordsFrom[rig] = password === undefined ? "generated" : from;
  }
  return { rigPasswords, rigPasswordsFrom };
}

/** The teacher's password: from the file, else the environment, else a new one. */
function teacherPassword(
  file: string | undefined,
): Pick<SimCliOptions, "teacherPassword" | "teacherPasswordFrom"> {
  if (file !== undefined) {
    let text;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      throw new UsageError(
        `--teacher-password-file: cannot read "${file}": ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    const password = text.split(/\r?\n/)[0]!;
    if (password === "") {
      throw new UsageError(
        `--teacher-password-file: "${file}" is empty; put the password on its first line`,
      );
    }
    return { teacherPassword: password, teacherPasswordFrom: "file" };
  }
  const env = Deno.env.get(TEACHER_PASSWORD_ENV);
  if (env !== undefined && env !== "") {
    return { teacherPassword: env, teacherPasswordFrom: "environment" };
  }
  return {
    teacherPassword: crypto.randomUUID().slice(0, 8),
    teacherPasswordFrom: "generated",
  };
}

/**
 * The options with the rigs a scenario file declares (`rigs:`) added after those of `--rig` (a rig named in both is
 * declared once), checked as `--rig` ids are, and given passwords with `--lock`. Throws {@linkcode UsageError}
 * naming the scenario's field.
 */
export function withScenarioRigs(
  options: SimCliOptions,
  scenario: { rigs: readonly string[]; file: string },
): SimCliOptions {
  const added = scenario.rigs.filter((rig) => !options.rigs.includes(rig));
  if (added.length === 0) return options;
  let rigs: string[];
  try {
    rigs = checkRigs([...options.rigs, ...added], options.tanks);
  } catch (error) {
    throw new UsageError(
      `${scenario.file}: rigs: ${
        (error as Error).message.replace(/^--rig: /, "")
      }`,
    );
  }
  return {
    ...options,
    rigs,
    ...(options.lock ? rigPasswords(rigs, options.rigPasswordFile) : {}),
  };
}

/** Checks the `--rig` ids: single topic levels, each once, not a simulated tank's id nor a role's user name. */
function checkRigs(
  rigs: readonly string[],
  tanks: readonly string[],
): string[] {
  const seen = new Set<string>();
  for (const rig of rigs) {
    try {
      validateTopicPart(rig, "tank");
    } catch (error) {
      throw new UsageError(
        `--rig: ${
          (error instanceof Error ? error.message : String(error)).replace(
            /^--tank: /,
            "",
          )
        }`,
      );
    }
    if (tanks.includes(rig)) {
      throw new UsageError(
        `--rig: "${rig}" is a simulated tank's id; give the rig another one`,
      );
    }
    if (rig === "viewer" || rig === "teacher") {
      throw new UsageError(
        `--rig: "${rig}" is a role's user name on a locked broker; give the rig another id`,
      );
    }
    if (seen.has(rig)) throw new UsageError(`--rig: "${rig}" is given twice`);
    seen.add(rig);
  }
  return [...seen];
}

/**
 * Parses `deno task sim`'s arguments; throws {@linkcode UsageError} with a message naming the flag. Reads the
 * teacher's password from `--teacher-password-file` or `FISHTANK_TEACHER_PASSWORD`.
 */
export function parseSimArgs(args: string[]): SimCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: "string", default: "steady-day" },
        list: { type: "boolean", default: false },
        duration: { type: "string" },
        seed: { type: "string" },
        tanks: { type: "string", default: "1" },
        tank: { type: "string" },
        "topic-root": { type: "string" },
        layout: { type: "string" },
        "control-from": { type: "string" },
        rig: { type: "string", multiple: true, default: [] },
        "rig-control-from": { type: "string" },
        "rig-password": { type: "string" },
        "rig-password-file": { type: "string" },
        speed: { type: "string", default: "60" },
        broker: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "1883" },
        "ws-port": { type: "string", default: "9001" },
        web: { type: "boolean", default: false },
        "web-port": { type: "string", default: "8000" },
        record: { type: "boolean", default: false },
        lock: { type: "boolean", default: false },
        "teacher-password": { type: "string" },
        "teacher-password-file": { type: "string" },
        db: { type: "string", default: DEFAULT_STORE_PATH },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(
      `${
        error instanceof Error ? error.message : error
      }. See deno task sim --help`,
    );
  }
  if (values["teacher-password"] !== undefined) {
    throw new UsageError(
      `--teacher-password: a password on the command line is visible to every local process (/proc/*/cmdline); set ${TEACHER_PASSWORD_ENV} or use --teacher-password-file PATH instead`,
    );
  }
  if (values["rig-password"] !== undefined) {
    throw new UsageError(
      `--rig-password: a password on the command line is visible to every local process (/proc/*/cmdline); set ${RIG_PASSWORDS_ENV} or use --rig-password-file PATH instead`,
    );
  }
  const layoutName = values.layout ?? "fishtank";
  if (!(layoutName in LAYOUTS)) {
    throw new UsageError(
      `--layout: expected one of ${
        Object.keys(LAYOUTS).join(", ")
      }, got "${layoutName}"`,
    );
  }
  const layout = LAYOUTS[layoutName as LayoutName];
  const count = integer(values.tanks, "--tanks", 1, 1000);
  if (count > 1 && values.tank !== undefined) {
    throw new UsageError(
      "--tank names a single tank: with --tanks N the tanks are called tank1 … tankN",
    );
  }
  const tanks = count === 1
    ? [values.tank ?? layout.tank]
    : Array.from({ length: count }, (_, i) => `tank${i + 1}`);
  const root = values["topic-root"] ?? layout.root;
  try {
    validateTopicPart(root, "root");
    tanks.forEach((tank) => validateTopicPart(tank, "tank"));
    if (values["control-from"] !== undefined) {
      validateTopicPart(values["control-from"], "tank");
    }
    if (values["rig-control-from"] !== undefined) {
      validateTopicPart(values["rig-control-from"], "tank");
    }
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
    );
  }
  const rigs = checkRigs(values.rig, tanks);
  if (values["rig-control-from"] !== undefined && rigs.length === 0) {
    throw new UsageError(
      "--rig-control-from: no rig to follow it; declare one with --rig ID",
    );
  }
  let speed: number | "max";
  if (values.speed === "max") speed = "max";
  else {
    speed = Number(values.speed);
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new UsageError(
        `--speed: expected a positive number or "max", got "${values.speed}"`,
      );
    }
  }
  let duration: number | undefined;
  if (values.duration !== undefined) {
    try {
      duration = parseDuration(values.duration);
    } catch (error) {
      throw new UsageError(
        `--duration: ${error instanceof Error ? error.message : error}`,
      );
    }
    if (!(duration > 0)) {
      throw new UsageError(
        `--duration: must be longer than zero, got "${values.duration}"`,
      );
    }
  }
  if (
    values.broker !== undefined &&
    !/^(mqtts?|wss?|tcp):\/\//.test(values.broker)
  ) {
    throw new UsageError(
      `--broker: expected a URL like mqtt://127.0.0.1:1883, got "${values.broker}"`,
    );
  }
  if (values.lock && values.broker !== undefined) {
    throw new UsageError(
      "--lock: roles are for the embedded broker; lock an external one with its own ACL (deno task acl)",
    );
  }
  return {
    scenario: values.scenario,
    list: values.list,
    ...(duration !== undefined ? { duration } : {}),
    ...(values.seed !== undefined
      ? { seed: integer(values.seed, "--seed", 0, 2 ** 32 - 1) }
      : {}),
    tanks,
    root,
    kitAliases: layout.kitAliases,
    ...(values["control-from"] !== undefined
      ? { controlFrom: values["control-from"] }
      : {}),
    rigs,
    ...(values["rig-control-from"] !== undefined
      ? { rigControlFrom: values["rig-control-from"] }
      : {}),
    ...(values.lock
      ? rigPasswords(rigs, values["rig-password-file"])
      : { rigPasswords: {}, rigPasswordsFrom: {} }),
    ...(values["rig-password-file"] !== undefined
      ? { rigPasswordFile: values["rig-password-file"] }
      : {}),
    speed,
    ...(values.broker !== undefined ? { broker: values.broker } : {}),
    host: values.host,
    port: integer(values.port, "--port", 0, 65535),
    wsPort: integer(values["ws-port"], "--ws-port", 0, 65535),
    web: values.web,
    webPort: integer(values["web-port"], "--web-port", 0, 65535),
    record: values.record || values.web,
    lock: values.lock,
    ...teacherPassword(values["teacher-password-file"]),
    db: values.db,
    quiet: values.quiet,
    help: values.help,
  };
}
