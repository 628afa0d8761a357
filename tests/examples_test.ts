/**
 * The example controllers in `examples/` against a real broker (mosquitto on a free port): a test publishes readings
 * the way the tank does and checks the commands and acks each example sends back. The Python example runs on
 * Debian's paho-mqtt 1.6, and once more with that library dressed up as paho-mqtt 2 (see {@linkcode PAHO2_RUNNER}).
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import {
  hasCommand,
  hasPaho,
  ignoreWithout,
  startMosquitto,
} from "./_peers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const WAIT_MS = 15_000;

/** An example controller as a child process, its output collected for failure messages. */
class Example {
  readonly #process: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #cleanup: (() => Promise<void>) | undefined;
  output = "";

  constructor(
    command: string,
    args: string[],
    env: Record<string, string>,
    cleanup?: () => Promise<void>,
  ) {
    this.#cleanup = cleanup;
    this.#process = new Deno.Command(command, {
      args,
      cwd: ROOT,
      // Unset settings must not leak in from the developer's shell.
      env: {
        MQTT_URL: "",
        MQTT_HOST: "",
        MQTT_PORT: "",
        TANK_ID: "",
        TOPIC_ROOT: "",
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#collect(this.#process.stdout),
      this.#collect(this.#process.stderr),
    ]).then(() => {});
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.output += decoder.decode(chunk, { stream: true });
    }
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL if it does not come. */
  async stop(
    signal: Deno.Signal = "SIGTERM",
  ): Promise<Deno.CommandStatus | undefined> {
    try {
      this.#process.kill(signal);
    } catch {
      // Already gone.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.#process.status,
      new Promise<undefined>((resolve) =>
        timer = setTimeout(() => resolve(undefined), 5_000)
      ),
    ]);
    clearTimeout(timer);
    if (status === undefined) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await this.#process.status;
    }
    await this.#done;
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    await cleanup?.();
    return status;
  }
}

/** A test client that publishes like the tank and records every message on the broker. */
async function tankSide(url: string) {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  const messages: { topic: string; text: string }[] = [];
  client.on(
    "message",
    (topic, payload) => messages.push({ topic, text: payload.toString() }),
  );
  await client.subscribeAsync("#", { qos: 1 });
  return {
    messages,
    publish: (topic: string, payload: unknown, retain = false) =>
      client.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain }),
    close: () => client.endAsync(),
  };
}

/** Polls `check` every 20 ms until it holds, at most {@linkcode WAIT_MS}. */
async function eventually(
  check: () => boolean,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A `sensors/all` payload at simulated `hh:mm` on the first day. */
function reading(
  hhmm: string,
  values: { temperature: number | null; oxygen: number },
) {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return {
    time: `2026-01-15T${hhmm}:00.000Z`,
    t: (h - 6) * 3600 + m * 60,
    room_temperature: 21,
    ph: 7.2,
    light: 100,
    level: 33,
    ...values,
  };
}

/**
 * Runs paho-mqtt 1.6 dressed up as paho-mqtt 2.x, then the script named on the command line: `Client()` requires a
 * `CallbackAPIVersion` (as in 2.0), and with VERSION2 the callbacks get 2.x arguments (flags object, `ReasonCode`,
 * properties). It checks the example's detection and callback signatures without paho 2 installed.
 */
const PAHO2_RUNNER = `
import enum, runpy, sys
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes

class CallbackAPIVersion(enum.Enum):
    VERSION1 = 1
    VERSION2 = 2

class ConnectFlags:
    def __init__(self, session_present):
        self.session_present = session_present

def code(packet, rc):
    return ReasonCodes(packet, identifier=0 if rc == 0 else 128)

Base = mqtt.Client

def adapt(name, wrap):
    prop = getattr(Base, name)
    def setter(self, func):
        prop.fset(self, wrap(func) if func is not None and self._v2 else func)
    return property(prop.fget, setter)

class Client(Base):
    def __init__(self, callback_api_version, *args, **kwargs):
        if not isinstance(callback_api_version, CallbackAPIVersion):
            raise ValueError("Unsupported callback API version: paho-mqtt 2 needs a CallbackAPIVersion")
        self._v2 = callback_api_version is CallbackAPIVersion.VERSION2
        super().__init__(*args, **kwargs)

    on_connect = adapt("on_connect", lambda f: lambda c, u, flags, rc: f(
        c, u, ConnectFlags(bool(flags.get("session present"))), code(PacketTypes.CONNACK, rc),
        Properties(PacketTypes.CONNACK)))
    on_disconnect = adapt("on_disconnect", lambda f: lambda c, u, rc: f(
        c, u, None, code(PacketTypes.DISCONNECT, rc), Properties(PacketTypes.DISCONNECT)))
    on_subscribe = adapt("on_subscribe", lambda f: lambda c, u, mid, granted: f(
        c, u, mid, [ReasonCodes(PacketTypes.SUBACK, identifier=q) for q in granted], Properties(PacketTypes.SUBACK)))
    on_publish = adapt("on_publish", lambda f: lambda c, u, mid: f(
        c, u, mid, code(PacketTypes.PUBACK, 0), Properties(PacketTypes.PUBACK)))

mqtt.Client = Client
mqtt.CallbackAPIVersion = CallbackAPIVersion
print("(paho-mqtt 1.6 dressed up as 2.x)", flush=True)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
`;

type Kind = "ts" | "py" | "py-paho2";

async function startExample(
  kind: Kind,
  env: Record<string, string>,
): Promise<Example> {
  if (kind === "ts") {
    return new Example(
      Deno.execPath(),
      ["run", "-A", "examples/thermostat.ts"],
      env,
    );
  }
  if (kind === "py") {
    return new Example(PYTHON, ["examples/thermostat.py"], env);
  }
  const runner = await Deno.makeTempFile({
    prefix: "paho2-runner-",
    suffix: ".py",
  });
  await Deno.writeTextFile(runner, PAHO2_RUNNER);
  return new Example(
    PYTHON,
    [runner, "examples/thermostat.py"],
    env,
    () => Deno.remove(runner),
  );
}

/** Cold → heater on, warm → heater off, low oxygen → pump on, the light by the clock, an ack after each reading. */
async function controlsTheTank(kind: Kind): Promise<void> {
  const broker = await startMosquitto();
  const tank = await tankSide(broker.url);
  const base = "fishtank/tank1";
  let example: Example | undefined;
  const commands = (name: string) =>
    tank.messages.filter((m) => m.topic === `${base}/control/${name}`).map((
      m,
    ) => m.text);
  const acks = () => tank.messages.filter((m) => m.topic === `${base}/ack`);
  try {
    // Retained, as the tank publishes it: the example gets it however long it takes to start.
    await tank.publish(
      `${base}/sensors/all`,
      reading("06:00", { temperature: 22.5, oxygen: 8 }),
      true,
    );
    example = await startExample(kind, {
      MQTT_HOST: "127.0.0.1",
      MQTT_PORT: String(broker.port),
    });
    const log = () =>
      `the example's output:\n${example?.output}\nmessages: ${
        JSON.stringify(tank.messages)
      }`;
    await eventually(() => acks().length === 1, () => `ack 1; ${log()}`);
    // Once at the start, every actuator is told what to do, and before the ack.
    assert.deepEqual(commands("heater"), ["on"], log());
    assert.deepEqual(commands("light"), ["off"], log());
    assert.deepEqual(commands("pump"), ["off"], log());
    const ackAt = tank.messages.findIndex((m) => m.topic === `${base}/ack`);
    assert.ok(
      tank.messages.findIndex((m) => m.topic === `${base}/control/heater`) <
        ackAt,
      log(),
    );

    // Still below 24.5: nothing changes, so nothing is sent.
    await tank.publish(
      `${base}/sensors/all`,
      reading("07:00", { temperature: 24.2, oxygen: 8 }),
    );
    await eventually(() => acks().length === 2, () => `ack 2; ${log()}`);
    assert.deepEqual(commands("heater"), ["on"], log());

    await tank.publish(
      `${base}/sensors/all`,
      reading("12:00", { temperature: 25.8, oxygen: 8 }),
    );
    await eventually(() => acks().length === 3, () => `ack 3; ${log()}`);
    assert.deepEqual(commands("heater"), ["on", "off"], log());
    assert.deepEqual(commands("light"), ["off", "on"], log());

    // A dropped-out temperature sensor (null) leaves the heater alone; low oxygen starts the pump.
    await tank.publish(
      `${base}/sensors/all`,
      reading("12:10", { temperature: null, oxygen: 5.9 }),
    );
    await eventually(() => acks().length === 4, () => `ack 4; ${log()}`);
    assert.deepEqual(commands("pump"), ["off", "on"], log());
    assert.deepEqual(commands("heater"), ["on", "off"], log());

    await tank.publish(
      `${base}/sensors/all`,
      reading("21:00", { temperature: 25, oxygen: 7.8 }),
    );
    await eventually(() => acks().length === 5, () => `ack 5; ${log()}`);
    assert.deepEqual(commands("pump"), ["off", "on", "off"], log());
    assert.deepEqual(commands("light"), ["off", "on", "off"], log());
    // The ack carries the reading's simulated time.
    assert.deepEqual(acks().map((m) => m.text), [
      "0",
      "3600",
      "21600",
      "22200",
      "54000",
    ]);

    // Ctrl+C stops it cleanly.
    const status = await example.stop("SIGINT");
    assert.equal(status?.code, 0, log());
    assert.match(example.output, /heater on/);
  } finally {
    await example?.stop();
    await tank.close();
    await broker.stop();
  }
}

/** TOPIC_ROOT/TANK_ID (the original kit's layout), MQTT_URL, and the range published on ranges/temperature. */
async function followsLayoutAndRange(kind: Kind): Promise<void> {
  const broker = await startMosquitto();
  const tank = await tankSide(broker.url);
  const base = "OLP/device/tank/id";
  let example: Example | undefined;
  const controls = () =>
    tank.messages.filter((m) => m.topic.includes("/control/"));
  const acks = () => tank.messages.filter((m) => m.topic.endsWith("/ack"));
  try {
    // With 27–29 °C the example heats below 27.5; with its default 24–26 it would not heat at 26 °C.
    await tank.publish(
      `${base}/ranges/temperature`,
      { min: 27, max: 29 },
      true,
    );
    await tank.publish(
      `${base}/sensors/all`,
      reading("09:00", { temperature: 26, oxygen: 8 }),
      true,
    );
    example = await startExample(kind, {
      MQTT_URL: broker.url,
      TOPIC_ROOT: "OLP/device/tank",
      TANK_ID: "id",
    });
    const log = () =>
      `the example's output:\n${example?.output}\nmessages: ${
        JSON.stringify(tank.messages)
      }`;
    await eventually(() => acks().length === 1, () => `ack 1; ${log()}`);
    await tank.publish(
      `${base}/sensors/all`,
      reading("09:10", { temperature: 28.8, oxygen: 8 }),
    );
    await eventually(() => acks().length === 2, () => `ack 2; ${log()}`);

    const heater = controls().filter((m) =>
      m.topic === `${base}/control/heater`
    ).map((m) => m.text);
    assert.deepEqual(heater, ["on", "off"], log());
    for (const m of [...controls(), ...acks()]) {
      assert.ok(m.topic.startsWith(`${base}/`), `stray topic ${m.topic}`);
    }
    // A one-sided range keeps the other bound 2 °C away.
    await tank.publish(
      `${base}/ranges/temperature`,
      { min: 20, max: null },
      true,
    );
    await tank.publish(
      `${base}/sensors/all`,
      reading("09:20", { temperature: 20.2, oxygen: 8 }),
    );
    await eventually(() => acks().length === 3, () => `ack 3; ${log()}`);
    assert.equal(
      controls().filter((m) => m.topic === `${base}/control/heater`).at(-1)
        ?.text,
      "on",
      log(),
    );

    const status = await example.stop("SIGTERM");
    assert.equal(status?.code, 0, log());
  } finally {
    await example?.stop();
    await tank.close();
    await broker.stop();
  }
}

const noMosquitto = !hasCommand("mosquitto", ["-h"]);
const noPython = noMosquitto || !hasPaho();

Deno.test({
  name:
    "thermostat.ts switches heater, pump and light with hysteresis and acks each reading",
  ignore: ignoreWithout(!noMosquitto, "mosquitto"),
  fn: () => controlsTheTank("ts"),
});

Deno.test({
  name:
    "thermostat.ts follows TOPIC_ROOT/TANK_ID (olp layout), MQTT_URL and the published temperature range",
  ignore: ignoreWithout(!noMosquitto, "mosquitto"),
  fn: () => followsLayoutAndRange("ts"),
});

Deno.test({
  name:
    "thermostat.py (paho-mqtt 1.6) switches heater, pump and light with hysteresis and acks each reading",
  ignore: ignoreWithout(!noPython, "mosquitto and python3-paho-mqtt"),
  fn: () => controlsTheTank("py"),
});

Deno.test({
  name:
    "thermostat.py follows TOPIC_ROOT/TANK_ID (olp layout), MQTT_URL and the published temperature range",
  ignore: ignoreWithout(!noPython, "mosquitto and python3-paho-mqtt"),
  fn: () => followsLayoutAndRange("py"),
});

Deno.test({
  name:
    "thermostat.py works with the paho-mqtt 2 API (CallbackAPIVersion.VERSION2 callbacks)",
  ignore: ignoreWithout(!noPython, "mosquitto and python3-paho-mqtt"),
  fn: () => controlsTheTank("py-paho2"),
});
