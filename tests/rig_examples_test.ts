/**
 * The tank you can build (`examples/rig/`): the MicroPython firmware's unit tests under CPython, and the Python demo
 * rig as a real MQTT client against Debian's mosquitto on a free loopback port, watched by an mqtt.js subscriber the
 * way a display or a controller sees it: its readings arrive on the topic contract, a heater command turns the
 * temperature trend, a retained `control_source` makes it follow another tank's control topics, and when it is killed
 * its last will marks it offline. Every wait is bounded and tied to simulated time in the messages, not to the wall
 * clock, so the tests hold on a busy machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  hasCommand,
  hasPaho,
  hasPaho2,
  ignoreWithout,
  PAHO2_PYTHON,
  startMosquitto,
} from "./_peers.ts";
import { Child, eventually, recorder } from "./_processes.ts";

const PYTHON = "/usr/bin/python3";
const RIG = "examples/rig/demo_rig.py";
const WAIT_MS = 20_000;
const SENSORS = [
  "temperature",
  "room_temperature",
  "ph",
  "oxygen",
  "light",
  "level",
];
/** Settings from the developer's shell must not reach the rig. */
const CLEAN_ENV = {
  MQTT_HOST: "",
  MQTT_PORT: "",
  MQTT_USERNAME: "",
  MQTT_PASSWORD: "",
  TANK_ID: "",
  TOPIC_ROOT: "",
};

type Message = { topic: string; text: string };
type Reading = { t: number; temperature: number } & Record<string, unknown>;

const haveMosquitto = hasCommand("mosquitto", ["-h"]);

/** The JSON payloads received on `topic`, oldest first. */
function jsonOn(messages: Message[], topic: string): Record<string, unknown>[] {
  return messages.filter((m) => m.topic === topic).map((m) =>
    JSON.parse(m.text) as Record<string, unknown>
  );
}

function readings(messages: Message[]): Reading[] {
  return jsonOn(messages, "fishtank/rig1/sensors/all") as Reading[];
}

/** Starts the demo rig on `python` against the broker on `port`, and waits until it says it is connected. */
async function startRig(
  python: string,
  port: number,
  extra: string[] = [],
): Promise<Child> {
  const rig = new Child(python, [
    RIG,
    "--tank",
    "rig1",
    "--port",
    String(port),
    // 20 simulated minutes per wall second: a heater's effect shows within a second or two.
    "--speed",
    "1200",
    "--water",
    "23",
    "--room",
    "21",
    ...extra,
  ], { env: CLEAN_ENV });
  try {
    await rig.waitFor(/connected to 127\.0\.0\.1:\d+ as fishtank\/rig1/);
  } catch (error) {
    await rig.kill();
    throw error;
  }
  return rig;
}

/** Waits for the first reading at least `seconds` simulated seconds after `from`. */
function readingAfter(
  messages: Message[],
  from: Reading,
  seconds: number,
): Promise<Reading> {
  return eventually(
    () => readings(messages).find((r) => r.t >= from.t + seconds),
    WAIT_MS,
    `a reading ${seconds} simulated s after t=${from.t}`,
  );
}

/**
 * Waits for `actuators` to show `check` in a message received after the first `since`, and returns the first reading
 * published after that.
 */
async function afterActuators(
  messages: Message[],
  since: number,
  check: (actuators: Record<string, unknown>) => boolean,
  what: string,
): Promise<Reading> {
  const index = await eventually(
    () => {
      const i = messages.findIndex((m, i) =>
        i >= since && m.topic === "fishtank/rig1/actuators" &&
        check(JSON.parse(m.text))
      );
      return i >= 0 ? i : undefined;
    },
    WAIT_MS,
    what,
  );
  return eventually(
    () => readings(messages.slice(index + 1))[0],
    WAIT_MS,
    `a reading after ${what}`,
  );
}

Deno.test({
  name:
    "test_firmware.py: the firmware's logic passes under CPython with stand-ins for machine, onewire, ds18x20, network, umqtt",
  ignore: ignoreWithout(hasCommand(PYTHON, ["--version"]), "python3"),
  async fn() {
    const output = await new Deno.Command(PYTHON, {
      args: ["examples/rig/test_firmware.py"],
      cwd: new URL("../", import.meta.url).pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) +
      new TextDecoder().decode(output.stderr);
    assert.ok(output.success, `test_firmware.py failed:\n${text}`);
    assert.match(text, /Ran \d+ tests/);
    assert.match(text, /\nOK/);
  },
});

for (
  const { label, python, available, what } of [
    {
      label: "paho 1.6",
      python: PYTHON,
      available: () => hasPaho(),
      what: "python3-paho-mqtt",
    },
    {
      label: "paho 2",
      python: PAHO2_PYTHON,
      available: () => hasPaho2(),
      what: `paho-mqtt 2 at ${PAHO2_PYTHON}`,
    },
  ]
) {
  Deno.test({
    name:
      `demo_rig.py (${label}) on mosquitto: readings arrive on the contract's topics, "heater on" warms the water, "off" stops it, killed it goes offline by its last will`,
    ignore: ignoreWithout(haveMosquitto, "mosquitto") ||
      ignoreWithout(available(), what),
    async fn() {
      await using mosquitto = await startMosquitto();
      const watcher = await recorder(mosquitto.url, ["fishtank/rig1/#"]);
      const { messages } = watcher;
      let rig: Child | undefined;
      try {
        rig = await startRig(python, mosquitto.port);
        const status = await eventually(
          () => jsonOn(messages, "fishtank/rig1/status").at(-1),
          WAIT_MS,
          "the rig's status",
        );
        assert.equal(status.state, "online");
        assert.equal(status.controlSource, "rig1");

        // Readings: sensors/all with every measurement, and each one alone as plain number text.
        const first = await eventually(
          () => readings(messages)[2],
          WAIT_MS,
          "three readings",
        );
        assert.equal(typeof first.time, "string");
        assert.ok(!Number.isNaN(Date.parse(first.time as string)));
        for (const name of SENSORS) {
          assert.equal(typeof first[name], "number", `sensors/all.${name}`);
        }
        const single = await eventually(
          () =>
            messages.find((m) =>
              m.topic === "fishtank/rig1/sensors/temperature"
            ),
          WAIT_MS,
          "sensors/temperature",
        );
        assert.match(single.text, /^\d+(\.\d+)?$/);
        assert.equal(
          Number(single.text) % 0.0625,
          0,
          "DS18B20 steps of 1/16 °C",
        );

        // Heater on: the water warms (100 W in 60 L, less what it loses to the room: about 0.6 K in 30 simulated minutes).
        let since = messages.length;
        await watcher.client.publishAsync(
          "fishtank/rig1/control/heater",
          "on",
          { qos: 1 },
        );
        const heating = await afterActuators(
          messages,
          since,
          (a) => a.heater === 100 && a.source === "rig1",
          "actuators showing the heater at 100 %",
        );
        const warmer = await readingAfter(messages, heating, 1800);
        assert.ok(
          warmer.temperature - heating.temperature >= 0.4,
          `heater on: ${heating.temperature} °C at t=${heating.t}, ${warmer.temperature} °C at t=${warmer.t}`,
        );

        // Heater off: the water no longer warms (it cools toward the 21 °C room).
        since = messages.length;
        await watcher.client.publishAsync(
          "fishtank/rig1/control/heater",
          "off",
          { qos: 1 },
        );
        const cooling = await afterActuators(
          messages,
          since,
          (a) => a.heater === 0,
          "actuators showing the heater off",
        );
        const later = await readingAfter(messages, cooling, 1800);
        assert.ok(
          later.temperature <= cooling.temperature,
          `heater off: ${cooling.temperature} °C at t=${cooling.t}, ${later.temperature} °C at t=${later.t}`,
        );

        // A command the tank would refuse is refused on errors, as the simulated tank does.
        await watcher.client.publishAsync(
          "fishtank/rig1/control/heater",
          "0.5",
          { qos: 1 },
        );
        const error = await eventually(
          () => jsonOn(messages, "fishtank/rig1/errors")[0],
          WAIT_MS,
          "an error for heater=0.5",
        );
        assert.equal(error.topic, "fishtank/rig1/control/heater");
        assert.match(String(error.error), /ambiguous/);

        // Killed without a goodbye: the broker publishes the rig's last will.
        rig.process.kill("SIGKILL");
        await rig.exit(WAIT_MS);
        const last = await eventually(
          () => {
            const s = jsonOn(messages, "fishtank/rig1/status").at(-1);
            return s?.state === "offline" ? s : undefined;
          },
          WAIT_MS,
          "the last will's status offline",
        );
        assert.deepEqual(last, { state: "offline" });
      } catch (error) {
        throw new Error(`${error}\nrig output:\n${rig?.output ?? ""}`, {
          cause: error,
        });
      } finally {
        await rig?.kill();
        await watcher.close();
      }
    },
  });
}

Deno.test({
  name:
    "demo_rig.py follows tank1's control topics while its retained control_source names tank1, its own after self, and says offline when stopped",
  ignore: ignoreWithout(haveMosquitto, "mosquitto") ||
    ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    await using mosquitto = await startMosquitto();
    const watcher = await recorder(mosquitto.url, ["fishtank/rig1/#"]);
    const { messages, client } = watcher;
    const publish = (topic: string, payload: string, retain = false) =>
      client.publishAsync(topic, payload, { qos: 1, retain });
    const actuators = () =>
      jsonOn(messages, "fishtank/rig1/actuators").at(-1) ?? {};
    let rig: Child | undefined;
    try {
      // Set before the rig starts: it learns it from the retained message.
      await publish("fishtank/rig1/control_source", "tank1", true);
      rig = await startRig(PYTHON, mosquitto.port);
      await eventually(
        () => actuators().source === "tank1",
        WAIT_MS,
        "actuators with source tank1",
      );
      assert.equal(
        jsonOn(messages, "fishtank/rig1/status").at(-1)?.controlSource,
        "tank1",
      );
      // Its own heater topic is ignored while it follows tank1. The rig handles messages in order, so once tank1's
      // light command shows, the heater command before it has been dealt with.
      await publish("fishtank/rig1/control/heater", "on");
      await publish("fishtank/tank1/control/light", "on");
      await eventually(() => actuators().light === true, WAIT_MS, "light on");
      assert.equal(actuators().heater, 0);
      await publish("fishtank/tank1/control/all", '{"heater": 40}');
      await eventually(
        () => actuators().heater === 40,
        WAIT_MS,
        "tank1's heater power 40 %",
      );

      // Handover: its own control topics again.
      await publish("fishtank/rig1/control_source", "self", true);
      await eventually(
        () => actuators().source === "rig1",
        WAIT_MS,
        "actuators with source rig1",
      );
      await publish("fishtank/tank1/control/heater", "on");
      await publish("fishtank/rig1/control/pump", "on");
      await eventually(() => actuators().pump === true, WAIT_MS, "pump on");
      assert.equal(actuators().heater, 40);

      // Stopped cleanly (Ctrl+C, SIGTERM): it says offline itself, with its last state.
      rig.process.kill("SIGTERM");
      const status = await rig.exit(WAIT_MS);
      assert.equal(status.code, 0, rig.output);
      const last = await eventually(
        () => jsonOn(messages, "fishtank/rig1/status").at(-1),
        WAIT_MS,
        "the final status",
      );
      assert.equal(last.state, "offline");
      assert.equal(last.controlSource, "rig1");
    } catch (error) {
      throw new Error(`${error}\nrig output:\n${rig?.output ?? ""}`, {
        cause: error,
      });
    } finally {
      await rig?.kill();
      await watcher.close();
    }
  },
});

Deno.test({
  name:
    "demo_rig.py --help names the tank, the broker, the credentials' variables and control_source",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    const help = new Child(PYTHON, [RIG, "--help"], { env: CLEAN_ENV });
    const status = await help.exit(WAIT_MS);
    assert.equal(status.code, 0, help.output);
    for (
      const word of [
        "--tank",
        "--host",
        "--port",
        "--username",
        "MQTT_USERNAME",
        "MQTT_PASSWORD",
        "control_source",
        "deno task sim --rig rig1",
      ]
    ) {
      assert.ok(help.output.includes(word), `--help mentions ${word}`);
    }
  },
});
