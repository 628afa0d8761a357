/**
 * The demo rig in the original kit's layout (`examples/rig/demo_rig.py --layout olp`) on `deno task sim --layout olp
 * --rig fake`: its `sensors/all` carries the kit's field names beside ours, under `OLP/device/tank`, and it obeys the
 * kit's `True`/`False` commands from the tank it follows. Real processes, paho and mqtt.js over TCP.
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { Child } from "./_processes.ts";
import { hasPaho, ignoreWithout } from "./_peers.ts";

Deno.test({
  name:
    "demo_rig.py --layout olp: the kit's field names (lux, ambient_temperature, humidity) in its sensors/all under OLP/device/tank, and True/False commands obeyed",
  ignore: ignoreWithout(hasPaho(), "python3 with paho-mqtt"),
  async fn() {
    const sim = new Child(Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-run",
      "cli/sim.ts",
      "--port=0",
      "--ws-port=0",
      "--layout=olp",
      "--speed=600",
      "--quiet",
      "--rig=fake",
      "--rig-control-from=id",
    ]);
    let rig: Child | undefined;
    let client: mqtt.MqttClient | undefined;
    try {
      const url = (await sim.waitFor(/MQTT\s+(mqtt:\/\/\S+)/, 60_000))[1]!;
      client = await mqtt.connectAsync(url, {
        reconnectPeriod: 0,
        protocolVersion: 4,
        connectTimeout: 5000,
      });
      const readings: Record<string, unknown>[] = [];
      client.on("message", (topic, bytes) => {
        if (topic === "OLP/device/tank/fake/sensors/all") {
          readings.push(JSON.parse(String(bytes)));
        }
      });
      await client.subscribeAsync("OLP/device/tank/fake/sensors/all", {
        qos: 1,
      });
      rig = new Child("/usr/bin/python3", [
        "-u",
        "examples/rig/demo_rig.py",
        "--layout=olp",
        "--tank=fake",
        `--port=${new URL(url).port}`,
        "--speed=600",
        "--period=60",
      ]);
      await rig.waitFor(/now following id's control topics/, 30_000);
      const deadline = performance.now() + 20_000;
      while (readings.length === 0) {
        assert.ok(performance.now() < deadline, "no sensors/all from the rig");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const all = readings[0]!;
      assert.equal(all.lux, all.light);
      assert.equal(all.ambient_temperature, all.room_temperature);
      assert.equal(all.humidity, all.oxygen);
      assert.equal(typeof all.temperature, "number");
      assert.doesNotMatch(sim.output, /refused OLP\/device\/tank\/fake/);

      await client.publishAsync("OLP/device/tank/id/control/heater", "True", {
        qos: 1,
      });
      await rig.waitFor(
        /heater 100 % \(from OLP\/device\/tank\/id\/control\/heater\)/,
        20_000,
      );
      await client.publishAsync("OLP/device/tank/id/control/heater", "False", {
        qos: 1,
      });
      await rig.waitFor(/heater 0 % \(from OLP\/device\/tank\/id/, 20_000);
    } finally {
      await client?.endAsync(true);
      await rig?.kill();
      await sim.kill();
    }
  },
});
