/**
 * The live pages against an external broker: Debian's mosquitto, `deno task sim --broker` in its own process, and the
 * web app relaying that broker. The state API follows the tank's simulated time, and a range posted to the API is
 * published retained on mosquitto, where a separate mqtt.js client sees it.
 */

import assert from "node:assert/strict";
import { RunStore } from "../store/mod.ts";
import { type LiveSnapshot, startWeb, type TankView } from "../web/mod.ts";
import { hasCommand, ignoreWithout, startMosquitto } from "./_peers.ts";
import { eventually, recorder, startSim } from "./_processes.ts";

/** Polls `GET /api/live/state` until tank1 reports a simulated time after `after`, at most ten seconds. */
async function pollTank(base: string, after = -1): Promise<TankView> {
  const deadline = performance.now() + 10_000;
  let last: TankView | undefined;
  while (performance.now() < deadline) {
    const response = await fetch(`${base}/api/live/state`);
    assert.equal(response.status, 200);
    const snapshot = await response.json() as LiveSnapshot;
    last = snapshot.tanks.find((tank) => tank.tank === "tank1");
    if (last?.sim !== undefined && last.sim.t > after) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `tank1 reported no simulated time after ${after} s within 10 s; last: ${
      JSON.stringify(last)
    }`,
  );
}

Deno.test({
  name:
    "live API on mosquitto: tank1's readings follow the simulated time, a posted range is retained on the broker",
  ignore: ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto"),
  async fn() {
    await using mosquitto = await startMosquitto();
    const sim = await startSim([
      `--broker=${mosquitto.url}`,
      "--speed=600",
      "--duration=1h",
      "--quiet",
    ]);
    const store = await RunStore.open(":memory:");
    let web: Awaited<ReturnType<typeof startWeb>> | undefined;
    try {
      web = await startWeb({
        store,
        port: 0,
        broker: { url: mosquitto.url, root: "fishtank" },
      });
      const base = web.url;

      const first = await pollTank(base);
      assert.ok(first.sim !== undefined, "tank1 reports its simulated time");
      assert.equal(typeof first.readings.temperature?.value, "number");
      const later = await pollTank(base, first.sim.t);
      assert.ok(
        later.sim!.t > first.sim.t,
        `simulated time advances (${first.sim.t} s, then ${later.sim!.t} s)`,
      );

      const response = await fetch(
        `${base}/api/live/tanks/tank1/ranges/temperature`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ min: 23.5, max: 26.5 }),
        },
      );
      assert.equal(response.status, 202, await response.clone().text());
      assert.deepEqual(await response.json(), {
        topic: "fishtank/tank1/ranges/temperature",
        range: { min: 23.5, max: 26.5 },
      });

      // A client that connects afterwards gets the range as a retained message from mosquitto itself.
      const watcher = await recorder(mosquitto.url, [
        "fishtank/tank1/ranges/temperature",
      ]);
      try {
        const seen = await eventually(
          () =>
            watcher.messages.find((m) => {
              const range = JSON.parse(m.text);
              return range.min === 23.5 && range.max === 26.5;
            }),
          10_000,
          "the retained range on mosquitto",
        );
        assert.equal(seen.topic, "fishtank/tank1/ranges/temperature");
      } finally {
        await watcher.close();
      }
    } finally {
      await web?.close();
      await store.close();
      await sim.child.kill();
    }
  },
});
