/**
 * `deno task sim`: the live classroom mode. Starts the embedded broker (unless `--broker`), one or more simulated
 * tanks running a scenario at 60× real time (or any speed), and prints where to connect and which topics to use.
 *
 * @module
 */

import pc from "picocolors";
import {
  listBuiltinScenarios,
  loadScenario,
  type Scenario,
} from "../scenarios/mod.ts";
import { SENSOR_NAMES, SENSOR_UNITS } from "../sim/mod.ts";
import {
  type AclBroker,
  AedesBus,
  type Bus,
  EmbeddedBroker,
  installLiveAcl,
  LiveRoles,
  MqttBus,
} from "../harness/broker/mod.ts";
import {
  type LiveStats,
  RigNode,
  runLive,
  type TankLogEntry,
  TankNode,
} from "../harness/live/mod.ts";
import type { WebServer } from "../web/mod.ts";
import { recordBroker, type RecordingResult } from "../harness/record/mod.ts";
import { RunStore } from "../store/mod.ts";
import { DEFAULT_ROOT, DEFAULT_TANK, TankTopics } from "../protocol/mod.ts";
import {
  HELP,
  parseSimArgs,
  RIG_PASSWORDS_ENV,
  type SimCliOptions,
  TEACHER_PASSWORD_ENV,
  UsageError,
  withScenarioRigs,
} from "./_sim_args.ts";

export { parseSimArgs, type SimCliOptions, UsageError };

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
    ? "running as fast as possible"
    : `at ${options.speed}× real time`;
  // Every suggested command names the broker in use when it is not the default one.
  const nonDefault = options.broker !== undefined ||
    !/:1883$/.test(brokerUrl);
  const lines = [
    "",
    pc.bold(pc.cyan(`🐟 ${scenario.title}`)) +
    pc.dim(` (${scenario.id} v${scenario.version}, seed ${scenario.seed})`),
    `   ${options.tanks.length} tank${
      options.tanks.length > 1 ? "s" : ""
    } ${speed}, ${Math.round(scenario.duration / 360) / 10} simulated hours`,
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
          options.teacherPasswordFrom === "generated"
            ? pc.bold(options.teacherPassword)
            : `from ${
              options.teacherPasswordFrom === "file"
                ? "--teacher-password-file"
                : TEACHER_PASSWORD_ENV
            }`
        }`,
      ]
      : []),
    ...rigLines(options),
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
      nonDefault ? ` --broker ${brokerUrl}` : ""
    }      watch the tank`,
    `   ${
      nonDefault ? `MQTT_URL=${brokerUrl} ` : ""
    }python3 examples/thermostat.py   or   ${
      nonDefault ? `MQTT_URL=${brokerUrl} ` : ""
    }deno run -A examples/thermostat.ts   start a controller`,
    "",
  ];
  console.log(lines.join("\n"));
}

/** The banner's lines about the rigs: what they publish, whom they follow, and (locked) how they log in. */
function rigLines(options: SimCliOptions): string[] {
  if (options.rigs.length === 0) return [];
  const lines = [
    "",
    pc.bold("Rigs") +
    pc.dim(" (outside tanks: they publish their own readings and status)"),
  ];
  for (const rig of options.rigs) {
    const topics = new TankTopics(options.root, rig);
    const from = options.rigPasswordsFrom[rig];
    const login = !options.lock
      ? "any client may publish them"
      : `user ${rig}, password ${
        from === "generated"
          ? pc.bold(options.rigPasswords[rig]!)
          : from === "file"
          ? "from --rig-password-file"
          : `from ${RIG_PASSWORDS_ENV}`
      }`;
    lines.push(
      `   ${pc.bold(rig)}  ${
        topics.sensor("{name}")
      }, ${topics.sensorsAll}, ${topics.status}: ${login}`,
      `         follows ${
        options.rigControlFrom === undefined
          ? "its own control topics"
          : `${options.rigControlFrom}'s control topics`
      } (retained ${topics.controlSource})`,
    );
  }
  return lines;
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
          // Two decimals at most: a DS18B20's 1/16 °C steps read 24.8125 otherwise.
          : `${Math.round(r[name] * 100) / 100}${
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
  installLiveAcl(broker.aedes as unknown as AclBroker, {
    root: options.root,
    onRefused: (clientId, topic, reason) =>
      console.error(
        pc.yellow(
          `refused ${topic || "a connection"} from ${clientId}: ${reason}`,
        ),
      ),
    rigs: options.rigs,
    ...(options.lock
      ? {
        roles: new LiveRoles(options.root, options.teacherPassword, {
          rigs: options.rigPasswords,
        }),
      }
      : {}),
  });
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
  const { startWeb } = await import("../web/mod.ts");
  return await startWeb({
    store,
    broker: {
      url: brokerUrl,
      root: options.root,
      ...(options.lock
        ? { username: "teacher", password: options.teacherPassword }
        : {}),
    },
    ...(options.lock ? { lock: { password: options.teacherPassword } } : {}),
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
      rigs: options.rigs,
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
  try {
    options = withScenarioRigs(options, scenario);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(pc.red(error.message));
    return 2;
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
    const log = (entry: TankLogEntry) => {
      if (!options.quiet || entry.level !== "info") {
        console.log(logLine(scenario, entry));
      }
    };
    for (const rig of options.rigs) {
      await RigNode.start({
        bus: connection.buses[0]!,
        scenario,
        root: options.root,
        rig,
        ...(options.rigControlFrom !== undefined
          ? { controlFrom: options.rigControlFrom }
          : {}),
        log,
        time: () => Math.min(...tanks.map((tank) => tank.time)),
      });
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
      console.log(
        `   ${pc.bold("Web")}        ${pc.green(web.url)}${
          options.lock
            ? `  (range edits after the teacher's login at ${web.url}/login)`
            : ""
        }\n`,
      );
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
