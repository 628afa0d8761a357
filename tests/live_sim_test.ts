/**
 * End-to-end runs of `deno task sim` as a real process, with real clients: the Python example controller (paho on
 * /usr/bin/python3), mosquitto's command-line clients, an MQTT 5 client and a program written for the original kit.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import { Child, eventually, recorder, startSim } from "./_processes.ts";
import {
  hasCommand,
  hasPaho,
  ignoreWithout,
  startMosquitto,
} from "./_peers.ts";

const PYTHON = "/usr/bin/python3";

Deno.test({
  name:
    "deno task sim with the Python example controller keeps the water in 24–26 °C for 12 simulated hours",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    const sim = await startSim([
      "--port=0",
      "--ws-port=0",
      "--speed=2400",
      "--duration=12h",
      "--scenario=steady-day",
      "--quiet",
    ]);
    const rec = await recorder(sim.url, [
      "fishtank/tank1/sensors/all",
      "fishtank/tank1/actuators",
    ]);
    const controller = new Child(PYTHON, ["examples/thermostat.py"], {
      env: {
        MQTT_HOST: "127.0.0.1",
        MQTT_PORT: String(sim.port),
        TANK_ID: "tank1",
        TOPIC_ROOT: "fishtank",
      },
    });
    try {
      const status = await sim.child.exit(90_000);
      assert.equal(status.code, 0, sim.child.output);
      assert.match(
        sim.child.output,
        /Simulation finished after 43200 simulated seconds/,
      );
      const readings = rec.messages
        .filter((m) => m.topic.endsWith("/sensors/all"))
        .map((m) =>
          JSON.parse(m.text) as {
            t: number;
            temperature: number;
            oxygen: number;
          }
        );
      // One reading every 10 simulated seconds for 12 hours (the recorder may miss the first few).
      assert.ok(readings.length > 4000, `only ${readings.length} readings`);
      assert.ok(
        readings.at(-1)!.t >= 43190,
        `last reading at t=${readings.at(-1)!.t}`,
      );
      const temperatures = readings.map((r) => r.temperature);
      const low = Math.min(...temperatures);
      const high = Math.max(...temperatures);
      assert.ok(
        low >= 24 && high <= 26,
        `water left 24–26 °C: ${low} … ${high}`,
      );
      // The controller really controlled: the heater went on and off again.
      const heater = rec.messages.filter((m) => m.topic.endsWith("/actuators"))
        .map((m) => JSON.parse(m.text).heater);
      assert.ok(
        heater.includes(100) && heater.lastIndexOf(0) > heater.indexOf(100),
        `heater states: ${heater}`,
      );
    } finally {
      await controller.kill();
      await rec.close();
      await sim.child.kill();
    }
  },
});

Deno.test({
  name:
    "mosquitto_sub sees the tank's topics and mosquitto_pub -V mqttv5 switches its heater",
  ignore: ignoreWithout(
    hasCommand("mosquitto_sub", ["--help"]),
    "mosquitto-clients",
  ),
  async fn() {
    const sim = await startSim([
      "--port=0",
      "--ws-port=0",
      "--speed=600",
      "--duration=2h",
      "--quiet",
    ]);
    const rec = await recorder(sim.url, ["fishtank/tank1/actuators"], {
      protocolVersion: 5,
    });
    try {
      const sub = await new Deno.Command("mosquitto_sub", {
        args: [
          "-h",
          "127.0.0.1",
          "-p",
          String(sim.port),
          "-V",
          "mqttv311",
          "-t",
          "fishtank/#",
          "-v",
          "-C",
          "60",
          "-W",
          "10",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const seen = new TextDecoder().decode(sub.stdout);
      for (
        const topic of [
          "sensors/temperature",
          "sensors/ph",
          "sensors/oxygen",
          "sensors/all",
          "ranges/temperature",
          "status",
        ]
      ) {
        assert.match(
          seen,
          new RegExp(`^fishtank/tank1/${topic} `, "m"),
          `mosquitto_sub did not see ${topic}:\n${seen}`,
        );
      }
      assert.match(
        seen,
        /^fishtank\/tank1\/sensors\/temperature \d+(\.\d+)?$/m,
      );
      // Live readings, not only the retained ones: a subscription to everything sees sensors/all move on.
      const times = new Set(
        [...seen.matchAll(/^fishtank\/tank1\/sensors\/all (.*)$/gm)].map((m) =>
          JSON.parse(m[1]!).t
        ),
      );
      assert.ok(
        times.size >= 3,
        `only ${times.size} distinct readings:\n${seen}`,
      );
      const pub = await new Deno.Command("mosquitto_pub", {
        args: [
          "-h",
          "127.0.0.1",
          "-p",
          String(sim.port),
          "-V",
          "mqttv5",
          "-t",
          "fishtank/tank1/control/heater",
          "-m",
          "on",
        ],
      }).output();
      assert.equal(pub.code, 0, new TextDecoder().decode(pub.stderr));
      await eventually(
        () => rec.messages.some((m) => JSON.parse(m.text).heater === 100),
        10_000,
        "the heater to be on after an MQTT 5 publish",
      );
    } finally {
      await rec.close();
      await sim.child.kill();
    }
  },
});

Deno.test({
  name:
    "a program written for the original kit (paho MQTTv5, OLP/device/tank/id, True/False) runs unchanged",
  ignore: ignoreWithout(hasPaho(), "python3-paho-mqtt"),
  async fn() {
    const sim = await startSim([
      "--port=0",
      "--ws-port=0",
      "--layout=olp",
      "--speed=600",
      "--duration=2h",
      "--quiet",
    ]);
    const rec = await recorder(sim.url, ["OLP/device/tank/id/actuators"]);
    const kit = new Child(PYTHON, ["tests/fixtures/kit_controller.py", "8"], {
      env: { MQTT_PORT: String(sim.port) },
    });
    try {
      await kit.waitFor(/^fields \d/m, 15_000);
      await kit.waitFor(/^heater (True|False) at/m, 15_000);
      const applied = await eventually(
        () =>
          rec.messages.map((m) => JSON.parse(m.text)).find((a) =>
            a.pump === true
          ),
        10_000,
        "the kit's control/all JSON to be applied",
      );
      assert.equal(applied.source, "id");
      assert.match(
        kit.output,
        /^fields [\d.]+ [\d.]+ [\d.]+$/m,
        "sensors/all carries lux, humidity, ambient_temperature",
      );
    } finally {
      await kit.kill();
      await rec.close();
      await sim.child.kill();
    }
  },
});

Deno.test("bad input on any topic is answered on …/errors and the simulation carries on", async () => {
  const sim = await startSim([
    "--port=0",
    "--ws-port=0",
    "--speed=600",
    "--duration=4h",
  ]);
  const rec = await recorder(sim.url, [
    "fishtank/tank1/errors",
    "fishtank/tank1/clock",
    "fishtank/tank1/ranges/+",
  ]);
  try {
    const bad: [string, string | Uint8Array][] = [
      ["fishtank/tank1/control/fan", "on"],
      ["fishtank/tank1/control/heater", "maybe"],
      ["fishtank/tank1/control/all", "{not json"],
      ["fishtank/tank1/ranges/temperature", '{"min":26,"max":24}'],
      // Over the 4 KiB a command may take, under the broker's 64 KiB packet cap.
      [
        "fishtank/tank1/control/pump",
        new Uint8Array(60 * 1024).fill(0x41),
      ],
    ];
    for (const [topic, payload] of bad) {
      await rec.client.publishAsync(topic, payload as string, { qos: 1 });
    }
    // Fake readings from a client are refused (only the simulator publishes them) and never delivered.
    const seen: string[] = [];
    const watcher = await mqtt.connectAsync(sim.url, { reconnectPeriod: 0 });
    watcher.on("message", (_topic, bytes) => seen.push(String(bytes)));
    await watcher.subscribeAsync("fishtank/tank1/sensors/all");
    await rec.client.publishAsync(
      "fishtank/tank1/sensors/all",
      '{"t":1,"temperature":99.5}',
      { qos: 1 },
    );
    await eventually(
      () => /refused fishtank\/tank1\/sensors\/all from/.test(sim.child.output),
      5_000,
      "the simulator to report the refused reading",
    );
    await watcher.endAsync();
    assert.ok(!seen.some((text) => text.includes("99.5")), "fake delivered");

    // Over the packet cap: that client is disconnected, the others carry on.
    const big = await mqtt.connectAsync(sim.url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => big.once("close", resolve));
    big.on("error", () => {});
    big.publish(
      "fishtank/tank1/control/pump",
      Buffer.alloc(10 * 1024 * 1024, 0x41),
      { qos: 0 },
    );
    await closed;
    big.end(true);
    const errors = await eventually(
      () => {
        const found = rec.messages.filter((m) => m.topic.endsWith("/errors"));
        return found.length >= bad.length
          ? found.map((m) => JSON.parse(m.text))
          : undefined;
      },
      15_000,
      "an error message for each bad publish",
    );
    assert.match(
      errors.find((e) => e.topic.endsWith("/fan"))!.error,
      /unknown actuator "fan"/,
    );
    assert.match(
      errors.find((e) => e.topic.endsWith("/heater"))!.error,
      /got "maybe"/,
    );
    assert.match(
      errors.find((e) => e.topic.endsWith("/ranges/temperature"))!.error,
      /min \(26\) must be below max/,
    );
    assert.match(
      errors.find((e) => e.topic.endsWith("/pump"))!.error,
      /payload too large/,
    );
    assert.match(sim.child.output, /rejected fishtank\/tank1\/control\/heater/);
    // The refused range is put back: the last retained range is the one in force.
    const ranges = rec.messages.filter((m) =>
      m.topic.endsWith("/ranges/temperature")
    ).map((m) => JSON.parse(m.text));
    assert.deepEqual(ranges.at(-1), { min: 24, max: 26 });
    // Still running: the clock moves on after the bad input.
    const clock = () =>
      rec.messages.filter((m) => m.topic.endsWith("/clock")).at(-1);
    const before = JSON.parse(
      (await eventually(clock, 10_000, "a clock message")).text,
    ).t;
    await eventually(
      () =>
        JSON.parse(
          rec.messages.filter((m) => m.topic.endsWith("/clock")).at(-1)!.text,
        ).t > before + 60,
      10_000,
      "the simulated clock to advance",
    );
  } finally {
    await rec.close();
    await sim.child.kill();
  }
});

Deno.test("deno task sim refuses bad options with a message naming the flag, exit code 2", async () => {
  for (
    const [args, message] of [
      [
        ["--speed", "fast"],
        /--speed: expected a positive number or "max", got "fast"/,
      ],
      [["--scenario", "no-such-scenario"], /no-such-scenario/],
      [["--tanks", "0"], /--tanks: expected a whole number from 1/],
      [["--topic-root", "fish/#"], /must not contain \+, #/],
      [["--layout", "nope"], /--layout: expected one of fishtank, olp/],
      [["--frobnicate"], /frobnicate/],
    ] as [string[], RegExp][]
  ) {
    const child = new Child(Deno.execPath(), [
      "run",
      "-A",
      "cli/sim.ts",
      "--port=0",
      "--ws-port=0",
      ...args,
    ]);
    const status = await child.exit(20_000);
    assert.equal(status.code, 2, `${args.join(" ")}: ${child.output}`);
    assert.match(child.output, message);
  }
});

Deno.test({
  name:
    "deno task sim --broker runs three tanks on Debian's mosquitto, whose last wills mark them offline",
  ignore: ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto"),
  async fn() {
    await using mosquitto = await startMosquitto();
    const sim = await startSim([
      `--broker=${mosquitto.url}`,
      "--tanks=3",
      "--speed=600",
      "--duration=6h",
      "--quiet",
    ]);
    const rec = await recorder(mosquitto.url, [
      "fishtank/+/status",
      "fishtank/+/sensors/all",
    ]);
    try {
      assert.equal(sim.url, mosquitto.url);
      const statusOf = (tank: string) =>
        rec.messages.filter((m) => m.topic === `fishtank/${tank}/status`).map((
          m,
        ) => JSON.parse(m.text).state).at(-1);
      for (const tank of ["tank1", "tank2", "tank3"]) {
        await eventually(
          () => statusOf(tank) === "online",
          10_000,
          `${tank} online on mosquitto`,
        );
        await eventually(
          () =>
            rec.messages.filter((m) =>
              m.topic === `fishtank/${tank}/sensors/all`
            ).length >= 3,
          10_000,
          `live readings of ${tank}`,
        );
      }
      // A crash, not a shutdown: only the broker's last wills can say the tanks went away.
      sim.child.process.kill("SIGKILL");
      await sim.child.process.status;
      for (const tank of ["tank1", "tank2", "tank3"]) {
        await eventually(
          () => statusOf(tank) === "offline",
          10_000,
          `${tank}'s last will`,
        );
      }
    } finally {
      await rec.close();
      await sim.child.kill();
    }
  },
});

Deno.test("deno task sim on another port suggests commands that reach it: the display and the example controllers name the broker", async () => {
  const sim = await startSim([
    "--port=0",
    "--ws-port=0",
    "--speed=max",
    "--duration=10m",
  ]);
  try {
    const url = sim.url.replaceAll(".", "\\.");
    await sim.child.waitFor(
      new RegExp(`deno task display --broker ${url}\\s+watch the tank`),
    );
    assert.match(
      sim.child.output,
      new RegExp(`MQTT_URL=${url} python3 examples/thermostat\\.py`),
    );
    assert.match(sim.child.output, /1 tank running as fast as possible/);
  } finally {
    await sim.child.kill();
  }
});
