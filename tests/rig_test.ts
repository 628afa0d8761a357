/**
 * Rigs (`deno task sim --rig ID`): an outside tank publishes its own readings and status on the simulator's broker,
 * is shown and recorded like a simulated tank, and follows another tank's control data through its retained
 * `control_source` until a control system of its own takes over. Real simulator processes, real TCP clients (mqtt.js,
 * mosquitto_pub, paho), a real Deno KV store.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { RunStore } from "../store/mod.ts";
import { EmbeddedBroker } from "../harness/broker/mod.ts";
import { parseSpeed, replayRun } from "../harness/replay/mod.ts";
import type { LiveSnapshot, TankView } from "../web/mod.ts";
import { Child, eventually } from "./_processes.ts";
import { hasCommand, hasPaho, ignoreWithout } from "./_peers.ts";
import {
  ignoreWithoutChromium,
  launchBrowser,
  SCREENSHOTS,
} from "./_browser.ts";

const SIM_PERMISSIONS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
  "cli/sim.ts",
];

async function startSim(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  const child = new Child(
    Deno.execPath(),
    [...SIM_PERMISSIONS, "--port=0", "--ws-port=0", ...args],
    { env },
  );
  try {
    const url = (await child.waitFor(/MQTT\s+(mqtt:\/\/\S+)/, 60_000))[1]!;
    return { child, url };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** Every message a client receives, as text. */
async function watch(
  url: string,
  filters: string[],
  options: mqtt.IClientOptions = {},
) {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    protocolVersion: 4,
    connectTimeout: 5000,
    ...options,
  });
  const seen: { topic: string; text: string }[] = [];
  client.on(
    "message",
    (topic, bytes) => seen.push({ topic, text: String(bytes) }),
  );
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
  return { client, seen };
}

/**
 * A demo rig as a student would write it from the topic contract: online status with a last will, and it obeys the
 * control topics of the tank its retained `control_source` names, reporting what it applies on `…/actuators`.
 */
async function startRig(
  url: string,
  rig: string,
  options: mqtt.IClientOptions = {},
) {
  const base = `fishtank/${rig}`;
  let source = rig;
  const applied = { heater: 0, source: rig };
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    protocolVersion: 4,
    connectTimeout: 5000,
    will: {
      topic: `${base}/status`,
      payload: '{"state":"offline"}',
      retain: true,
      qos: 1,
    },
    ...options,
  });
  const report = () =>
    client.publish(`${base}/actuators`, JSON.stringify(applied), {
      retain: true,
      qos: 1,
    });
  const heard: string[] = [];
  client.on("message", (topic, bytes) => {
    heard.push(topic);
    const text = String(bytes).trim();
    if (topic === `${base}/control_source`) {
      source = text === "" || text === "self" ? rig : text;
      applied.source = source;
      report();
      return;
    }
    const [, tank, , actuator] = topic.split("/");
    if (tank !== source || actuator !== "heater") return;
    applied.heater = /^(on|true|1|100)$/i.test(text) ? 100 : 0;
    report();
  });
  await client.subscribeAsync(
    [`${base}/control_source`, "fishtank/+/control/+"],
    { qos: 1 },
  );
  await client.publishAsync(`${base}/status`, '{"state":"online"}', {
    retain: true,
    qos: 1,
  });
  return {
    client,
    applied,
    /** Every topic the rig received, in order. */
    heard,
    get source() {
      return source;
    },
    publishReadings: (readings: Record<string, number>) =>
      client.publishAsync(`${base}/sensors/all`, JSON.stringify(readings), {
        retain: true,
        qos: 1,
      }),
  };
}

async function liveTank(
  web: string,
  tank: string,
): Promise<TankView | undefined> {
  const state: LiveSnapshot = await (await fetch(`${web}/api/live/state`))
    .json();
  return state.tanks.find((view) => view.tank === tank);
}

/** Polls the web page's live API until `check` holds for the tank's view (bounded). */
async function liveView(
  web: string,
  tank: string,
  check: (view: TankView) => boolean,
  what: string,
): Promise<TankView> {
  let last: TankView | undefined;
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    last = await liveTank(web, tank);
    if (last !== undefined && check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `timed out waiting for ${what}; the live API said ${JSON.stringify(last)}`,
  );
}

Deno.test("deno task sim --rig: a rig's readings reach subscribers and the live page, it follows tank1 then its own controller takes over, and the recorded run shows and replays the handover", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-rig-" });
  const db = join(dir, "class.kv");
  const { child: sim, url } = await startSim([
    "--web",
    "--web-port=0",
    "--speed=600",
    "--rig=rig1",
    "--rig-control-from=tank1",
    `--db=${db}`,
  ]);
  const clients: mqtt.MqttClient[] = [];
  try {
    const runId = (await sim.waitFor(/Recording\s+run (\S+)/, 60_000))[1]!;
    const web = (await sim.waitFor(/Web\s+(http:\/\/\S+)/, 60_000))[1]!;
    assert.match(sim.output, /rig1 .*any client may publish them/);
    const watcher = await watch(url, ["fishtank/rig1/#", "fishtank/tank1/#"]);
    clients.push(watcher.client);

    // The simulator announced the rig's control source and ranges, retained.
    await eventually(
      () =>
        watcher.seen.some((m) =>
          m.topic === "fishtank/rig1/control_source" && m.text === "tank1"
        ),
      10_000,
      "rig1's retained control_source naming tank1",
    );
    assert.ok(
      watcher.seen.some((m) => m.topic === "fishtank/rig1/ranges/temperature"),
    );

    const rig = await startRig(url, "rig1");
    clients.push(rig.client);
    await eventually(
      () => rig.source === "tank1",
      10_000,
      "the rig to read its control source",
    );
    await rig.publishReadings({ temperature: 23.5, ph: 7.1, oxygen: 7.9 });
    // The issue's own command, with Debian's client where it is installed.
    if (hasCommand("mosquitto_pub")) {
      const port = new URL(url).port;
      const out = await new Deno.Command("mosquitto_pub", {
        args: [
          "-h",
          "127.0.0.1",
          "-p",
          port,
          "-t",
          "fishtank/rig1/sensors/level",
          "-m",
          "19.5",
        ],
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      await eventually(
        () =>
          watcher.seen.some((m) =>
            m.topic === "fishtank/rig1/sensors/level" && m.text === "19.5"
          ),
        10_000,
        "mosquitto_pub's rig reading delivered",
      );
    }
    await eventually(
      () =>
        watcher.seen.some((m) =>
          m.topic === "fishtank/rig1/sensors/all" && /23\.5/.test(m.text)
        ),
      10_000,
      "the rig's sensors/all delivered",
    );

    // A fake reading for the simulated tank is still refused.
    await watcher.client.publishAsync(
      "fishtank/tank1/sensors/temperature",
      "99",
      { qos: 1 },
    );
    await sim.waitFor(
      /refused fishtank\/tank1\/sensors\/temperature from/,
      10_000,
    );
    assert.ok(
      !watcher.seen.some((m) =>
        m.topic === "fishtank/tank1/sensors/temperature" && m.text === "99"
      ),
      "the fake reading reached a subscriber",
    );

    // The live page's API: the rig's card beside tank1's, with readings against ranges, status and control.
    const view = await liveView(
      web,
      "rig1",
      (v) =>
        v.readings?.temperature?.value === 23.5 &&
        v.status?.state === "online" && v.controlSource === "tank1",
      "rig1's readings, online status and control source on the live API",
    );
    assert.deepEqual(view.ranges.temperature, { min: 24, max: 26 });
    assert.ok(await liveTank(web, "tank1"), "tank1 still shown");
    const page = await (await fetch(web)).text();
    assert.match(page, /data-tank="rig1"/);
    assert.match(page, /Outside tank \(rig\)/);

    // tank1's controller drives the rig.
    await watcher.client.publishAsync("fishtank/tank1/control/heater", "on", {
      qos: 1,
    });
    await eventually(
      () => rig.applied.heater === 100,
      10_000,
      "the rig to follow tank1's heater",
    );

    // Handover: anyone in the class can see it, on a retained topic; then rig1's own controller is in charge.
    const controller = await watch(url, ["fishtank/rig1/sensors/all"]);
    clients.push(controller.client);
    await controller.client.publishAsync(
      "fishtank/rig1/control_source",
      "self",
      {
        qos: 1,
        retain: true,
      },
    );
    await eventually(
      () => rig.source === "rig1",
      10_000,
      "the handover to rig1's own topics",
    );
    await sim.waitFor(
      /rig1 handover: now follows its own control topics/,
      10_000,
    );
    await eventually(
      () => controller.seen.length > 0,
      10_000,
      "the controller to read rig1's measurements",
    );
    await controller.client.publishAsync(
      "fishtank/rig1/control/heater",
      "off",
      {
        qos: 1,
      },
    );
    await eventually(
      () => rig.applied.heater === 0,
      10_000,
      "rig1's own controller to switch its heater off",
    );
    await watcher.client.publishAsync("fishtank/tank1/control/heater", "on", {
      qos: 1,
    });
    // Ordered after tank1's command on the same connection: once the rig has this, it has had that command too.
    await watcher.client.publishAsync("fishtank/rig1/control/light", "on", {
      qos: 1,
    });
    await eventually(
      () => rig.heard.includes("fishtank/rig1/control/light"),
      10_000,
      "the rig to receive the marker command",
    );
    assert.equal(
      rig.applied.heater,
      0,
      "tank1's commands no longer reach rig1",
    );
    await liveView(
      web,
      "rig1",
      (v) => v.controlSource === "rig1" && v.actuators?.source === "rig1",
      "the live API showing rig1 under its own control",
    );

    // The rig drops off without a goodbye: its last will says offline.
    rig.client.stream.destroy();
    await liveView(
      web,
      "rig1",
      (v) => v.status?.state === "offline",
      "rig1 offline through its last will",
    );

    sim.process.kill("SIGINT");
    assert.equal((await sim.exit(30_000)).code, 0, sim.output);
    const store = await RunStore.open(db);
    try {
      const rigRecords: { topic: string; text: string }[] = [];
      for await (const record of store.messages(runId)) {
        if (record.topic.startsWith("fishtank/rig1/")) {
          rigRecords.push({
            topic: record.topic,
            text: new TextDecoder().decode(record.payload),
          });
        }
      }
      const sources = rigRecords.filter((r) =>
        r.topic === "fishtank/rig1/control_source"
      ).map((r) => r.text);
      assert.deepEqual(sources, ["tank1", "self"], "the handover, recorded");
      assert.ok(
        rigRecords.some((r) =>
          r.topic === "fishtank/rig1/sensors/all" && /23\.5/.test(r.text)
        ),
        "the rig's readings, recorded",
      );
      const heaters = rigRecords.filter((r) =>
        r.topic === "fishtank/rig1/actuators"
      ).map((r) => JSON.parse(r.text));
      assert.ok(heaters.some((a) => a.heater === 100 && a.source === "tank1"));
      assert.equal(heaters.at(-1).source, "rig1");
      assert.ok(
        rigRecords.some((r) =>
          r.topic === "fishtank/rig1/status" && /offline/.test(r.text)
        ),
        "the last will, recorded",
      );

      // Replayed like any tank's traffic: the rig's readings and its handover, under replay/.
      const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
      try {
        const replayed = await watch(broker.url, ["replay/fishtank/rig1/#"]);
        clients.push(replayed.client);
        await replayRun(store, {
          runId,
          broker: broker.url,
          speed: parseSpeed("max"),
        });
        await eventually(
          () =>
            replayed.seen.filter((m) =>
              m.topic === "replay/fishtank/rig1/control_source"
            ).map((m) => m.text).join(",") === "tank1,self",
          10_000,
          "the replayed handover",
        );
        assert.ok(
          replayed.seen.some((m) =>
            m.topic === "replay/fishtank/rig1/sensors/all" &&
            /23\.5/.test(m.text)
          ),
          "the rig's readings, replayed",
        );
      } finally {
        await Promise.allSettled(
          clients.splice(0).map((client) => client.endAsync(true)),
        );
        await broker.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    await Promise.allSettled(clients.map((client) => client.endAsync(true)));
    await sim.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task sim --lock --rig: only the rig's own user and password publish its readings", async () => {
  const password = `rig-${crypto.randomUUID().slice(0, 8)}`;
  const { child: sim, url } = await startSim(
    ["--lock", "--speed=600", "--rig=rig1"],
    { FISHTANK_RIG_PASSWORDS: `rig1:${password}` },
  );
  const clients: mqtt.MqttClient[] = [];
  try {
    assert.match(
      sim.output,
      /rig1 .*user rig1, password from FISHTANK_RIG_PASSWORDS/,
    );
    assert.ok(!sim.output.includes(password), "the password is not printed");
    const cmdline = await Deno.readTextFile(`/proc/${sim.process.pid}/cmdline`)
      .catch(() => "");
    assert.ok(!cmdline.includes(password), "nor on the command line");

    const viewer = await watch(url, ["fishtank/rig1/sensors/#"], {
      username: "viewer",
    });
    clients.push(viewer.client);

    // Without credentials: a controller, whose fake rig reading is dropped.
    const anonymous = await watch(url, []);
    clients.push(anonymous.client);
    await anonymous.client.publishAsync(
      "fishtank/rig1/sensors/temperature",
      "99",
      {
        qos: 1,
      },
    );
    await sim.waitFor(
      /refused fishtank\/rig1\/sensors\/temperature from .*only rig rig1, connected as user rig1/,
      10_000,
    );

    // A wrong password is refused at the door.
    const wrong = await mqtt.connectAsync(url, {
      reconnectPeriod: 0,
      protocolVersion: 4,
      connectTimeout: 5000,
      username: "rig1",
      password: "guess",
    }).then((client) => {
      clients.push(client);
      return "connected";
    }, (error: Error) => error.message);
    assert.match(wrong, /Bad username or password/);

    // With its password: accepted, and its readings delivered; it still cannot fake tank1's.
    const rig = await startRig(url, "rig1", { username: "rig1", password });
    clients.push(rig.client);
    await rig.client.publishAsync("fishtank/rig1/sensors/temperature", "23.5", {
      qos: 1,
      retain: true,
    });
    await eventually(
      () =>
        viewer.seen.some((m) =>
          m.topic === "fishtank/rig1/sensors/temperature" && m.text === "23.5"
        ),
      10_000,
      "the rig's own reading delivered",
    );
    assert.ok(
      !viewer.seen.some((m) => m.text === "99"),
      "the anonymous fake reading was delivered",
    );
    await rig.client.publishAsync("fishtank/tank1/sensors/temperature", "99", {
      qos: 1,
    });
    await sim.waitFor(
      /refused fishtank\/tank1\/sensors\/temperature from .*rig rig1 publishes under fishtank\/rig1\//,
      10_000,
    );
  } finally {
    await Promise.allSettled(clients.map((client) => client.endAsync(true)));
    await sim.kill();
  }
});

Deno.test({
  name:
    "deno task sim --layout olp --rig fake: the kit's fake tank (paho, retained QoS 1 sensors/all with its field names, True/False control) publishes and obeys",
  ignore: ignoreWithout(hasPaho(), "python3 with paho-mqtt"),
  fn: async () => {
    const { child: sim, url } = await startSim([
      "--layout=olp",
      "--speed=600",
      "--rig=fake",
      "--rig-control-from=id",
    ]);
    const port = new URL(url).port;
    // Written in the kit's style: one script, topics split by "/", True/False payloads, a retained `all`.
    const fakeTank = new Child("/usr/bin/python3", [
      "-u",
      "-c",
      `
import json, sys
import paho.mqtt.client as mqtt
BASE = "OLP/device/tank/"
me = "fake"
source = me
heater = False
def on_connect(client, userdata, flags, rc):
    client.subscribe(BASE + me + "/control_source", 1)
    client.subscribe(BASE + "+/control/+", 1)
    client.publish(BASE + me + "/sensors/all", json.dumps({"temperature": 24.1, "lux": 300, "humidity": 7.5, "ambient_temperature": 20.0}), qos=1, retain=True)
    print("published", flush=True)
def on_message(client, userdata, msg):
    global source, heater
    parts = msg.topic.split("/")
    text = msg.payload.decode()
    if parts[4] == "control_source":
        source = me if text in ("", "self") else text
        print("source", source, flush=True)
    elif parts[3] == source and parts[5] == "heater":
        heater = text == "True"
        print("heater", heater, flush=True)
client = mqtt.Client()
client.on_connect = on_connect
client.on_message = on_message
client.connect("127.0.0.1", ${port})
client.loop_forever()
`,
    ]);
    const watcher = await watch(url, ["OLP/device/tank/fake/#"]);
    try {
      await fakeTank.waitFor(/source id/, 20_000);
      await eventually(
        () =>
          watcher.seen.some((m) =>
            m.topic === "OLP/device/tank/fake/sensors/all" && /lux/.test(m.text)
          ),
        20_000,
        "the fake tank's retained sensors/all delivered",
      );
      assert.doesNotMatch(sim.output, /refused OLP\/device\/tank\/fake/);
      await watcher.client.publishAsync(
        "OLP/device/tank/id/control/heater",
        "True",
        {
          qos: 1,
        },
      );
      await fakeTank.waitFor(/heater True/, 20_000);
      // The simulated tank "id" is still protected.
      await watcher.client.publishAsync(
        "OLP/device/tank/id/sensors/all",
        "{}",
        {
          qos: 1,
        },
      );
      await sim.waitFor(
        /refused OLP\/device\/tank\/id\/sensors\/all from/,
        10_000,
      );
    } finally {
      await watcher.client.endAsync(true);
      await fakeTank.kill();
      await sim.kill();
    }
  },
});

Deno.test({
  name:
    "in Chromium, the live page shows rig1's card beside tank1's: its readings against the ranges, online, and who controls it through the handover",
  ignore: ignoreWithoutChromium(),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fishtank-rig-web-" });
    const { child: sim, url } = await startSim([
      "--web",
      "--web-port=0",
      "--speed=600",
      "--rig=rig1",
      "--rig-control-from=tank1",
      `--db=${join(dir, "class.kv")}`,
    ]);
    const browser = await launchBrowser();
    let rig: Awaited<ReturnType<typeof startRig>> | undefined;
    try {
      const web = (await sim.waitFor(/Web\s+(http:\/\/\S+)/, 60_000))[1]!;
      rig = await startRig(url, "rig1");
      await rig.publishReadings({
        temperature: 23.5,
        room_temperature: 20.5,
        ph: 7.6,
        oxygen: 7.9,
        light: 40,
        level: 32,
      });
      const page = await browser.newPage({
        viewport: { width: 1200, height: 900 },
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(web);
      const card = page.locator('article[data-tank="rig1"]');
      const tank1 = page.locator('article[data-tank="tank1"]');
      await tank1.waitFor({ timeout: 15_000 });
      await card.locator('[data-field="rig-status"]', { hasText: "online" })
        .waitFor({ timeout: 15_000 });
      await card.locator('[data-field="control"]', {
        hasText: "follows tank1",
      }).waitFor({ timeout: 15_000 });
      const temperature = card.locator('tr[data-measurement="temperature"]');
      await temperature.locator('[data-field="verdict"]', { hasText: "LOW" })
        .waitFor({ timeout: 15_000 });
      assert.match(
        await temperature.locator('[data-field="range"]').innerText(),
        /24–26/,
      );
      assert.match(
        await tank1.locator('[data-field="control"]').innerText(),
        /its own control topics/,
      );
      // Beside each other: the rig's card is on the page with tank1's, in one board.
      assert.equal(await page.locator("article[data-tank]").count(), 2);
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({
        path: new URL("live-rig.png", SCREENSHOTS).pathname,
        fullPage: true,
      });

      // The handover shows without reloading.
      await rig.client.publishAsync("fishtank/rig1/control_source", "self", {
        qos: 1,
        retain: true,
      });
      await card.locator('[data-field="control"]', {
        hasText: "its own control topics",
      }).waitFor({ timeout: 15_000 });
      // With the moment it happened, on the rig's own clock when it has one.
      assert.match(
        await card.locator('[data-field="handover"]').innerText(),
        /handed over from tank1/,
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await rig?.client.endAsync(true);
      await sim.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
