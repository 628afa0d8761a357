/**
 * The ACL file `deno task acl` writes, enforced by Debian's mosquitto: a controller's fake readings, range edits and
 * commands to another tank never reach anyone; its own commands do; it reads only its own tank; anonymous clients
 * are refused.
 */

import assert from "node:assert/strict";
import mqtt from "mqtt";
import { mosquittoAcl } from "../harness/broker/mod.ts";
import { hasCommand, ignoreWithout, startMosquitto } from "./_peers.ts";

const PASSWORD = "fish";

async function connect(url: string, username: string) {
  const client = await mqtt.connectAsync(url, {
    username,
    password: PASSWORD,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  const seen: string[] = [];
  client.on("message", (topic, payload) => seen.push(`${topic} ${payload}`));
  return { client, seen };
}

Deno.test({
  name:
    "mosquitto with the generated ACL: a controller writes only its commands and reads only its tank",
  ignore: ignoreWithout(
    hasCommand("mosquitto") && hasCommand("mosquitto_passwd"),
    "mosquitto",
  ),
  async fn() {
    await using broker = await startMosquitto({
      files: {
        "fishtank.acl": mosquittoAcl({
          root: "fishtank",
          tanks: ["tank1", "tank2"],
        }),
      },
      prepare: async (dir) => {
        for (const [i, user] of ["simulator", "controller-tank1"].entries()) {
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
        // Started as root, mosquitto reads it as the "mosquitto" user.
        await Deno.chmod(`${dir}/passwd`, 0o644);
      },
      config:
        "allow_anonymous false\npassword_file {dir}/passwd\nacl_file {dir}/fishtank.acl\n",
    });
    const sim = await connect(broker.url, "simulator");
    const controller = await connect(broker.url, "controller-tank1");
    try {
      await sim.client.subscribeAsync("fishtank/#", { qos: 1 });
      await controller.client.subscribeAsync(["#", "fishtank/tank1/#"], {
        qos: 1,
      });
      await sim.client.publishAsync("fishtank/tank1/sensors/all", "real-1", {
        qos: 1,
      });
      await sim.client.publishAsync("fishtank/tank2/sensors/all", "real-2", {
        qos: 1,
      });
      for (
        const topic of [
          "fishtank/tank1/sensors/all",
          "fishtank/tank1/ranges/temperature",
          "fishtank/tank2/control/heater",
          "fishtank/tank1/control/heater",
        ]
      ) {
        await controller.client.publishAsync(topic, "from-controller", {
          qos: 1,
        });
      }
      // Bounded wait: the allowed command reaches the simulator within 5 s.
      for (let i = 0; i < 100; i++) {
        if (
          sim.seen.some((m) => m.includes("control/heater from-controller"))
        ) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(
        sim.seen.filter((m) => m.endsWith("from-controller")),
        ["fishtank/tank1/control/heater from-controller"],
      );
      assert.ok(controller.seen.includes("fishtank/tank1/sensors/all real-1"));
      assert.ok(
        !controller.seen.some((m) => m.includes("tank2")),
        controller.seen.join("\n"),
      );
      await assert.rejects(
        mqtt.connectAsync(broker.url, {
          reconnectPeriod: 0,
          protocolVersion: 4,
        }),
        /Not authorized|Connection refused/,
      );
    } finally {
      await sim.client.endAsync();
      await controller.client.endAsync();
    }
  },
});
