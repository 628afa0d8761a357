/**
 * The original kit's demo: a "fake tank" (a demo rig, here a second simulated tank) follows the control data of a
 * simulated tank, then a control system subscribed to the fake tank's own measurements takes over through the retained
 * `control_source` topic. Real embedded broker, real MQTT clients.
 */

import assert from "node:assert/strict";
import { loadScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { TankNode } from "../harness/live/mod.ts";
import { eventually, recorder } from "./_processes.ts";

Deno.test("a tank follows another tank's commands, then hands over to its own controller and back", async () => {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const scenario = await loadScenario("steady-day");
  const tank1 = await TankNode.start({ bus, scenario, tank: "tank1" });
  const rig = await TankNode.start({
    bus,
    scenario,
    tank: "rig",
    controlFrom: "tank1",
  });
  const watcher = await recorder(broker.url, ["fishtank/rig/actuators"]);
  const heaterOfRig = () =>
    JSON.parse(watcher.messages.at(-1)?.text ?? "{}").heater;
  try {
    assert.equal(rig.controlSource, "tank1");
    // tank1's controller switches the heater on: the rig follows.
    await watcher.client.publishAsync("fishtank/tank1/control/heater", "on", {
      qos: 1,
    });
    await eventually(
      () => heaterOfRig() === 100,
      5000,
      "the rig to follow tank1's heater command",
    );
    assert.equal(tank1.sim.inputs.heater, 1);
    // A command on the rig's own topic is ignored while it follows tank1.
    await watcher.client.publishAsync("fishtank/rig/control/heater", "off", {
      qos: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(rig.sim.inputs.heater, 1);

    // Handover: the rig's own controller takes over.
    await watcher.client.publishAsync("fishtank/rig/control_source", "self", {
      qos: 1,
      retain: true,
    });
    await eventually(
      () => rig.controlSource === "rig",
      5000,
      "the handover to the rig's own topics",
    );
    await watcher.client.publishAsync("fishtank/rig/control/heater", "off", {
      qos: 1,
    });
    await eventually(
      () => heaterOfRig() === 0,
      5000,
      "the rig's own controller to switch the heater off",
    );
    await watcher.client.publishAsync("fishtank/tank1/control/heater", "on", {
      qos: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(
      rig.sim.inputs.heater,
      0,
      "tank1's commands no longer reach the rig",
    );
    assert.equal(JSON.parse(watcher.messages.at(-1)!.text).source, "rig");

    // And back again.
    await watcher.client.publishAsync("fishtank/rig/control_source", "tank1", {
      qos: 1,
      retain: true,
    });
    await eventually(
      () => rig.controlSource === "tank1",
      5000,
      "the handover back to tank1",
    );
    await watcher.client.publishAsync("fishtank/tank1/control/heater", "75", {
      qos: 1,
    });
    await eventually(
      () => heaterOfRig() === 75,
      5000,
      "the rig to follow tank1 again",
    );
  } finally {
    await watcher.close();
    await rig.stop();
    await tank1.stop();
    await bus.close();
    await broker.close();
  }
});
