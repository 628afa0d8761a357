import assert from "node:assert/strict";
import {
  type ConnectionOrigin,
  type MessageRecord,
  ORIGIN_TOPIC,
  originNote,
} from "../store/mod.ts";
import { computeKpis } from "./kpis.ts";
import { commandingClients, interferenceOf } from "./interference.ts";
import { type RunGrade, scoreRun } from "./score.ts";
import { renderScoreCard } from "./report_terminal.ts";
import { toJson } from "./report_json.ts";
import { toMarkdown } from "./report_markdown.ts";
import { toJUnit } from "./report_junit.ts";
import { SyntheticRun, testScenario } from "./_testing.ts";

const HOUR = 3600;

/** The origin note the harness records for `client` when it connects. */
function origin(
  t: number,
  client: string,
  from: ConnectionOrigin,
): Omit<MessageRecord, "runId" | "seq" | "wall"> {
  return {
    t,
    kind: "note",
    client,
    topic: ORIGIN_TOPIC,
    payload: new Uint8Array(),
    qos: 0,
    retain: false,
    note: originNote(from),
  };
}

/**
 * A perfect run in which `controller-2` connected at 1 h and sent `commands` heater commands, with the origin notes
 * `notes` (none: a run where the harness could not tell).
 */
function grade(
  notes: Omit<MessageRecord, "runId" | "seq" | "wall">[],
  commands = 2166,
): RunGrade {
  const run = new SyntheticRun({ scenario: testScenario() });
  for (let i = 0; i < commands; i++) {
    run.publish(
      HOUR + i * 30,
      run.topic("control/heater"),
      "on",
      "controller-2",
    );
  }
  const records = [
    ...run.records(),
    ...notes.map((note) => ({
      ...note,
      runId: run.runId,
      seq: 0,
      wall: 0,
    })),
  ]
    .sort((a, b) => a.t - b.t)
    .map((record, seq) => ({ ...record, seq }));
  const meta = run.meta();
  const kpis = computeKpis({ scenario: run.scenario, meta, records });
  return scoreRun(kpis, run.scenario.grading, meta);
}

const FOREIGN = [
  origin(0, "controller-1", { controller: true }),
  origin(HOUR, "controller-2", { controller: false, process: "mosquitto_pub" }),
];

Deno.test("computeKpis() lists every client that commanded the tank, its accepted commands and where it came from", () => {
  const { kpis } = grade(FOREIGN);
  assert.deepEqual(kpis.commanding, [
    { client: "controller-1", commands: 3, from: "controller", process: null },
    {
      client: "controller-2",
      commands: 2166,
      from: "other",
      process: "mosquitto_pub",
    },
  ]);
});

Deno.test("computeKpis() counts only accepted publishes on the tank's own control topics as commands", () => {
  const run = new SyntheticRun({ scenario: testScenario() })
    .publish(HOUR, "fishtank/tank2/control/heater", "on", "controller-2")
    .publish(HOUR, "fishtank/tank1/sensors/temperature", "30", "controller-2")
    .reject(HOUR, "fishtank/tank1/control/heater", "hot", "bad payload");
  const kpis = run.kpis();
  assert.deepEqual(kpis.commanding.map((c) => c.client), ["controller-1"]);
});

Deno.test("scoreRun() marks a run another client commanded as interference: it keeps its score and cannot pass", () => {
  const clean = grade([origin(0, "controller-1", { controller: true })], 0);
  const marked = grade(FOREIGN);
  assert.equal(clean.interference, null);
  assert.ok(clean.pass);
  assert.equal(marked.score, clean.score, "the score formulas are unchanged");
  assert.equal(marked.pass, false);
  assert.deepEqual(marked.interference?.clients.map((c) => c.client), [
    "controller-2",
  ]);
  assert.equal(marked.interference?.commands, 2166);
  assert.equal(
    marked.interference?.message,
    "interference: controller-2 (mosquitto_pub), not from your controller's processes, sent 2,166 commands to the tank: this score does not measure your controller; tell your teacher",
  );
});

Deno.test("a client the harness could not place is listed, not marked: several clients commanding without /proc", () => {
  const unknown = grade([], 3);
  assert.equal(unknown.interference, null);
  assert.ok(unknown.pass);
  assert.deepEqual(
    unknown.kpis.commanding.map((c) => [c.client, c.commands, c.from]),
    [["controller-1", 3, "unknown"], ["controller-2", 3, "unknown"]],
  );
  assert.equal(
    commandingClients(unknown.kpis.commanding),
    "clients that commanded the tank: controller-1 (3 commands), controller-2 (3 commands); where they came from is not known (the harness tells on Linux, for a controller it starts)",
  );
  const own = grade([
    origin(0, "controller-1", { controller: true }),
    origin(HOUR, "controller-2", { controller: true }),
  ], 1);
  assert.equal(own.interference, null);
  assert.match(
    commandingClients(own.kpis.commanding) ?? "",
    /controller-2 \(1 command\); all from your controller's processes$/,
  );
  assert.equal(
    commandingClients(grade(FOREIGN.slice(0, 1), 0).kpis.commanding),
    null,
    "one client: nothing to list",
  );
});

Deno.test("interferenceOf() names at most three clients, then counts the rest, with an unseen process in words", () => {
  const clients = ["controller-2", "controller-3", "controller-4", "c-5"].map((
    client,
    i,
  ) => ({
    client,
    commands: 1,
    from: "other" as const,
    process: i === 1 ? null : "deno",
  }));
  assert.equal(
    interferenceOf(clients)?.message,
    "interference: controller-2 (deno), controller-3 (a process of another user), controller-4 (deno) and 1 more connection, not from your controller's processes, sent 4 commands to the tank: this score does not measure your controller; tell your teacher",
  );
});

Deno.test("every report says so in words: the score card, the JSON, the Markdown and the JUnit failure", () => {
  const marked = grade(FOREIGN);
  const words =
    "controller-2 (mosquitto_pub), not from your controller's processes, sent 2,166 commands to the tank";

  const card = renderScoreCard([marked], { color: false });
  assert.match(card, /FAIL \(INTERFERENCE\)/);
  assert.ok(card.includes(`Interference: ${words}`), card);

  const json = JSON.parse(toJson([marked]));
  assert.equal(json.grades[0].pass, false);
  assert.ok(json.grades[0].interference.message.includes(words));
  assert.equal(json.grades[0].interference.clients[0].process, "mosquitto_pub");

  const markdown = toMarkdown([marked]);
  assert.match(markdown, /❌ fail \(interference\)/);
  assert.ok(markdown.includes(`> **Interference: ${words}`), markdown);

  const junit = toJUnit([marked], { suiteName: "fishtank" });
  assert.match(junit, /<failure message="interference: controller-2/);
  assert.match(junit, /type="interference"/);
  assert.equal(
    JSON.parse(toJson([grade(FOREIGN.slice(0, 1), 0)])).grades[0].interference,
    null,
    "a clean run says null",
  );
});
