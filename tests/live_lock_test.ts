/**
 * `deno task sim --lock` (with `--web`, as a teacher runs it): clients without a user name control the one tank they
 * first touch, `viewer` reads and publishes nothing, `teacher` needs the password printed at start and may edit
 * ranges, and the web page (which connects as teacher) still edits them once the teacher has logged in on it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { Child, eventually } from "./_processes.ts";
import { teacherLogin } from "./_web_login.ts";

async function connect(url: string, options: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    protocolVersion: 4,
    ...options,
  });
  const seen: { topic: string; text: string }[] = [];
  client.on(
    "message",
    (topic, bytes) => seen.push({ topic, text: String(bytes) }),
  );
  return { client, seen };
}

Deno.test("deno task sim --lock: controllers keep to one tank, viewers only read, only the teacher edits ranges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-lock-" });
  const sim = new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/sim.ts",
    "--lock",
    "--web",
    "--tanks=2",
    "--port=0",
    "--ws-port=0",
    "--web-port=0",
    "--speed=600",
    `--db=${join(dir, "s.kv")}`,
  ]);
  try {
    const url = (await sim.waitFor(/MQTT\s+(mqtt:\/\/\S+)/, 60_000))[1]!;
    const password = (await sim.waitFor(/password (\S+)/, 60_000))[1]!;
    const web = (await sim.waitFor(/Web\s+(http:\/\/\S+)/, 60_000))[1]!;

    // A controller: bound to tank1 by its first subscription.
    const student = await connect(url);
    await student.client.subscribeAsync("fishtank/tank1/#");
    const refusal = await new Promise<Error | null>((resolve) =>
      student.client.subscribe(
        "fishtank/tank2/#",
        (error) => resolve(error ?? null),
      )
    );
    assert.match(String(refusal), /Subscribe error/);
    await student.client.publishAsync("fishtank/tank1/control/heater", "on");
    await student.client.publishAsync("fishtank/tank2/control/heater", "on");
    await student.client.publishAsync(
      "fishtank/tank1/ranges/temperature",
      '{"min":10,"max":40}',
      { retain: true },
    );
    await eventually(
      () => /refused fishtank\/tank2\/control\/heater from/.test(sim.output),
      5_000,
      "the other tank's command refused",
    );
    await eventually(
      () =>
        /refused fishtank\/tank1\/ranges\/temperature from .*set by the scenario or the teacher/
          .test(sim.output),
      5_000,
      "the range edit refused",
    );
    await eventually(
      () =>
        student.seen.some((m) =>
          m.topic === "fishtank/tank1/actuators" && /"heater":1/.test(m.text)
        ),
      5_000,
      "its own heater on",
    );

    // A viewer reads every tank and publishes nothing.
    const viewer = await connect(url, { username: "viewer" });
    await viewer.client.subscribeAsync("fishtank/#");
    await viewer.client.publishAsync("fishtank/tank1/control/light", "on");
    await eventually(
      () => viewer.seen.some((m) => m.topic.startsWith("fishtank/tank2/")),
      5_000,
      "the viewer to read tank2",
    );
    await eventually(
      () =>
        /refused fishtank\/tank1\/control\/light from .*viewer publishes nothing/
          .test(sim.output),
      5_000,
      "the viewer's command refused",
    );

    // The teacher needs the password; with it, a range edit is applied.
    await assert.rejects(
      mqtt.connectAsync(url, {
        username: "teacher",
        password: "guess",
        reconnectPeriod: 0,
      }),
      /Bad username or password/,
    );
    const teacher = await connect(url, { username: "teacher", password });
    await teacher.client.publishAsync(
      "fishtank/tank2/ranges/temperature",
      '{"min":22,"max":27}',
      { retain: true },
    );
    await eventually(
      () =>
        viewer.seen.some((m) =>
          m.topic === "fishtank/tank2/ranges/temperature" &&
          m.text === '{"min":22,"max":27}'
        ),
      5_000,
      "the teacher's range in force",
    );

    // The web page connects as teacher: its range edits still work, once the teacher has logged in on it.
    const login = await teacherLogin(web, password);
    const response = await fetch(
      `${web}/api/live/tanks/tank1/ranges/ph`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          cookie: login.cookie,
          "x-csrf-token": login.csrf,
        },
        body: JSON.stringify({ min: 6.8, max: 7.9 }),
      },
    );
    assert.equal(response.status, 202, await response.text());
    await eventually(
      () =>
        viewer.seen.some((m) =>
          m.topic === "fishtank/tank1/ranges/ph" &&
          m.text === '{"min":6.8,"max":7.9}'
        ),
      5_000,
      "the page's range in force",
    );
    for (const c of [student, viewer, teacher]) await c.client.endAsync();
  } finally {
    await sim.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
