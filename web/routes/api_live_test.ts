import assert from "node:assert/strict";
import { loadScenario } from "../../scenarios/mod.ts";
import { AedesBus, EmbeddedBroker } from "../../harness/broker/mod.ts";
import { TankNode } from "../../harness/live/mod.ts";
import { RunStore } from "../../store/mod.ts";
import { createApp, type WebContext } from "../app.ts";
import { closeLiveRelay, liveRelayFor } from "../live_context.ts";
import type { LiveSnapshot } from "../live_view.ts";
import { liveRoutes } from "./live.tsx";

async function until<T>(check: () => T | undefined | false, what: string) {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A real broker, a simulated tank1 and the live routes on it. */
async function setup() {
  const broker = await EmbeddedBroker.start({ port: 0, wsPort: null });
  const bus = new AedesBus(broker.aedes);
  const tank = await TankNode.start({
    bus,
    scenario: await loadScenario("steady-day"),
    tank: "tank1",
  });
  const store = await RunStore.open(":memory:");
  const context: WebContext = {
    store,
    islands: new Map(),
    broker: { url: broker.url, root: "fishtank" },
  };
  const app = await createApp(context, [liveRoutes]);
  const relay = liveRelayFor(context)!;
  await until(() => relay.tank("tank1")?.batch, "tank1's first readings");
  return {
    app,
    tank,
    relay,
    async close() {
      await closeLiveRelay(context);
      await tank.stop();
      await bus.close();
      await broker.close();
      await store.close();
    },
  };
}

function post(body: string, tank = "tank1", name = "temperature") {
  return new Request(`http://x/api/live/tanks/${tank}/ranges/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}

Deno.test("GET /api/live/state and / show the tank with its readings and ranges", async () => {
  const { app, close } = await setup();
  try {
    const response = await app.request("/api/live/state");
    assert.equal(response.status, 200);
    const snapshot: LiveSnapshot = await response.json();
    assert.equal(snapshot.connection.state, "connected");
    assert.deepEqual(snapshot.tanks.map((t) => t.tank), ["tank1"]);
    assert.equal(
      typeof snapshot.tanks[0]!.readings.temperature?.value,
      "number",
    );
    assert.ok(snapshot.tanks[0]!.ranges.temperature);
    const page = await app.request("/");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /data-island="LiveBoard"/);
    assert.match(html, /data-tank="tank1"/);
    assert.match(html, /Temperature/);
    assert.match(html, /in range|LOW|HIGH/);
    assert.match(html, /Simulated time/);
  } finally {
    await close();
  }
});

Deno.test("POST a range: bad input is a 400 naming the field, unknown tank or measurement a 404", async () => {
  const { app, tank, close } = await setup();
  try {
    const cases: [Request, number, string][] = [
      [post('{"min":27,"max":26}'), 400, "min"],
      [post('{"min":"cold","max":26}'), 400, "min"],
      [post('{"min":20,"max":99}'), 400, "max"],
      [post('{"low":20}'), 400, "body"],
      [post("not json"), 400, "body"],
      [post("[1,2]"), 400, "body"],
      [post('{"min":20,"max":26}', "nope"), 404, "tank"],
      [post('{"min":20,"max":26}', "tank1", "salinity"), 404, "name"],
    ];
    for (const [request, status, field] of cases) {
      const response = await app.request(request);
      const json = await response.json();
      assert.equal(response.status, status, JSON.stringify(json));
      assert.equal(json.field, field, JSON.stringify(json));
      assert.equal(typeof json.error, "string");
    }
    assert.notDeepEqual(tank.ranges.get("temperature"), { min: 27, max: 26 });
  } finally {
    await close();
  }
});

Deno.test("POST a good range: published retained, used by the tank, shown from the tank's topic", async () => {
  const { app, tank, relay, close } = await setup();
  try {
    const response = await app.request(post('{"min":22.5,"max":25}'));
    assert.equal(response.status, 202);
    assert.equal(
      (await response.json()).topic,
      "fishtank/tank1/ranges/temperature",
    );
    await until(
      () => tank.ranges.get("temperature")?.min === 22.5,
      "the tank to use the range",
    );
    assert.deepEqual(tank.ranges.get("temperature"), { min: 22.5, max: 25 });
    await until(
      () => relay.tank("tank1")?.ranges.temperature?.min === 22.5,
      "the relay to see the range",
    );
  } finally {
    await close();
  }
});

Deno.test("GET /api/live/events sends a snapshot, then updates as the tank publishes", async () => {
  const { app, tank, close } = await setup();
  try {
    const response = await app.request("/api/live/events");
    assert.equal(response.status, 200);
    assert.match(
      response.headers.get("content-type") ?? "",
      /text\/event-stream/,
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    while (!text.includes("event: snapshot")) {
      text += (await reader.read()).value ?? "";
    }
    tank.advance(600);
    while (!/event: tank\ndata: .*"points":\[\{/.test(text)) {
      text += (await reader.read()).value ?? "";
    }
    await reader.cancel();
  } finally {
    await close();
  }
});

Deno.test("without a broker, / says so, suggests --broker on the deno task web command in use, and the API answers 503", async () => {
  const store = await RunStore.open(":memory:");
  try {
    const app = await createApp({
      store,
      islands: new Map(),
      command: "deno task web --port 8080",
    }, [liveRoutes]);
    const html = await (await app.request("/")).text();
    assert.match(html, /No MQTT broker configured/);
    // `--broker` goes on the command that started this server, with its port; not on `deno task sim --web`.
    const command = /data-field="broker-command">(.*?)<\/code>/s.exec(html)?.[1]
      ?.replace(/<!--.*?-->/g, "").replace(/\s+/g, " ").trim();
    assert.equal(
      command,
      "deno task web --port 8080 --broker mqtt://127.0.0.1:1883",
    );
    assert.doesNotMatch(html, /sim --web<\/code>\s*\(add/);
    assert.equal((await app.request("/api/live/state")).status, 503);
  } finally {
    await store.close();
  }
});
