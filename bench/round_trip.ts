/**
 * Round trips per second between the harness and a controller, the figure that bounds a lockstep run's speed. On an
 * embedded broker, the harness publishes a `sensors/all`-like reading (in process, QoS 1, as the tank does) and waits
 * until the controller has published its commands (heater, pump, light) before it publishes the next one.
 *
 * The controllers, each run as the student runs it (`fastSockets: false`) and as the harness runs it (with
 * `sitecustomize.py` or `nodelay.cjs` preloaded, see `controllerEnv()`):
 *
 * - a minimal paho-mqtt script (QoS 0 subscription and commands, no ack), and the same with QoS 1;
 * - mqtt.js in a Deno process: publishing all commands at once, awaiting each `publishAsync()`, or calling
 *   `setNoDelay(true)` itself, and with QoS 1;
 * - mqtt.js in Node.js, when `node` can `require("mqtt")` (e.g. with NODE_PATH pointing at an npm install);
 * - the floor: an mqtt.js client in the harness's own process.
 *
 * Run it with:
 *
 *     deno run -A bench/round_trip.ts [--steps 500] [--commands 3] [--only paho]
 *
 * This module is also the Deno controller it measures (`--controller`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Socket } from "node:net";
import mqtt from "mqtt";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { controllerEnv, ControllerProcess } from "../harness/lockstep/mod.ts";

/** Options for {@linkcode benchRoundTrip}. */
export interface RoundTripOptions {
  /** Measured round trips per controller (default 500), after 20 unmeasured ones. */
  steps?: number;
  /** Commands a controller publishes per reading (default 3: heater, pump, light). */
  commands?: number;
  /** Only the controllers whose name contains one of these. */
  only?: string[];
  /** Called with each controller's figure as soon as it is measured. */
  onResult?: (name: string, perSecond: number) => void;
}

const ROOT = new URL("../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const WARM_UP = 20;
const STEP_TIMEOUT_MS = 5_000;
const ACTUATORS = ["heater", "pump", "light", "topup"];

/** The minimal paho controller, given as `python3 -c "$BENCH_SCRIPT"`. Works with paho-mqtt 1.6 and 2.x. */
const PAHO_SCRIPT = `
import os
import paho.mqtt.client as mqtt
QOS = int(os.environ["BENCH_QOS"])
NAMES = ${JSON.stringify(ACTUATORS)}[:int(os.environ["BENCH_COMMANDS"])]
BASE = os.environ["TOPIC_ROOT"] + "/" + os.environ["TANK_ID"]
def on_connect(client, userdata, flags, rc, properties=None):
    client.subscribe(BASE + "/sensors/all", qos=QOS)
def on_message(client, userdata, msg):
    for name in NAMES:
        client.publish(BASE + "/control/" + name, "on", qos=QOS)
if hasattr(mqtt, "CallbackAPIVersion"):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
else:
    client = mqtt.Client()
client.on_connect = on_connect
client.on_message = on_message
client.connect(os.environ["MQTT_HOST"], int(os.environ["MQTT_PORT"]))
client.loop_forever()
`;

/** The same mqtt.js controller for Node.js, given as `node -e "$BENCH_SCRIPT"` (when Node can `require("mqtt")`). */
const NODE_SCRIPT = `
const mqtt = require("mqtt");
const env = process.env;
const base = env.TOPIC_ROOT + "/" + env.TANK_ID;
const qos = Number(env.BENCH_QOS);
const names = ${JSON.stringify(ACTUATORS)}.slice(0, Number(env.BENCH_COMMANDS));
const client = mqtt.connect(env.MQTT_URL, { reconnectPeriod: 0 });
client.on("connect", () => client.subscribe(base + "/sensors/all", { qos }));
client.on("message", async () => {
  for (const name of names) {
    const topic = base + "/control/" + name;
    if (env.BENCH_AWAIT === "1") await client.publishAsync(topic, "on", { qos });
    else client.publish(topic, "on", { qos });
  }
});
process.on("SIGTERM", () => client.end(true, {}, () => process.exit(0)));
`;

interface _Contender {
  name: string;
  /** Command line and environment additions, or null for the in-process client. */
  command: string | null;
  fastSockets: boolean;
  env: Record<string, string>;
  needs?: "python" | "node";
}

function _contenders(commands: number): _Contender[] {
  const deno = (flags: string) =>
    `"${Deno.execPath()}" run --allow-net --allow-env bench/round_trip.ts --controller ${flags}`;
  const paho = `${PYTHON} -c "$BENCH_SCRIPT"`;
  const env = (qos: number) => ({
    BENCH_SCRIPT: PAHO_SCRIPT,
    BENCH_QOS: String(qos),
    BENCH_COMMANDS: String(commands),
  });
  return [
    {
      name: "paho, QoS 0, as the student runs it",
      command: paho,
      fastSockets: false,
      env: env(0),
      needs: "python",
    },
    {
      name: "paho, QoS 0, with the harness's sitecustomize",
      command: paho,
      fastSockets: true,
      env: env(0),
      needs: "python",
    },
    {
      name: "paho, QoS 1, as the student runs it",
      command: paho,
      fastSockets: false,
      env: env(1),
      needs: "python",
    },
    {
      name: "paho, QoS 1, with the harness's sitecustomize",
      command: paho,
      fastSockets: true,
      env: env(1),
      needs: "python",
    },
    {
      name: "mqtt.js in Deno, QoS 0, as the student runs it",
      command: deno(`--qos 0 --commands ${commands}`),
      fastSockets: false,
      env: {},
    },
    {
      name: "mqtt.js in Deno, QoS 0, with the harness's nodelay.cjs",
      command: deno(`--qos 0 --commands ${commands}`),
      fastSockets: true,
      env: {},
    },
    {
      name:
        "mqtt.js in Deno, QoS 0, awaiting each publish, as the student runs it",
      command: deno(`--qos 0 --commands ${commands} --await`),
      fastSockets: false,
      env: {},
    },
    {
      name: "mqtt.js in Deno, QoS 0, awaiting each publish, with nodelay.cjs",
      command: deno(`--qos 0 --commands ${commands} --await`),
      fastSockets: true,
      env: {},
    },
    {
      name: "mqtt.js in Deno, QoS 0, setNoDelay(true) in its code",
      command: deno(`--qos 0 --commands ${commands} --nodelay`),
      fastSockets: false,
      env: {},
    },
    {
      name: "mqtt.js in Deno, QoS 1, as the student runs it",
      command: deno(`--qos 1 --commands ${commands}`),
      fastSockets: false,
      env: {},
    },
    ...[false, true].flatMap((awaitEach) =>
      [false, true].map((fastSockets): _Contender => ({
        name: `mqtt.js in Node.js, QoS 0, ${
          awaitEach ? "awaiting each publish, " : ""
        }${fastSockets ? "with nodelay.cjs" : "as the student runs it"}`,
        command: `node -e "$BENCH_SCRIPT"`,
        fastSockets,
        env: {
          BENCH_SCRIPT: NODE_SCRIPT,
          BENCH_QOS: "0",
          BENCH_COMMANDS: String(commands),
          BENCH_AWAIT: awaitEach ? "1" : "0",
        },
        needs: "node",
      }))
    ),
    {
      name: "floor: mqtt.js in the harness's process, setNoDelay(true)",
      command: null,
      fastSockets: false,
      env: {},
    },
  ];
}

/** Measures every controller; returns round trips per second by controller name. */
export async function benchRoundTrip(
  options: RoundTripOptions = {},
): Promise<Record<string, number>> {
  const steps = options.steps ?? 500;
  const commands = options.commands ?? 3;
  if (!Number.isInteger(commands) || commands < 1 || commands > 4) {
    throw new RangeError(`commands: expected 1 to 4, got ${commands}`);
  }
  const have = {
    python: _succeeds(PYTHON, ["-c", "import paho.mqtt.client"]),
    node: _succeeds("node", ["-e", 'require("mqtt")']),
  };
  const results: Record<string, number> = {};
  for (const contender of _contenders(commands)) {
    if (options.only && !options.only.some((s) => contender.name.includes(s))) {
      continue;
    }
    if (contender.needs && !have[contender.needs]) continue;
    const perSecond = await _measure(contender, steps, commands);
    results[contender.name] = perSecond;
    options.onResult?.(contender.name, perSecond);
  }
  return results;
}

async function _measure(
  contender: _Contender,
  steps: number,
  commands: number,
): Promise<number> {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const root = "fishtank", tank = "tank1", base = `${root}/${tank}`;
  let controller: ControllerProcess | undefined;
  let inProcess: mqtt.MqttClient | undefined;
  try {
    let received = 0;
    let wake: (() => void) | undefined;
    await bus.subscribe(`${base}/control/+`, () => {
      received++;
      wake?.();
    });
    const subscribed = new Promise<void>((resolve) =>
      broker.aedes.on("subscribe", (subscriptions) => {
        if (subscriptions.some((s) => s.topic === `${base}/sensors/all`)) {
          resolve();
        }
      })
    );
    if (contender.command === null) {
      inProcess = await _controller(broker.url, base, {
        qos: 0,
        commands,
        nodelay: true,
        awaitEach: false,
      });
    } else {
      controller = ControllerProcess.start(contender.command, {
        cwd: ROOT,
        env: {
          ...controllerEnv({
            url: broker.url,
            host: broker.host,
            port: broker.port,
            tank,
            root,
          }, {
            fastSockets: contender.fastSockets,
          }),
          ...contender.env,
        },
      });
    }
    await _within(
      subscribed,
      30_000,
      () =>
        `${contender.name} did not subscribe; its output:\n${
          JSON.stringify(controller?.output())
        }`,
    );

    let started = 0;
    for (let i = 0; i < WARM_UP + steps; i++) {
      if (i === WARM_UP) started = performance.now();
      const target = received + commands;
      const answered = new Promise<void>((resolve) => {
        wake = () => {
          if (received >= target) resolve();
        };
      });
      await bus.publish(
        `${base}/sensors/all`,
        JSON.stringify({ t: i * 10, temperature: 24.5, oxygen: 7 }),
        { qos: 1 },
      );
      await _within(
        answered,
        STEP_TIMEOUT_MS,
        () =>
          `${contender.name} did not answer reading ${i} within ${STEP_TIMEOUT_MS} ms`,
      );
    }
    return steps / ((performance.now() - started) / 1000);
  } finally {
    await controller?.stop();
    await inProcess?.endAsync(true);
    await bus.close();
    await broker.close();
  }
}

/**
 * The mqtt.js controller: answers each reading with `commands` publishes, all in one go (mqtt.js then writes them in
 * one TCP segment) or, with `awaitEach`, each after the one before has been written, as `await publishAsync()` does.
 */
async function _controller(
  url: string,
  base: string,
  options: {
    qos: 0 | 1;
    commands: number;
    nodelay: boolean;
    awaitEach: boolean;
  },
): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  if (options.nodelay) (client.stream as Partial<Socket>).setNoDelay?.(true);
  const names = ACTUATORS.slice(0, options.commands);
  const qos = options.qos;
  client.on("message", async () => {
    for (const name of names) {
      const topic = `${base}/control/${name}`;
      if (options.awaitEach) await client.publishAsync(topic, "on", { qos });
      else client.publish(topic, "on", { qos });
    }
  });
  await client.subscribeAsync(`${base}/sensors/all`, { qos: options.qos });
  return client;
}

async function _within<T>(
  promise: Promise<T>,
  ms: number,
  what: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(what())), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `command args` runs and exits 0 (with this process's environment, so NODE_PATH counts). */
function _succeeds(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      controller: { type: "boolean", default: false },
      qos: { type: "string", default: "0" },
      commands: { type: "string", default: "3" },
      nodelay: { type: "boolean", default: false },
      await: { type: "boolean", default: false },
      steps: { type: "string", default: "500" },
      only: { type: "string", multiple: true },
    },
  });
  if (values.controller) {
    const env = Deno.env.toObject();
    const client = await _controller(
      env.MQTT_URL!,
      `${env.TOPIC_ROOT}/${env.TANK_ID}`,
      {
        qos: values.qos === "1" ? 1 : 0,
        commands: Number(values.commands),
        nodelay: values.nodelay,
        awaitEach: values.await,
      },
    );
    Deno.addSignalListener("SIGTERM", () => {
      client.end(true, {}, () => Deno.exit(0));
    });
  } else {
    const steps = Number(values.steps);
    const commands = Number(values.commands);
    console.log(
      `Round trips per second: reading → ${commands} command(s), ${steps} steps each, on an embedded broker`,
    );
    await benchRoundTrip({
      steps,
      commands,
      ...(values.only ? { only: values.only } : {}),
      onResult: (name, perSecond) =>
        console.log(`${perSecond.toFixed(0).padStart(8)}  ${name}`),
    });
  }
}
