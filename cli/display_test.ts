import assert from "node:assert/strict";
import mqtt from "mqtt";
import { hasCommand, ignoreWithout, startMosquitto } from "../tests/_peers.ts";
import { parseDisplayArgs } from "./display.ts";
import { ALL, BASE } from "../harness/display/testing.ts";

Deno.test("parseDisplayArgs() applies layouts, lets --tank/--topic-root override them and rejects bad input", () => {
  const olp = parseDisplayArgs(["--layout", "olp"]);
  assert.ok(olp !== "help");
  assert.equal(olp.root, "OLP/device/tank");
  assert.equal(olp.tank, "id");
  const mixed = parseDisplayArgs([
    "--layout=olp",
    "--tank=t7",
    "--broker=10.0.0.5:1884",
  ]);
  assert.ok(mixed !== "help");
  assert.deepEqual([mixed.root, mixed.tank, mixed.broker], [
    "OLP/device/tank",
    "t7",
    "mqtt://10.0.0.5:1884",
  ]);
  assert.equal(parseDisplayArgs(["-h"]), "help");
  assert.throws(() => parseDisplayArgs(["--layout", "nope"]), RangeError);
  assert.throws(() => parseDisplayArgs(["--timeout", "0"]), RangeError);
  assert.throws(() => parseDisplayArgs(["--tank", "a/b"]), RangeError);
  assert.throws(() => parseDisplayArgs(["--broker", "http://x"]), TypeError);
});

// ---- With a real broker and the display as a subprocess ----

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs the display CLI to completion, killed after 20 s at most. */
async function runDisplayCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "cli/display.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

const noMosquitto = ignoreWithout(hasCommand("mosquitto", ["-h"]), "mosquitto");

Deno.test({
  name:
    "display --once --plain prints the retained readings against their ranges from a real broker",
  ignore: noMosquitto,
  async fn() {
    const broker = await startMosquitto();
    try {
      const client = await mqtt.connectAsync(broker.url, {
        reconnectPeriod: 0,
        connectTimeout: 5_000,
      });
      const retained = { qos: 1, retain: true } as const;
      await client.publishAsync(
        `${BASE}/ranges/temperature`,
        JSON.stringify({ min: 24, max: 26 }),
        retained,
      );
      await client.publishAsync(
        `${BASE}/status`,
        JSON.stringify({ state: "online", scenario: "steady-day" }),
        retained,
      );
      await client.publishAsync(
        `${BASE}/sensors/all`,
        JSON.stringify(ALL),
        retained,
      );
      await client.endAsync();

      const { code, stdout, stderr } = await runDisplayCli([
        "--broker",
        broker.url,
        "--once",
        "--plain",
        "--timeout=5",
      ]);
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim().split("\n").length, 1, stdout);
      assert.match(stdout, /temperature 24\.88 °C in range \(24–26 °C\)/);
      assert.match(stdout, /2026-01-15 06:00:10 t=10s/);
    } finally {
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "display --once exits 1 with a clear message when no reading arrives in time",
  ignore: noMosquitto,
  async fn() {
    const broker = await startMosquitto();
    try {
      const { code, stderr } = await runDisplayCli([
        "--broker",
        broker.url,
        "--once",
        "--timeout=1",
        "--tank=nobody",
      ]);
      assert.equal(code, 1);
      assert.match(
        stderr,
        /No readings on fishtank\/nobody\/sensors\/all from mqtt:\/\/127\.0\.0\.1:\d+ within 1 s/,
      );
      assert.match(stderr, /Check --tank, --topic-root or --layout/);
    } finally {
      await broker.stop();
    }
  },
});

Deno.test("display --once exits 1 and says how to start the simulator when the broker is not there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const { code, stderr } = await runDisplayCli([
    `--broker=127.0.0.1:${port}`,
    "--once",
    "--timeout=5",
  ]);
  assert.equal(code, 1);
  assert.match(
    stderr,
    new RegExp(
      `Cannot connect to mqtt://127\\.0\\.0\\.1:${port}: connection refused\\. Is the simulator running\\? ` +
        "Start it with: deno task sim",
    ),
  );
});

Deno.test("display with a bad option exits 2 and points to --help", async () => {
  const { code, stderr } = await runDisplayCli(["--layout", "nope"]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    /--layout: expected fishtank or olp, got "nope"\nRun with --help/,
  );
});
