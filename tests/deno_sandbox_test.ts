/**
 * The Deno sandbox without side doors (Linux, harness run as root): a `.ts` controller runs as the run's own user, and
 * its imports are checked before it starts. The probes an attacker tried are refused: a link in its folder to a file
 * of root's, a JSON import from outside its folder, `import("/etc/shadow")`, an `npm:` package the project does not
 * provide. What they would have read never reaches the run's records.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { payloadText } from "../store/mod.ts";
import { withGrading } from "./_grading.ts";
import { ignoreWithout } from "./_peers.ts";

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** A controller that answers nothing: enough to show whether it started. */
const BODY = `import mqtt from "mqtt";
const client = await mqtt.connectAsync(Deno.env.get("MQTT_URL")!);
await client.subscribeAsync(\`fishtank/\${Deno.env.get("TANK_ID")}/sensors/all\`);
`;

Deno.test({
  name:
    "a .ts controller's link out of its folder, JSON import from outside, import of /etc/shadow and npm: package are refused before it runs",
  ignore: Deno.build.os !== "linux" ||
    ignoreWithout(isRoot(), "root (runs get users of their own only as root)"),
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "probes-" });
    // A secret of root's, as the data store is: mode 0600.
    const secret = join(root, "secret.kv");
    await Deno.writeTextFile(secret, "SQLite format 3 SECRET-OF-ROOT");
    await Deno.chmod(secret, 0o600);
    const outside = join(root, "outside.json");
    await Deno.writeTextFile(outside, '{"secret": "OUTSIDE-JSON"}');
    const probes: Record<
      string,
      { files: Record<string, string>; refused: RegExp }
    > = {
      "a link to a file of root's": {
        files: {
          "main.ts":
            `${BODY}console.log(await Deno.readTextFile(new URL("./data.kv", import.meta.url)));\n`,
        },
        refused: /holds a link that leads outside it: .*data\.kv/,
      },
      "a JSON import from outside its folder": {
        files: {
          "main.ts": `${BODY}const j = await import(${
            JSON.stringify(outside)
          }, { with: { type: "json" } });\nconsole.log(j.default.secret);\n`,
        },
        refused: /imports .*outside\.json, outside its folder/,
      },
      'import("/etc/shadow")': {
        files: { "main.ts": `${BODY}await import("/etc/shadow");\n` },
        refused: /imports \/etc\/shadow, outside its folder/,
      },
      "an npm: package the project does not provide": {
        files: {
          "main.ts":
            `import pad from "npm:left-pad@1.3.0";\nconsole.log(pad("x", 3));\n`,
        },
        refused: /imports npm:left-pad/,
      },
    };
    try {
      await withGrading(async ({ grade, store }) => {
        for (const [name, probe] of Object.entries(probes)) {
          await t.step(name, async () => {
            const folder = await Deno.makeTempDir({ dir: root });
            for (const [file, text] of Object.entries(probe.files)) {
              await Deno.writeTextFile(join(folder, file), text);
            }
            if (name.startsWith("a link")) {
              await Deno.symlink(secret, join(folder, "data.kv"));
            }
            const run = await grade(join(folder, "main.ts"));
            const meta = (await store.getRun(run.runId))!;
            assert.equal(meta.outcome, "crashed");
            assert.match(meta.outcomeMessage ?? "", /sandbox: /);
            assert.match(meta.outcomeMessage ?? "", probe.refused);
            let everything = "";
            for await (const record of store.messages(run.runId)) {
              everything += payloadText(record.payload).payload;
            }
            assert.doesNotMatch(
              everything,
              /SECRET-OF-ROOT|OUTSIDE-JSON|root:/,
            );
          });
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
