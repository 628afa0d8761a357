/**
 * Interference, end to end: a student's controller graded while another process, started apart from it (as a process
 * left behind by another run would be), connects to the same broker and drives the heater. The grade is marked; the
 * score card, the JSON and the web report say so in words; a rescore of the stored records says the same; and a clean
 * run of the same controller is not marked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { renderScoreCard, type RunGrade, toJson } from "../grader/mod.ts";
import { gradeStoredRun } from "../harness/grading/mod.ts";
import { ORIGIN_TOPIC } from "../store/mod.ts";
import { startWeb } from "../web/mod.ts";
import { hasCommand, ignoreWithout } from "./_peers.ts";
import { eventually } from "./_processes.ts";
import { withGrading } from "./_grading.ts";

const CONTROLLER = "tests/fixtures/students/thermostat_mqttjs.ts";
/** Lines the other process is given at most, one every few milliseconds while the run goes. */
const MAX_COMMANDS = 3000;

Deno.test({
  name:
    "a run in which another process commands the heater is marked interference on the card, in the JSON, on rescoring and on the web report; a clean run is not",
  ignore: Deno.build.os !== "linux" ||
    ignoreWithout(hasCommand("mosquitto_pub"), "mosquitto-clients"),
  async fn() {
    await withGrading(async ({ broker, grade, store }) => {
      const clean = await grade(CONTROLLER, { student: "clean" });
      assert.equal(clean.outcome, "completed", clean.outcomeMessage ?? "");
      assert.equal(clean.interference, null);
      assert.ok(clean.kpis.commanding.length >= 1);
      for (const client of clean.kpis.commanding) {
        assert.equal(client.from, "controller", client.client);
      }
      assert.doesNotMatch(
        renderScoreCard([clean], { color: false }),
        /nterference/,
      );

      // The other process: one connection, reading heater commands from its stdin, in the test's process group.
      const other = new Deno.Command("mosquitto_pub", {
        args: [
          ...["-h", "127.0.0.1", "-p", String(broker.port)],
          ...["-i", "left-behind", "-t", "fishtank/tank1/control/heater"],
          "-l",
        ],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      let marked: RunGrade;
      try {
        // Once the controller is connected (so the harness is watching its processes), drive the heater.
        let controllerIn = false;
        const onClient = (client: { id: string }) => {
          if (client.id !== "left-behind") controllerIn = true;
        };
        broker.aedes.on("client", onClient);
        let done = false;
        const graded = grade(CONTROLLER, { student: "victim" }).finally(() =>
          done = true
        );
        await eventually(
          () => done || controllerIn,
          20_000,
          "the controller to connect",
        );
        broker.aedes.off("client", onClient);
        const writer = other.stdin.getWriter();
        const line = new TextEncoder().encode("on\n");
        for (let i = 0; i < MAX_COMMANDS && !done; i++) {
          await writer.write(line);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        marked = await graded;
        await writer.close().catch(() => {});
      } finally {
        try {
          other.kill("SIGTERM");
        } catch {
          // already gone
        }
        await other.status;
      }

      const interference = marked.interference;
      assert.ok(interference !== null, "the grade is marked");
      assert.equal(marked.pass, false);
      assert.equal(interference.clients.length, 1);
      const [foreign] = interference.clients;
      assert.match(foreign!.client, /^controller-\d+$/);
      assert.equal(foreign!.from, "other");
      assert.equal(foreign!.process, "mosquitto_pub");
      assert.ok(foreign!.commands > 0);
      assert.ok(
        marked.kpis.commanding.some((c) =>
          c.from === "controller" && c.commands > 0
        ),
        "the student's controller is listed as its own",
      );
      const words = `${
        foreign!.client
      } (mosquitto_pub), not from your controller's processes, sent ${
        interference.commands.toLocaleString("en-US")
      } command${
        interference.commands === 1 ? "" : "s"
      } to the tank: this score does not measure your controller; tell your teacher`;

      const card = renderScoreCard([marked], { color: false });
      assert.match(card, /FAIL \(INTERFERENCE\)/);
      assert.ok(card.includes(`Interference: ${words}`), card);

      const json = JSON.parse(toJson([marked]));
      assert.equal(json.grades[0].pass, false);
      assert.equal(
        json.grades[0].interference.message,
        `interference: ${words}`,
      );
      assert.equal(
        json.grades[0].interference.clients[0].process,
        "mosquitto_pub",
      );

      // The harness's note, and a rescore from the stored records alone, say the same.
      const notes: string[] = [];
      for await (
        const r of store.messages(marked.runId, { kinds: ["note"] })
      ) {
        if (r.topic === ORIGIN_TOPIC && r.client === foreign!.client) {
          notes.push(r.note ?? "");
        }
      }
      assert.deepEqual(notes, [
        "not from the controller's processes (mosquitto_pub)",
      ]);
      const rescored = await gradeStoredRun(store, marked.runId);
      assert.deepEqual(rescored.interference, marked.interference);
      assert.equal(rescored.pass, false);

      // The run's web report shows it too.
      const web = await startWeb({ store, port: 0, islands: new Map() });
      try {
        const page = await (await fetch(`${web.url}/runs/${marked.runId}`))
          .text();
        assert.match(page, /✗ Fail \(interference\)/);
        assert.ok(
          page.includes(
            `${foreign!.client} (mosquitto_pub), not from your controller`,
          ),
          "the web report names the client",
        );
        assert.match(page, /this score does not measure your controller/);
        // The leaderboard ranks it as a run that did not complete, below the clean one, and says why.
        const board = await (await fetch(`${web.url}/leaderboard`)).text();
        const rows = [
          ...board.matchAll(
            /<tr data-standing="(\d)" data-outcome="([a-z_]+)">.*?data-student="([^"]+)"/gs,
          ),
        ].map((m) => [m[3], Number(m[1]), m[2]]);
        assert.deepEqual(rows.at(-1), ["victim", 0, "interference"]);
        assert.ok(
          rows.findIndex((r) => r[0] === "clean") <
            rows.findIndex((r) => r[0] === "victim"),
          JSON.stringify(rows),
        );
      } finally {
        await web.close();
      }
    });
  },
});
