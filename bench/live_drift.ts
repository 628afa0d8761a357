/**
 * The live mode's accuracy: runs one tank at 60× (or any speed) on the embedded broker for a wall-clock span and
 * measures how far simulated time strays from speed × wall time, both inside the runner and as seen by an MQTT
 * subscriber reading the tank's `…/clock` messages.
 *
 * @module
 */

import mqtt from "mqtt";
import { loadScenario } from "../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { runLive, TankNode } from "../harness/live/mod.ts";

/** Drift figures, in simulated seconds. */
export interface LiveDrift {
  speed: number;
  wallSeconds: number;
  simulatedSeconds: number;
  /** Simulated seconds the run should have covered: speed × wall seconds. */
  expectedSeconds: number;
  /** Largest |speed × wall − simulated| the runner saw at its ticks. */
  worstRunnerDrift: number;
  /** Mean and largest |speed × wall − t| at the moment a subscriber received a clock message. */
  meanSubscriberDrift: number;
  worstSubscriberDrift: number;
  clockMessages: number;
}

/** Runs the live mode for `wallSeconds` and measures its drift. */
export async function benchLiveDrift(
  options: { wallSeconds?: number; speed?: number } = {},
): Promise<LiveDrift> {
  const wallSeconds = options.wallSeconds ?? 60;
  const speed = options.speed ?? 60;
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const scenario = await loadScenario("steady-day");
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const drifts: number[] = [];
  let start = 0;
  client.on("message", (_topic, payload) => {
    const { t } = JSON.parse(payload.toString()) as { t: number };
    if (t > 0) {
      drifts.push(Math.abs(speed * (performance.now() - start) / 1000 - t));
    }
  });
  await client.subscribeAsync("fishtank/tank1/clock", { qos: 0 });
  const tank = await TankNode.start({ bus, scenario, speed });
  const controller = new AbortController();
  start = performance.now();
  const timer = setTimeout(() => controller.abort(), wallSeconds * 1000);
  const stats = await runLive([tank], { speed, signal: controller.signal });
  clearTimeout(timer);
  await tank.stop();
  await client.endAsync(true);
  await bus.close();
  await broker.close();
  return {
    speed,
    wallSeconds: stats.wall,
    simulatedSeconds: stats.simulated,
    expectedSeconds: speed * stats.wall,
    worstRunnerDrift: stats.worstDrift,
    meanSubscriberDrift: drifts.reduce((a, b) => a + b, 0) /
      Math.max(1, drifts.length),
    worstSubscriberDrift: Math.max(0, ...drifts),
    clockMessages: drifts.length,
  };
}

if (import.meta.main) {
  console.log(
    await benchLiveDrift({ wallSeconds: Number(Deno.args[0] ?? 60) }),
  );
}
