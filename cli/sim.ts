/**
 * `deno task sim`: the live classroom mode. Starts the embedded broker (unless `--broker`), one or more simulated
 * tanks running a scenario at 60× real time (or any speed), and prints where to connect and which topics to use.
 *
 * @module
 */

import { parseArgs } from "node:util";
import pc from "picocolors";
import {
  listBuiltinScenarios,
  loadScenario,
  parseDuration,
  type Scenario,
} from "../scenarios/mod.ts";
import { SENSOR_NAMES, SENSOR_UNITS } from "../sim/mod.ts";
import { EmbeddedBroker } from "../harness/broker/broker.ts";
import { type AclBroker, installLiveAcl, LiveRoles } from "../harness/broker/acl.ts";
import { AedesBus, type Bus, MqttBus } from "../harness/broker/bus.ts";
import { type LiveStats, runLive } from "../harness/live/live.ts";
import { type TankLogEntry, TankNode } from "../harness/live/tank_node.ts";
import type { WebServer } from "../web/main.ts";
import { recordBroker, type RecordingResult } from "./record.ts";
import { DEFAULT_STORE_PATH, RunStore } from "../store/run_store.ts";
import {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  type LayoutName,
  LAYOUTS,
  TankTopics,
  validateTopicPart,
} from "../protocol/topics.ts";

const HELP = `${
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
                       the password printed at start) edits ranges and commands any tank
  --teacher-password P the teacher's password with --lock (default: a new one each start)

${pc.bold("Web and data store")}
  --web                also serve the web pages: live tanks (cards, charts, range editing),
                       stored runs, leaderboard; records the session (implies --record)
  --web-port N         its port (default: 8000; 0 picks a free one); it listens on --host
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

/** Parses `deno task sim`'s arguments; throws {@linkcode UsageError} with a message naming the flag. */
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
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
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
    speed,
    ...(values.broker !== undefined ? { broker: values.broker } : {}),
    host: values.host,
    port: integer(values.port, "--port", 0, 65535),
    wsPort: integer(values["ws-port"], "--ws-port", 0, 65535),
    web: values.web,
    webPort: integer(values["web-port"], "--web-port", 0, 65535),
    record: values.record || values.web,
    lock: values.lock,
    teacherPassword: values["teacher-password"] ??
      crypto.randomUUID().slice(0, 8),
    db: values.db,
    quiet: values.quiet,
    help: values.help,
  };
}

function clockText(scenario: Scenario, t: number): string {
  const date = new Date(scenario.start + t * 1000);
  const day = Math.floor(t / 86400) + 1;
  return `day ${day} ${date.toISOString().slice(11, 16)}`;
}

function printBanner(
  options: SimCliOptions,
  scenario: Scenario,
  brokerUrl: string,
  wsUrl: string | undefined,
): void {
  const first = new TankTopics(options.root, options.tanks[0]!);
  const speed = options.speed === "max"
    ? "as fast as possible"
    : `${options.speed}× real time`;
  const lines = [
    "",
    pc.bold(pc.cyan(`🐟 ${scenario.title}`)) +
    pc.dim(` (${scenario.id} v${scenario.version}, seed ${scenario.seed})`),
    `   ${options.tanks.length} tank${
      options.tanks.length > 1 ? "s" : ""
    } at ${speed}, ${Math.round(scenario.duration / 360) / 10} simulated hours`,
    "",
    pc.bold("Connect to"),
    `   MQTT       ${pc.green(brokerUrl)}`,
    ...(wsUrl ? [`   WebSocket  ${pc.green(wsUrl)}`] : []),
    ...(options.lock
      ? [
        `   ${
          pc.bold("Locked")
        }     controllers: no user name (one tank each) · displays: user viewer`,
        `              teacher: user teacher, password ${
          pc.bold(options.teacherPassword)
        }`,
      ]
      : []),
    "",
    pc.bold(`Topics of ${first.tank}`) +
    pc.dim(` (other tanks: replace ${first.tank})`),
    `   ${first.sensor("{name}")}   readings, plain numbers (${
      SENSOR_NAMES.join(", ")
    })`,
    `   ${first.sensorsAll}      every reading as one JSON object`,
    `   ${
      first.control("{actuator}")
    }  commands: heater, light, pump, topup (on/off; heater 0–100)`,
    `   ${
      first.range("{name}")
    }    target ranges, retained JSON {"min":24,"max":26}`,
    `   ${first.alarm}  ${first.status}  ${first.errors}`,
    "",
    pc.bold("Next"),
    `   deno task display${
      options.root === DEFAULT_ROOT ? "" : ` --topic-root ${options.root}`
    }${first.tank === DEFAULT_TANK ? "" : ` --tank ${first.tank}`}${
      options.broker ? ` --broker ${brokerUrl}` : ""
    }      watch the tank`,
    `   python3 examples/thermostat.py   or   deno run -A examples/thermostat.ts   start a controller`,
    "",
  ];
  console.log(lines.join("\n"));
}

function logLine(scenario: Scenario, entry: TankLogEntry): string {
  const colour = entry.level === "error"
    ? pc.red
    : entry.level === "warn"
    ? pc.yellow
    : pc.dim;
  return `${pc.dim(clockText(scenario, entry.t))} ${pc.bold(entry.tank)} ${
    colour(entry.message)
  }`;
}

function summaryLine(scenario: Scenario, tank: TankNode): string {
  const r = tank.readings;
  const parts = r
    ? SENSOR_NAMES.filter((name) => name !== "room_temperature").map((name) =>
      `${name} ${
        r[name] === null
          ? "—"
          : `${r[name]}${
            SENSOR_UNITS[name] === "pH" ? "" : ` ${SENSOR_UNITS[name]}`
          }`
      }`
    )
    : [];
  const inputs = tank.sim.inputs;
  const actuators = `heater ${Math.round(inputs.heater * 100)}% light ${
    inputs.light ? "on" : "off"
  } pump ${inputs.pump ? "on" : "off"}`;
  return `${pc.dim(clockText(scenario, tank.time))} ${
    pc.bold(tank.topics.tank)
  } ${parts.join(", ")} | ${actuators}${
    tank.alarm.raised ? pc.red(" | ALARM") : ""
  }`;
}

async function connectBuses(options: SimCliOptions): Promise<{
  buses: Bus[];
  brokerUrl: string;
  wsUrl?: string;
  close: () => Promise<void>;
}> {
  if (options.broker) {
    const buses: Bus[] = [];
    for (const tank of options.tanks) {
      const topics = new TankTopics(options.root, tank);
      buses.push(
        await MqttBus.connect(options.broker, {
          clientId: `fishtank-sim-${tank}-${crypto.randomUUID().slice(0, 8)}`,
          will: {
            topic: topics.status,
            payload: JSON.stringify({ state: "offline" }),
            retain: true,
          },
        }),
      );
    }
    return {
      buses,
      brokerUrl: options.broker,
      close: async () => {
        await Promise.allSettled(buses.map((bus) => bus.close()));
      },
    };
  }
  const broker = await EmbeddedBroker.start({
    host: options.host,
    port: options.port,
    wsPort: options.wsPort,
  });
  installLiveAcl(
    broker.aedes as unknown as AclBroker,
    options.root,
    (clientId, topic, reason) =>
      console.error(
        pc.yellow(
          `refused ${topic || "a connection"} from ${clientId}: ${reason}`,
        ),
      ),
    options.lock
      ? new LiveRoles(options.root, options.teacherPassword)
      : undefined,
  );
  const bus = new AedesBus(broker.aedes);
  return {
    buses: options.tanks.map(() => bus),
    brokerUrl: broker.url,
    ...(broker.wsUrl ? { wsUrl: broker.wsUrl } : {}),
    close: async () => {
      await bus.close();
      await broker.close();
    },
  };
}

/**
 * Starts the web pages on the simulation's broker and data store. Bundling the islands runs `deno bundle` in a
 * temporary folder, so it needs the run and write permissions; without them the message says so instead of a stack
 * trace.
 */
async function startWebBeside(
  options: SimCliOptions,
  brokerUrl: string,
  store: RunStore,
): Promise<WebServer> {
  for (const name of ["run", "write"] as const) {
    if ((await Deno.permissions.query({ name })).state !== "granted") {
      throw new UsageError(
        `--web: needs --allow-${name} (to bundle the page's scripts with deno bundle); run with deno run -A cli/sim.ts --web`,
      );
    }
  }
  // Loaded only with --web, so the plain simulator does not load the web app.
  const { startWeb } = await import("../web/main.ts");
  return await startWeb({
    store,
    broker: {
      url: brokerUrl,
      root: options.root,
      ...(options.lock
        ? { username: "teacher", password: options.teacherPassword }
        : {}),
    },
    port: options.webPort,
    host: options.host,
  });
}

function printRecordError(error: unknown): void {
  console.error(
    pc.red(`--record: ${error instanceof Error ? error.message : error}`),
  );
}

/** A recording of the session into the data store, running until `stop()`. */
interface SessionRecording {
  runId: string;
  store: RunStore;
  stop(): Promise<RecordingResult | undefined>;
}

/** Opens the data store and starts recording every tank under the root; resolves once the run exists. */
async function startRecording(
  options: SimCliOptions,
  brokerUrl: string,
): Promise<SessionRecording> {
  const store = await RunStore.open(options.db);
  try {
    await store.markInterrupted();
    const stop = new AbortController();
    let started!: (runId: string) => void;
    const ready = new Promise<string>((resolve) => started = resolve);
    const recording = recordBroker(store, {
      broker: brokerUrl,
      root: options.root,
      tank: null,
      db: options.db,
      ...(options.lock ? { username: "viewer" } : {}),
    }, { signal: stop.signal, onStart: (runId) => started(runId) });
    // Settles once the run exists, or with the error that kept it from existing.
    const runId = await new Promise<string>((resolve, reject) => {
      ready.then(resolve);
      recording.then(
        () => reject(new Error("the recording ended before it started")),
        reject,
      );
    });
    return {
      runId,
      store,
      async stop() {
        stop.abort();
        try {
          return await recording;
        } catch (error) {
          printRecordError(error);
          return undefined;
        } finally {
          await store.close();
        }
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Runs `deno task sim` with the given arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let options: SimCliOptions;
  try {
    options = parseSimArgs(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(pc.red(error.message));
      return 2;
    }
    throw error;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  if (options.list) {
    for (const s of await listBuiltinScenarios()) {
      console.log(`${pc.bold(s.id.padEnd(18))} ${s.title}`);
    }
    return 0;
  }
  let scenario: Scenario;
  try {
    scenario = await loadScenario(options.scenario);
  } catch (error) {
    console.error(
      pc.red(error instanceof Error ? error.message : String(error)),
    );
    return 2;
  }
  if (options.duration !== undefined) {
    scenario = { ...scenario, duration: options.duration };
  }
  if (options.seed !== undefined) {
    scenario = { ...scenario, seed: options.seed };
  }

  let connection;
  try {
    connection = await connectBuses(options);
  } catch (error) {
    console.error(
      pc.red(error instanceof Error ? error.message : String(error)),
    );
    return 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);

  let web: WebServer | undefined;
  let recording: SessionRecording | undefined;
  try {
    printBanner(options, scenario, connection.brokerUrl, connection.wsUrl);
    if (options.record) {
      try {
        recording = await startRecording(options, connection.brokerUrl);
      } catch (error) {
        printRecordError(error);
        return 2;
      }
      console.log(
        `   ${pc.bold("Recording")}  run ${
          pc.green(recording.runId)
        } into ${options.db}\n`,
      );
    }
    const speed = options.speed === "max" ? 0 : options.speed;
    const tanks: TankNode[] = [];
    for (const [i, tank] of options.tanks.entries()) {
      tanks.push(
        await TankNode.start({
          bus: connection.buses[i]!,
          scenario,
          root: options.root,
          tank,
          kitAliases: options.kitAliases,
          speed,
          ...(options.controlFrom !== undefined && options.controlFrom !== tank
            ? { controlFrom: options.controlFrom }
            : {}),
          log: (entry) => {
            if (!options.quiet || entry.level !== "info") {
              console.log(logLine(scenario, entry));
            }
          },
        }),
      );
    }
    if (options.web) {
      try {
        web = await startWebBeside(
          options,
          connection.brokerUrl,
          recording!.store,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(
          pc.red(message.startsWith("--web") ? message : `--web: ${message}`),
        );
        for (const tank of tanks) await tank.stop();
        return 2;
      }
      console.log(`   ${pc.bold("Web")}        ${pc.green(web.url)}\n`);
    }
    // A summary line per tank every simulated hour (every 10 minutes for short runs).
    const every = scenario.duration > 6 * 3600 ? 3600 : 600;
    let nextSummary = 0;
    const stats: LiveStats = await runLive(tanks, {
      speed: options.speed,
      signal: controller.signal,
      onTick: () => {
        const t = Math.min(...tanks.map((tank) => tank.time));
        if (t >= nextSummary) {
          nextSummary += every;
          if (!options.quiet) {
            for (const tank of tanks) {
              console.log(summaryLine(scenario, tank));
            }
          }
        }
      },
    });
    for (const tank of tanks) await tank.stop();
    const how = stats.aborted ? "stopped" : "finished";
    console.log(
      pc.bold(`\nSimulation ${how}`) +
        ` after ${Math.round(stats.simulated)} simulated seconds in ${
          stats.wall.toFixed(1)
        } wall seconds` +
        (options.speed === "max"
          ? ""
          : ` (largest drift ${stats.worstDrift.toFixed(2)} simulated s)`),
    );
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
    await web?.close();
    const recorded = await recording?.stop();
    if (recorded !== undefined) {
      console.log(
        `Recorded ${
          recorded.messages.toLocaleString("en-US")
        } messages in run ${recorded.runId}.`,
      );
    }
    await connection.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
