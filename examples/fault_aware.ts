/**
 * The grader's reference controller, as an MQTT controller you can run and read: a fault-aware thermostat. It keeps
 * the water in the middle half of its range with hysteresis, runs the pump on oxygen (6.8–7.6 mg/L) and the top-up
 * valve on the level (30.5–31.5 cm), switches the lamp with the light range, and raises the alarm when the heater
 * gives no heat, the heater is stuck on, the temperature reading sticks or goes missing, or oxygen stays low with the
 * pump on. Its decisions are `faultAwareThermostat` in `grader/reference.ts`: the same code the grader plays on the
 * simulator to judge a run against (the score card's "reference" figures). Run it against the practice scenarios:
 *
 *     deno task challenge --controller examples/fault_aware.ts
 *
 * Settings come from environment variables: MQTT_URL (or MQTT_HOST and MQTT_PORT), TANK_ID and TOPIC_ROOT.
 *
 * @module
 */

import mqtt from "mqtt";
import process from "node:process";
import type { Socket } from "node:net";
import { faultAwareThermostat } from "../grader/mod.ts";
import { FISH_TANK_DEFAULTS, type FishTankInputs } from "../sim/mod.ts";

const env = process.env;
const host = `${env.MQTT_HOST || "127.0.0.1"}:${env.MQTT_PORT || "1883"}`;
const url = env.MQTT_URL || `mqtt://${host}`;
const tank = `${env.TOPIC_ROOT || "fishtank"}/${env.TANK_ID || "tank1"}`;

// The ranges the tank publishes (retained) on ranges/<sensor>, as {"min": …, "max": …}.
const ranges: Record<string, { min?: number; max?: number }> = {};
const decide = faultAwareThermostat({
  rangesAt: () => ranges,
  params: FISH_TANK_DEFAULTS,
});
// What the tank does now, as far as we know: what we last sent.
const inputs: FishTankInputs = {
  heater: 0,
  light: false,
  pump: false,
  topup: false,
};
let alarm = "";

const client = mqtt.connect(url);
client.on("error", (error) => {
  console.log(`cannot reach ${url}: ${error.message}; is the simulator on?`);
});
client.on("connect", () => {
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  client.subscribe([`${tank}/ranges/+`, `${tank}/sensors/all`], { qos: 1 });
});

client.on("message", (topic, payload) => {
  let data;
  try {
    data = JSON.parse(payload.toString());
  } catch {
    return;
  }
  if (typeof data !== "object" || data === null) return;
  if (topic.startsWith(`${tank}/ranges/`)) {
    ranges[topic.slice(`${tank}/ranges/`.length)] = {
      ...(typeof data.min === "number" ? { min: data.min } : {}),
      ...(typeof data.max === "number" ? { max: data.max } : {}),
    };
    return;
  }
  const out = decide(data.t, data, { ...inputs });
  for (const [name, value] of Object.entries(out.commands)) {
    const key = name as keyof FishTankInputs;
    if (value === undefined || inputs[key] === value) continue;
    (inputs as unknown as Record<string, unknown>)[key] = value;
    const text = typeof value === "number"
      ? String(value * 100)
      : value
      ? "on"
      : "off";
    client.publish(`${tank}/control/${key}`, text, { qos: 1 });
  }
  if (out.alarm !== undefined && (out.alarm ?? "") !== alarm) {
    alarm = out.alarm ?? "";
    client.publish(`${tank}/alarm`, alarm || "clear", { qos: 1 });
    console.log(alarm ? `alarm: ${alarm}` : "alarm cleared");
  }
  client.publish(`${tank}/ack`, String(data.t), { qos: 1 });
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    client.end(!client.connected, {}, () => process.exit(0));
  });
}
