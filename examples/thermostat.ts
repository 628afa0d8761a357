/**
 * A simple controller for the simulated fish tank: a thermostat for the
 * heater, the air pump run on the oxygen reading, and the light on a timer.
 * Start the simulator, then run:
 *
 *     deno run -A examples/thermostat.ts
 *
 * Settings come from environment variables: MQTT_URL (or MQTT_HOST and
 * MQTT_PORT), TANK_ID and TOPIC_ROOT.
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

// The range the fish need. The tank publishes it on ranges/temperature;
// until it arrives we assume 24–26 °C.
let range = { min: 24, max: 26 };
// What we last sent to each actuator. Empty at the start, so that the first
// decision is always sent.
const sent: Record<string, string> = {};

// Hysteresis: "on" below `low`, "off" above `high`, and in between keep what
// we had, so the switch does not flick on and off around one set point.
// The first time, in between, pick by the middle.
function decide(value: number, low: number, high: number, now?: string) {
  if (value < low) return "on";
  if (value > high) return "off";
  return now ?? (value < (low + high) / 2 ? "on" : "off");
}

// Sends a command, but only when it changes what we sent before.
function send(actuator: string, value: string, why: string) {
  if (sent[actuator] === value) return;
  sent[actuator] = value;
  client.publish(`${tank}/control/${actuator}`, value, { qos: 1 });
  console.log(`${actuator} ${value}: ${why}`);
}

const client = mqtt.connect(url);
client.on("error", (error) => {
  console.log(`cannot reach ${url}: ${error.message}; is the simulator on?`);
});

client.on("connect", () => {
  // Send each small message at once instead of waiting to bundle it with
  // the next one (Nagle's algorithm): commands reach the tank sooner.
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  console.log(`connected to ${url}, controlling ${tank}`);
  // The range first, so that a retained range arrives before the readings.
  const topics = [`${tank}/ranges/temperature`, `${tank}/sensors/all`];
  client.subscribe(topics, { qos: 1 });
});

client.on("message", (topic, payload) => {
  let data;
  try {
    data = JSON.parse(payload.toString());
  } catch {
    data = null;
  }
  if (typeof data !== "object" || data === null) {
    console.log(`ignored a message on ${topic}: not a JSON object`);
    return;
  }
  if (topic.endsWith("/ranges/temperature")) {
    // Either bound may be missing (null): then assume a range 2 °C wide.
    const min = data.min ?? (data.max ?? 26) - 2;
    range = { min, max: data.max ?? min + 2 };
    console.log(`temperature range: ${range.min}–${range.max} °C`);
    return;
  }

  // A reading: {"time":"2026-01-15T06:00:10.000Z","t":10,"temperature":24.9,
  // "oxygen":8.1,...}; a value is null while its sensor has dropped out.
  const clock = String(data.time).slice(11, 16); // "06:00"
  // The tank heats slowly (60 L of water, 100 W: at most about 1.4 °C an
  // hour), so aim for the middle: heat below min + margin, stop above
  // max - margin (24.5 and 25.5 °C for a range of 24–26 °C).
  const margin = (range.max - range.min) / 4;
  const low = range.min + margin, high = range.max - margin;
  const t = data.temperature;
  if (typeof t === "number") {
    const why = `temperature ${t} °C (heat below ${low}, stop above ${high})`;
    send("heater", decide(t, low, high, sent.heater), `${clock} ${why}`);
  }
  const o2 = data.oxygen;
  if (typeof o2 === "number") {
    send("pump", decide(o2, 6.5, 7.5, sent.pump), `${clock} oxygen ${o2} mg/L`);
  }
  const hour = Number(clock.slice(0, 2));
  const day = hour >= 8 && hour < 20;
  if (!Number.isNaN(hour)) {
    send("light", day ? "on" : "off", `${clock} (lamp on 08:00–20:00)`);
  }

  // Tell the tank we have dealt with this reading.
  client.publish(`${tank}/ack`, String(data.t), { qos: 1 });
});

// Ctrl+C (SIGINT) or `kill` (SIGTERM): disconnect cleanly, then exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.log("stopping");
    // Let our last messages go out first, unless we are not connected.
    client.end(!client.connected, {}, () => process.exit(0));
  });
}
