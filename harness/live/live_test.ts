import assert from "node:assert/strict";
import { type Advanceable, runLive } from "./live.ts";

/** A stand-in tank that advances in whole 1-second steps, like the simulator. */
class Steps implements Advanceable {
  time = 0;
  constructor(readonly duration: number) {}
  get finished(): boolean {
    return this.time >= this.duration;
  }
  advance(seconds: number): void {
    this.time = Math.min(this.duration, this.time + Math.floor(seconds));
  }
}

Deno.test("runLive() keeps simulated time at speed × wall time, in whole steps", async () => {
  let wall = 0;
  const tank = new Steps(600);
  const samples: number[] = [];
  const stats = await runLive([tank], {
    speed: 60,
    tickMs: 0,
    // Each tick the wall clock moves 37 ms: not a multiple of the 1 s step at 60×.
    now: () => (wall += 37),
    onTick: (s) => samples.push(s.drift),
  });
  assert.equal(tank.time, 600);
  assert.ok(
    samples.every((d) => d >= 0 && d < 1 + 60 * 0.037),
    `drift outside one step: ${Math.max(...samples)}`,
  );
  assert.ok(stats.worstDrift < 1 + 2 * 60 * 0.037);
});

Deno.test("runLive() catches up when the machine stalls, and reports the drift it saw", async () => {
  let wall = 0;
  const tank = new Steps(3600);
  let ticks = 0;
  const stats = await runLive([tank], {
    speed: 60,
    tickMs: 0,
    // A 5-second stall at the tenth tick.
    now: () => (wall += ++ticks === 10 ? 5000 : 200),
  });
  assert.equal(tank.time, 3600);
  assert.ok(
    stats.worstDrift >= 299,
    `the stall should show as ~300 s of drift, got ${stats.worstDrift}`,
  );
});

Deno.test("runLive() stops on abort and refuses a bad speed", async () => {
  const controller = new AbortController();
  const tank = new Steps(1e9);
  const stats = await runLive([tank], {
    speed: "max",
    maxChunk: 10,
    signal: controller.signal,
    onTick: (s) => s.ticks === 5 && controller.abort(),
  });
  assert.equal(stats.aborted, true);
  assert.equal(tank.time, 50);
  await assert.rejects(
    () => runLive([tank], { speed: -1 }),
    /speed: expected a positive number or "max"/,
  );
});
