import assert from "node:assert/strict";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../harness/broker/mod.ts";
import type { MessageRecord } from "../store/mod.ts";
import { main, parseReplayArgs } from "./replay.ts";
import {
  formatSpeed,
  pacedDelayMs,
  parseSpeed,
  ReplayError,
  replayRun,
  replayTopic,
} from "../harness/replay/mod.ts";
import { storeWithRuns, THERMOSTAT } from "../web/testing.ts";

Deno.test("parseReplayArgs() fills in the defaults: ×60 on the embedded broker at 1883 under replay/", () => {
  assert.deepEqual(parseReplayArgs(["run-1"]), {
    runId: "run-1",
    speed: 60,
    broker: null,
    port: 1883,
    prefix: "replay",
    db: "./data/fishtank.kv",
  });
  assert.deepEqual(
    parseReplayArgs([
      "run-2",
      "--speed=max",
      "--broker=10.0.0.2:1884",
      "--prefix=old/",
      "--db=/tmp/x.kv",
    ]),
    {
      runId: "run-2",
      speed: Infinity,
      broker: "mqtt://10.0.0.2:1884",
      port: 1883,
      prefix: "old",
      db: "/tmp/x.kv",
    },
  );
  assert.equal(parseReplayArgs(["--help"]), "help");
});

Deno.test("parseReplayArgs() names the bad option", () => {
  assert.throws(() => parseReplayArgs([]), /which run\?/);
  assert.throws(() => parseReplayArgs(["a", "b"]), /expected one run id/);
  assert.throws(
    () => parseReplayArgs(["a", "--speed", "fast"]),
    /--speed: expected simulated seconds per wall second above 0/,
  );
  assert.throws(() => parseReplayArgs(["a", "--speed", "0"]), /--speed/);
  assert.throws(() => parseReplayArgs(["a", "--port", "99999"]), /--port/);
  assert.throws(
    () => parseReplayArgs(["a", "--port", "1", "--broker", "x"]),
    /exclude each other/,
  );
  assert.throws(() => parseReplayArgs(["a", "--prefix", "r/#"]), /--prefix/);
  assert.throws(() => parseReplayArgs(["a", "--bogus"]), /bogus/);
});

Deno.test("the pace: 600 simulated s at ×60 are due 10 s in; max sends at once; late messages go at once", () => {
  assert.equal(parseSpeed("60"), 60);
  assert.equal(parseSpeed("600x"), 600);
  assert.equal(parseSpeed("MAX"), Infinity);
  assert.equal(pacedDelayMs(600, 60, 0), 10_000);
  assert.equal(pacedDelayMs(600, 60, 4_000), 6_000);
  assert.equal(pacedDelayMs(600, 60, 12_000), 0);
  assert.equal(pacedDelayMs(600, Infinity, 0), 0);
  assert.equal(formatSpeed(3600), "×3600");
  assert.equal(
    replayTopic("replay", "fishtank/tank1/sensors/temperature"),
    "replay/fishtank/tank1/sensors/temperature",
  );
});

Deno.test("deno task replay exits 2 with a clear message for an unknown run", async () => {
  const dir = await Deno.makeTempDir();
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  try {
    assert.equal(await main(["no-such-run", "--db", `${dir}/s.kv`]), 2);
  } finally {
    console.error = original;
    await Deno.remove(dir, { recursive: true });
  }
  assert.match(errors.join("\n"), /No run "no-such-run" in the data store/);
});

Deno.test("replayRun() republishes a run's traffic under replay/ on the embedded broker: in order, same payloads, retain and pace kept; the terminal display shows the replayed tank", async (t) => {
  const fixture = await storeWithRuns([
    { student: "ada", controller: THERMOSTAT },
  ]);
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const store = fixture.store;
  const runId = fixture.grades[0]!.runId;
  const meta = (await store.getRun(runId))!;
  const recorded: MessageRecord[] = [];
  for await (const r of store.messages(runId, { kinds: ["publish"] })) {
    recorded.push(r);
  }
  const decoder = new TextDecoder();
  try {
    await t.step("an unknown run is a ReplayError", async () => {
      await assert.rejects(
        () => replayRun(store, { runId: "nope", broker: broker.url }),
        ReplayError,
      );
    });

    await t.step(
      "at max speed a subscriber gets every publish, in order, with its payload and QoS",
      async () => {
        const client = await mqtt.connectAsync(broker.url, {
          protocolVersion: 4,
        });
        const got: { topic: string; payload: string; qos: number }[] = [];
        client.on(
          "message",
          (topic, payload, packet) =>
            got.push({
              topic,
              payload: decoder.decode(payload),
              qos: packet.qos,
            }),
        );
        await client.subscribeAsync("replay/#", { qos: 2 });
        const result = await replayRun(store, {
          runId,
          broker: broker.url,
          speed: Infinity,
        });
        assert.equal(result.published, recorded.length);
        assert.equal(result.stopped, false);
        const deadline = Date.now() + 5_000;
        while (got.length < recorded.length && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await client.endAsync();
        assert.deepEqual(
          got,
          recorded.map((r) => ({
            topic: `replay/${r.topic}`,
            payload: decoder.decode(r.payload),
            qos: r.qos,
          })),
        );
        assert.ok(
          got.some((m) =>
            m.topic === `replay/${meta.root}/${meta.tank}/sensors/temperature`
          ),
        );
      },
    );

    await t.step(
      "retained messages stay retained under the prefix",
      async () => {
        const retained = new Map<string, string>();
        for (const r of recorded) {
          if (!r.retain) continue;
          if (r.payload.byteLength === 0) retained.delete(`replay/${r.topic}`);
          else retained.set(`replay/${r.topic}`, decoder.decode(r.payload));
        }
        assert.ok(retained.size > 0, "the run has retained topics");
        const client = await mqtt.connectAsync(broker.url, {
          protocolVersion: 4,
        });
        const got = new Map<string, string>();
        client.on("message", (topic, payload, packet) => {
          if (packet.retain) got.set(topic, decoder.decode(payload));
        });
        await client.subscribeAsync("replay/#", { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await client.endAsync();
        assert.deepEqual(got, retained);
      },
    );

    await t.step(
      "paced at the given speed, the terminal display shows the replayed tank",
      async () => {
        const seconds = 3;
        // A broker of its own, so the display cannot print a batch retained by the steps before.
        const fresh = await EmbeddedBroker.start({ port: 0, wsPort: null });
        try {
          const display = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "cli/display.ts",
              "--broker",
              fresh.url,
              "--topic-root",
              `paced/${meta.root}`,
              "--tank",
              meta.tank,
              "--once",
              "--plain",
              "--timeout",
              "20",
            ],
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          // Once it has subscribed (told by the broker, not by a wall-clock guess: a busy machine starts it slowly).
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error("the display did not subscribe in 60 s")),
              60_000,
            );
            fresh.aedes.on("subscribe", () => {
              clearTimeout(timer);
              resolve();
            });
          });
          const started = performance.now();
          const result = await replayRun(store, {
            runId,
            broker: fresh.url,
            prefix: "paced",
            speed: meta.simulated / seconds,
          });
          const took = (performance.now() - started) / 1000;
          assert.ok(took > seconds * 0.9, `took ${took} s`);
          // Not far slower either (a loose bound: a busy machine delays timers).
          assert.ok(took < seconds * 5, `took ${took} s`);
          assert.equal(result.published, recorded.length);
          const output = await display.output();
          const line = decoder.decode(output.stdout).trim();
          assert.equal(output.code, 0, decoder.decode(output.stderr));
          const at = Number(/t=([\d.]+)s/.exec(line)?.[1]);
          const batch = recorded.find((r) =>
            r.topic.endsWith("/sensors/all") &&
            JSON.parse(decoder.decode(r.payload)).t === at
          );
          assert.ok(batch, `a recorded batch at t=${at}: ${line}`);
          assert.ok(
            at < meta.simulated,
            `a batch sent during the replay: ${line}`,
          );
          const temperature = JSON.parse(decoder.decode(batch.payload))
            .temperature as number;
          assert.match(
            line,
            new RegExp(`temperature ${temperature.toFixed(2)} °C`, "i"),
          );
        } finally {
          await fresh.close();
        }
      },
    );
  } finally {
    await broker.close();
    await fixture.close();
  }
});
