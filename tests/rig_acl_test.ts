/**
 * `deno task acl --rig rig1`: the mosquitto ACL lines for a rig give it what the embedded broker gives it under
 * `deno task sim --lock --rig rig1` (checked topic by topic against `LiveRoles`), and Debian's mosquitto enforces
 * them: the rig publishes its readings, status (its last will too) and actuator state and nothing else, reads the
 * control topics it may follow, and its own controller commands it after the display user hands it over.
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { LiveRoles, mosquittoAcl } from "../harness/broker/mod.ts";
import { hasCommand, ignoreWithout, startMosquitto } from "./_peers.ts";

const PASSWORD = "fish";

/** Whether an MQTT filter (`+`, `#`) matches a topic. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The filters `user` may write or read in a mosquitto ACL file. */
function aclRights(acl: string, user: string, right: "write" | "read") {
  const filters: string[] = [];
  let current = "";
  for (const line of acl.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] === "user") current = words[1] ?? "";
    else if (current === user && words[0] === "topic") {
      const [access, filter] = words.length === 3
        ? [words[1]!, words[2]!]
        : ["readwrite", words[1]!];
      if (access === right || access === "readwrite") filters.push(filter);
    }
  }
  return filters;
}

const TOPICS = [
  "fishtank/rig1/sensors/temperature",
  "fishtank/rig1/sensors/all",
  "fishtank/rig1/status",
  "fishtank/rig1/clock",
  "fishtank/rig1/errors",
  "fishtank/rig1/actuators",
  "fishtank/rig1/control/heater",
  "fishtank/rig1/control/all",
  "fishtank/rig1/control_source",
  "fishtank/rig1/ranges/temperature",
  "fishtank/rig1/alarm",
  "fishtank/rig1/ack",
  "fishtank/tank1/sensors/all",
  "fishtank/tank1/control/heater",
  "fishtank/tank1/status",
  "fishtank/rig2/sensors/all",
  "elsewhere/rig1/sensors/all",
];

Deno.test("deno task acl --rig: the rig's mosquitto lines allow exactly what the embedded broker's --lock allows it to publish", () => {
  const acl = mosquittoAcl({
    root: "fishtank",
    tanks: ["tank1"],
    rigs: ["rig1"],
  });
  const roles = new LiveRoles("fishtank", "teacher-secret", {
    rigs: { rig1: "rigpass" },
  });
  const rig = {};
  assert.equal(roles.admit(rig, "rig1", "rigpass"), undefined);
  const writes = aclRights(acl, "rig1", "write");
  for (const topic of TOPICS) {
    assert.equal(
      writes.some((filter) => matches(filter, topic)),
      roles.publish(rig, topic).ok,
      `publish ${topic}`,
    );
  }
  const reads = aclRights(acl, "rig1", "read");
  for (
    const filter of [
      "fishtank/rig1/#",
      "fishtank/rig1/control_source",
      "fishtank/tank1/control/heater",
      "fishtank/+/control/+",
    ]
  ) {
    assert.equal(roles.subscribe(rig, filter).ok, true, filter);
    assert.ok(reads.some((r) => matches(r, filter.replaceAll("+", "x"))));
  }
  for (const filter of ["fishtank/tank1/sensors/all", "fishtank/#"]) {
    assert.equal(roles.subscribe(rig, filter).ok, false, filter);
    assert.ok(!reads.includes(filter), filter);
  }
  // Its own control system is a controller like a tank's.
  assert.deepEqual(aclRights(acl, "controller-rig1", "write"), [
    "fishtank/rig1/control/+",
    "fishtank/rig1/alarm",
    "fishtank/rig1/ack",
  ]);
  assert.ok(
    aclRights(acl, "display", "write").includes("fishtank/rig1/control_source"),
  );
});

async function connect(
  url: string,
  username: string,
  options: mqtt.IClientOptions = {},
) {
  const client = await mqtt.connectAsync(url, {
    username,
    password: PASSWORD,
    reconnectPeriod: 0,
    protocolVersion: 4,
    ...options,
  });
  const seen: string[] = [];
  client.on("message", (topic, payload) => seen.push(`${topic} ${payload}`));
  return { client, seen };
}

/** Waits (bounded) until `seen` has a message ending with `marker`. */
async function until(seen: string[], marker: string) {
  const deadline = performance.now() + 10_000;
  while (!seen.some((m) => m.endsWith(marker))) {
    assert.ok(
      performance.now() < deadline,
      `no "${marker}" within 10 s; seen:\n${seen.join("\n")}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name:
    "mosquitto with deno task acl --rig rig1: the rig publishes its readings and will only, reads the control topics, and its own controller takes over",
  ignore: ignoreWithout(
    hasCommand("mosquitto") && hasCommand("mosquitto_passwd"),
    "mosquitto",
  ),
  async fn() {
    const users = ["simulator", "display", "rig1", "controller-rig1"];
    await using broker = await startMosquitto({
      files: {
        "fishtank.acl": mosquittoAcl({
          root: "fishtank",
          tanks: ["tank1"],
          rigs: ["rig1"],
        }),
      },
      prepare: async (dir) => {
        for (const [i, user] of users.entries()) {
          const made = await new Deno.Command("mosquitto_passwd", {
            args: [
              ...(i === 0 ? ["-c"] : []),
              "-b",
              `${dir}/passwd`,
              user,
              PASSWORD,
            ],
            stdout: "null",
            stderr: "piped",
          }).output();
          assert.ok(made.success, new TextDecoder().decode(made.stderr));
        }
        await Deno.chmod(`${dir}/passwd`, 0o644);
      },
      config:
        "allow_anonymous false\npassword_file {dir}/passwd\nacl_file {dir}/fishtank.acl\n",
    });
    const sim = await connect(broker.url, "simulator");
    const rig = await connect(broker.url, "rig1", {
      will: {
        topic: "fishtank/rig1/status",
        payload: '{"state":"offline"}',
        qos: 1,
        retain: true,
      },
    });
    const display = await connect(broker.url, "display");
    const controller = await connect(broker.url, "controller-rig1");
    try {
      await sim.client.subscribeAsync("fishtank/#", { qos: 1 });
      await rig.client.subscribeAsync(
        [
          "fishtank/rig1/#",
          "fishtank/+/control/+",
          "fishtank/tank1/sensors/all",
        ],
        { qos: 1 },
      );

      // Refused first, then the allowed ones; the last allowed marks that all have been through (one connection).
      for (
        const topic of [
          "fishtank/tank1/sensors/all",
          "fishtank/rig1/control/heater",
          "fishtank/rig1/control_source",
          "fishtank/rig1/ranges/temperature",
          "fishtank/rig2/sensors/all",
          "fishtank/rig1/sensors/all",
          "fishtank/rig1/sensors/temperature",
          "fishtank/rig1/actuators",
          "fishtank/rig1/status",
        ]
      ) await rig.client.publishAsync(topic, "from-rig", { qos: 1 });
      await until(sim.seen, "fishtank/rig1/status from-rig");
      assert.deepEqual(
        sim.seen.filter((m) => m.endsWith("from-rig")),
        [
          "fishtank/rig1/sensors/all from-rig",
          "fishtank/rig1/sensors/temperature from-rig",
          "fishtank/rig1/actuators from-rig",
          "fishtank/rig1/status from-rig",
        ],
      );

      // It follows tank1's controller: tank1's commands reach it, tank1's readings do not.
      await sim.client.publishAsync(
        "fishtank/tank1/sensors/all",
        "tank1-real",
        {
          qos: 1,
        },
      );
      await sim.client.publishAsync("fishtank/tank1/control/heater", "on", {
        qos: 1,
      });
      await until(rig.seen, "fishtank/tank1/control/heater on");
      assert.ok(!rig.seen.some((m) => m.includes("tank1-real")));

      // The handover by the display user, then the rig's own controller commands it.
      await display.client.publishAsync(
        "fishtank/rig1/control_source",
        "self",
        {
          qos: 1,
          retain: true,
        },
      );
      await until(rig.seen, "fishtank/rig1/control_source self");
      await controller.client.publishAsync(
        "fishtank/rig1/control/heater",
        "off",
        {
          qos: 1,
        },
      );
      await until(rig.seen, "fishtank/rig1/control/heater off");

      // Its last will is its own status topic: mosquitto lets it through.
      rig.client.stream.destroy();
      await until(sim.seen, 'fishtank/rig1/status {"state":"offline"}');
    } finally {
      await Promise.allSettled(
        [sim, rig, display, controller].map((c) => c.client.endAsync(true)),
      );
    }
  },
});

Deno.test("deno task acl --rig rig1 prints those lines; a rig named like a tank or a role is refused", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", "cli/acl.ts", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run(["--rig", "rig1"]);
  assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
  assert.equal(
    new TextDecoder().decode(ok.stdout),
    mosquittoAcl({ root: "fishtank", tanks: ["tank1"], rigs: ["rig1"] }),
  );
  for (
    const [args, message] of [
      [["--rig", "tank1"], /a simulated tank has this id/],
      [["--rig", "display"], /would be a role's/],
      [["--rig", "a/b"], /tank/],
    ] as const
  ) {
    const out = await run([...args]);
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), message);
  }
});
