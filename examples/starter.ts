/**
 * The starter controller: what `deno task challenge` runs when you do not
 * give it your own. It talks to the tank correctly but controls it badly, on
 * purpose, so that you have something to improve. Copy it and make it yours:
 *
 *     cp examples/starter.ts my_controller.ts
 *     deno task challenge --controller "deno run --allow-net --allow-env my_controller.ts"
 *
 * Settings come from environment variables, which the challenge sets for you:
 * MQTT_URL (or MQTT_HOST and MQTT_PORT), TANK_ID and TOPIC_ROOT.
 *
 * @module
 */

import mqtt from "mqtt";
import process from "node:process";
import type { Socket } from "node:net";

const env = process.env;
const host = `${env.MQTT_HOST || "127.0.0.1"}:${env.MQTT_PORT || "1883"}`;
const url = env.MQTT_URL || `mqtt://${host}`;
// Every topic of our tank starts with this, e.g. "fishtank/tank1".
const tank = `${env.TOPIC_ROOT || "fishtank"}/${env.TANK_ID || "tank1"}`;

const client = mqtt.connect(url);
client.on("error", (error) => {
  console.log(`cannot reach ${url}: ${error.message}; is the simulator on?`);
});

client.on("connect", () => {
  // Send each small message at once instead of bundling it with the next
  // (Nagle's algorithm): a challenge then runs many times faster.
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  console.log(`connected to ${url}, controlling ${tank}`);
  // QoS 1: the tank knows when we have dealt with each reading.
  client.subscribe(`${tank}/sensors/all`, { qos: 1 });
});

function send(actuator: string, value: string) {
  client.publish(`${tank}/control/${actuator}`, value, { qos: 1 });
}

client.on("message", (_topic, payload) => {
  // A reading: {"time":"2026-01-15T06:00:10.000Z","t":10,"temperature":24.9,
  // "oxygen":8.1,...}; a value is null while its sensor has dropped out.
  const reading = JSON.parse(payload.toString());

  // Heater: on below 25 °C, off from 25 °C.
  // TODO: add hysteresis (e.g. on below 24.5, off above 25.5): with a single
  // switching point the heater flicks on and off all the time.
  // TODO: use the range the tank publishes on `${tank}/ranges/temperature`.
  // TODO: what if the temperature is null (the sensor dropped out)?
  if (typeof reading.temperature === "number") {
    send("heater", reading.temperature < 25 ? "on" : "off");
  }

  // TODO: the pump wastes energy running all the time: run it only when the
  // oxygen reading is low (below about 6.5 mg/L).
  send("pump", "on");

  // TODO: fish need the night too: switch the light off in the evening
  // (look at reading.time) or when the room is bright (reading.light).
  send("light", "on");

  // TODO: raise the alarm (publish a message on `${tank}/alarm`) when the
  // temperature leaves the range, and clear it ("off") when it is back.

  // Last: tell the tank we have dealt with this reading.
  client.publish(`${tank}/ack`, String(reading.t), { qos: 1 });
});

// Ctrl+C (SIGINT) or the challenge ending (SIGTERM): disconnect, then exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    client.end(!client.connected, {}, () => process.exit(0));
  });
}
