/**
 * How fast the simulator runs: simulated seconds per wall-clock second for one tank, and for 30 tanks stepped
 * together as a class-sized live run would, with an `observe()` every 10 simulated seconds and a bang-bang controller
 * acting on the readings. Run directly with `deno run bench/sim_speed.ts [simSeconds]`.
 *
 * @module
 */

import { fishTank, type FishTankEnv, Simulation } from "../sim/mod.ts";

/** Options for {@linkcode benchSimSpeed}. */
export interface BenchSimSpeedOptions {
  /** Simulated seconds each tank runs for in each measurement; default 86 400 (a day). */
  simSeconds?: number;
}

/** Result of {@linkcode benchSimSpeed}, in simulated seconds per wall second. */
export interface SimSpeed {
  /** One tank on its own. */
  oneTank: number;
  /** Simulated seconds of one tank's clock per wall second while all 30 tanks advance together. */
  thirtyTanks: number;
}

const OBSERVE_EVERY = 10;
const TANKS = 30;

/** A scenario-like day: daylight from 8 to 18 h, a room that swings by 2 °C, a pinch of food twice a day. */
function environment(t: number, dt: number): FishTankEnv {
  const hour = (t / 3600) % 24;
  const fedAt = (t % 43_200) < dt;
  return {
    roomTemperature: 21 + Math.sin(((hour - 9) / 24) * 2 * Math.PI),
    daylight: hour >= 8 && hour < 18 ? 300 : 0,
    heater: "ok",
    pump: "ok",
    powerCut: false,
    lidOpen: false,
    feeding: fedAt ? 0.1 : 0,
    sensorFaults: {},
  };
}

function makeTanks(count: number) {
  return Array.from({ length: count }, (_, i) =>
    new Simulation({
      system: fishTank,
      initial: {},
      seed: i + 1,
      startMs: Date.UTC(2026, 0, 15, 6),
      environment,
    }));
}

/** Advances every tank by `simSeconds`, observing every 10 s and switching heater and pump on the readings. */
function run(tanks: ReturnType<typeof makeTanks>, simSeconds: number): void {
  for (let t = 0; t < simSeconds; t += OBSERVE_EVERY) {
    for (const tank of tanks) {
      tank.advance(OBSERVE_EVERY);
      const readings = tank.observe();
      const heater = readings.temperature !== null && readings.temperature < 25
        ? 1
        : 0;
      const pump = readings.oxygen !== null && readings.oxygen < 7;
      if (heater !== tank.inputs.heater || pump !== tank.inputs.pump) {
        tank.setInputs({ heater, pump });
      }
    }
  }
}

function measure(count: number, simSeconds: number): number {
  const tanks = makeTanks(count);
  const start = performance.now();
  run(tanks, simSeconds);
  const wallSeconds = (performance.now() - start) / 1000;
  return simSeconds / wallSeconds;
}

/** Lets pending I/O and timers run between measurements, so a host process is not starved for the whole bench. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Measures simulated seconds per wall second for one tank and for 30 tanks stepped together (counting the simulated
 * time of one tank's clock). A short warm-up first lets the JIT compile the step.
 *
 * @throws {RangeError} When `simSeconds` is not a positive multiple of 10.
 */
export async function benchSimSpeed(
  options: BenchSimSpeedOptions = {},
): Promise<SimSpeed> {
  const { simSeconds = 86_400 } = options;
  if (!(simSeconds > 0) || simSeconds % OBSERVE_EVERY !== 0) {
    throw new RangeError(
      `benchSimSpeed: simSeconds: expected a positive multiple of 10, got ${simSeconds}`,
    );
  }
  run(
    makeTanks(2),
    Math.max(
      OBSERVE_EVERY,
      Math.round(simSeconds / 10 / OBSERVE_EVERY) * OBSERVE_EVERY,
    ),
  );
  await yieldToEventLoop();
  const oneTank = measure(1, simSeconds);
  await yieldToEventLoop();
  const thirtyTanks = measure(TANKS, simSeconds);
  return { oneTank, thirtyTanks };
}

function format(simPerWall: number): string {
  const days = simPerWall / 86_400;
  return `${
    Math.round(simPerWall).toLocaleString("en")
  } simulated s per wall s (${days.toFixed(1)} days/s)`;
}

if (import.meta.main) {
  const simSeconds = Deno.args[0] === undefined
    ? undefined
    : Number(Deno.args[0]);
  const { oneTank, thirtyTanks } = await benchSimSpeed(
    simSeconds === undefined ? {} : { simSeconds },
  );
  console.log(`one tank:  ${format(oneTank)}`);
  console.log(`${TANKS} tanks: ${format(thirtyTanks)}, each tank's clock`);
}
