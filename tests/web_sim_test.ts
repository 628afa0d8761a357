/**
 * `deno task sim --web` as a teacher runs it (a separate process, the task's permissions): it serves every page,
 * records the session into the data store, answers the live tank's history from that recording, and on Ctrl-C
 * finishes the recording as a completed run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RunStore } from "../store/mod.ts";
import { Child } from "./_processes.ts";

Deno.test("deno task sim --web records the session; the live history and the runs list read it back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-sim-web-" });
  const db = join(dir, "class.kv");
  const child = new Child(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    "cli/sim.ts",
    "--web",
    "--port=0",
    "--ws-port=0",
    "--web-port=0",
    "--speed=1200",
    "--quiet",
    `--db=${db}`,
  ]);
  try {
    const runId = (await child.waitFor(/Recording\s+run (\S+)/, 60_000))[1]!;
    const web = (await child.waitFor(/Web\s+(http:\/\/\S+)/, 60_000))[1]!;
    // Bounded: 300 tries 100 ms apart.
    let history;
    for (let i = 0; i < 300 && history === undefined; i++) {
      const response = await fetch(
        `${web}/api/live/tanks/tank1/history?names=temperature,ph&points=100`,
      );
      const body = await response.json();
      if (response.ok && body.measurements[0].samples >= 20) history = body;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(history, "20 readings in the recording within 30 s");
    assert.equal(history.runId, runId);
    const [temperature, ph] = history.measurements;
    assert.equal(temperature.name, "temperature");
    assert.equal(ph.name, "ph");
    assert.ok(temperature.t.length <= 100);
    assert.ok(temperature.value.every((v: number) => v > 15 && v < 35));
    assert.ok(temperature.min.some((v: number | null) => v !== null));
    // Times go forward, and the window asked for is the window answered.
    assert.deepEqual(temperature.t, [...temperature.t].sort((a, b) => a - b));
    const from = temperature.t[Math.floor(temperature.t.length / 2)];
    const late = await (await fetch(
      `${web}/api/live/tanks/tank1/history?from=${from}&points=100`,
    )).json();
    assert.ok(late.measurements[0].t.every((t: number) => t >= from));
    const missing = await fetch(`${web}/api/live/tanks/tank9/history`);
    assert.equal(missing.status, 404, await missing.clone().text());
    assert.match((await missing.json()).error, /no readings of "tank9"/);

    for (const bad of ["points=abc", "names=salinity", "from=9&to=1"]) {
      const response = await fetch(
        `${web}/api/live/tanks/tank1/history?${bad}`,
      );
      assert.equal(response.status, 400, bad);
      assert.match((await response.json()).error, /^(points|names|from):/);
    }

    const runs = await (await fetch(`${web}/runs`)).text();
    assert.ok(runs.includes(runId), "the recording is listed with the runs");

    child.process.kill("SIGINT");
    const status = await child.exit(30_000);
    assert.equal(status.code, 0, child.output);
    assert.match(
      child.output,
      new RegExp(`Recorded [\\d,]+ messages in run ${runId}`),
    );
    const store = await RunStore.open(db);
    try {
      const meta = await store.getRun(runId);
      assert.equal(meta?.outcome, "completed");
      assert.equal(meta?.mode, "record");
      assert.ok((meta?.stats.messages ?? 0) > 20);
    } finally {
      await store.close();
    }
  } finally {
    await child.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
