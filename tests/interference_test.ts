/**
 * Interference, end to end: a student's controller graded while another process, started apart from it (as a process
 * left behind by another run would be), connects to the same broker and drives the heater. Without the run's
 * credentials its commands are refused and reported, and not held against the controller. With them (only the
 * controller's own user can read them) they reach the tank and the grade is marked: the score card, the JSON and the
 * web report say so in words; a rescore of the stored records says the same; a clean run of the same controller is
 * not marked.
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
import { type Grading, withGrading } from "./_grading.ts";

const CONTROLLER = "tests/fixtures/students/thermostat_mqttjs.ts";
/** Lines the other process is given at most, one every few milliseconds while the run goes. */
const MAX_COMMANDS = 3000;

/** The password in the environment of the controller connected to the broker on `port`, read from /proc. */
function runPassword(port: number): string | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const env = Deno.readTextFileSync(`/proc/${entry.name}/environ`)
        .split("\0");
      if (!env.includes(`MQTT_PORT=${port}`)) continue;
      const password = env.find((v) => v.startsWith("MQTT_PASSWORD="));
      if (password) return password.slice("MQTT_PASSWORD=".length);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/**
 * Grades the controller while another process (one `mosquitto_pub -l` connection, in the test's process group)
 * sends heater commands every few milliseconds, with the run's credentials or without.
 */
async function drive(
  grade: Grading["grade"],
  broker: Grading["broker"],
  withCredentials: boolean,
): Promise<RunGrade> {
  let controllerIn = false;
  const onClient = (client: { id: string }) => {
    if (client.id !== "left-behind") controllerIn = true;
  };
  broker.aedes.on("client", onClient);
  let done = false;
  const graded = grade(CONTROLLER, {
    student: withCredentials ? "victim" : "refused",
  }).finally(() => done = true);
  await eventually(
    () => done || controllerIn,
    20_000,
    "the controller to connect",
  );
  broker.aedes.off("client", onClient);
  const login = withCredentials
    ? ["-u", "controller", "-P", runPassword(broker.port) ?? "(not found)"]
    : [];
  const other = new Deno.Command("mosquitto_pub", {
    args: [
      ...["-h", "127.0.0.1", "-p", String(broker.port)],
      ...login,
      ...["-i", "left-behind", "-t", "fishtank/tank1/control/heater"],
      "-l",
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const writer = other.stdin.getWriter();
    const line = new TextEncoder().encode("on\n");
    for (let i = 0; i < MAX_COMMANDS && !done; i++) {
      await writer.write(line);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const result = await graded;
    await writer.close().catch(() => {});
    return result;
  } finally {
    try {
      other.kill("SIGTERM");
    } catch {
      // already gone
    }
    await other.status;
  }
}

Deno.test({
  name:
    "another process's heater commands are refused and reported without the run's credentials; with them the run is marked interference on the card, in the JSON, on rescoring and on the web report; a clean run is not",
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

      // Another process, started apart from the controller, commands the heater: without the run's credentials
      // (refused), then with them (read from the controller's environment, as only root or its own user can).
      const refusedRun = await drive(grade, broker, false);
      assert.equal(refusedRun.interference, null, "refused: nothing to mark");
      assert.equal(refusedRun.outcome, "completed");
      assert.equal(refusedRun.kpis.hygiene.rejected, 0, "not held against it");
      assert.equal(refusedRun.score, clean.score, "the score of the run alone");
      const tried = refusedRun.kpis.commanding.find((c) => c.from === "other");
      assert.ok(tried !== undefined && (tried.refused ?? 0) > 0, "reported");
      assert.equal(tried.commands, 0, "none reached the tank");
      assert.equal(tried.process, "mosquitto_pub");
      const refusedCard = renderScoreCard([refusedRun], { color: false });
      assert.match(
        refusedCard,
        /another program tried to command the tank: controller-\d+ \(mosquitto_pub\) sent [\d,]+ commands?, all refused/,
      );
      assert.doesNotMatch(refusedCard, /nterference/);
      assert.equal(
        JSON.parse(toJson([refusedRun])).grades[0].interference,
        null,
      );
      const refusedRescore = await gradeStoredRun(store, refusedRun.runId);
      assert.deepEqual(
        refusedRescore.kpis.commanding,
        refusedRun.kpis.commanding,
      );
      assert.equal(refusedRescore.score, refusedRun.score);

      const marked = await drive(grade, broker, true);
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
        // The board reads it from the run's summary; a run graded before summaries kept it, from its digest.
        const meta = (await store.getRun(marked.runId))!;
        assert.equal(meta.grade?.interference, true);
        const { interference: _, ...older } = meta.grade!;
        await store.finishRun(marked.runId, { grade: older });
        const again = await (await fetch(`${web.url}/leaderboard`)).text();
        assert.match(
          again,
          /<tr data-standing="0" data-outcome="interference">.*?data-student="victim"/s,
        );
      } finally {
        await web.close();
      }
    });
  },
});
