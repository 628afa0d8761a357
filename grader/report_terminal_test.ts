import assert from "node:assert/strict";
import { renderScoreCard } from "./report_terminal.ts";
import { sampleGrades } from "./_testing.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

Deno.test("renderScoreCard() shows a table per scenario, pass/fail in words, advice and the overall line", () => {
  const grades = sampleGrades();
  const card = renderScoreCard(grades, { color: false });
  assert.doesNotMatch(card, ANSI, "no colour codes when color is false");
  assert.equal(card.match(/┌/g)?.length, 3, "one table per scenario");
  assert.match(
    card,
    /test-day v1 · Test day · Ada\n100\.0 \/ 100 {2}PASS {2}\(pass mark 60\)/,
  );
  assert.match(card, /FAIL {2}\(pass mark 60\)/);
  assert.match(card, /FAIL \(CRASHED\)/);
  assert.match(card, /Run crashed: the controller exited with code 1/);
  assert.match(card, /│ temperature │ +3 │ +100 % │ 100\.0 % in range +│/);
  assert.match(
    card,
    /Key figures: temperature 100\.0 % in range · heater 288 Wh/,
  );
  assert.match(card, /Advice:\n {2}• temperature was below 24 °C for 16\.0 h/);
  assert.match(card, /\n {2}• no alarm after the heater failed at 06:00/);
  assert.match(
    card,
    /Run crashed: the controller exited with code 1 Traceback: boom\n/,
  );
  const overall = card.trimEnd().split("\n").at(-1);
  assert.match(
    overall!,
    /^Overall \d+\.\d \/ 100 \(mean of 3 scenarios\): 1 passed, 2 failed$/,
  );
});

Deno.test("renderScoreCard() colours the verdicts when asked, and says them in words too", () => {
  const [perfect, faulty] = sampleGrades();
  const card = renderScoreCard([perfect!, faulty!], { color: true });
  assert.ok(card.includes("\x1b[32m\x1b[1mPASS"), "PASS in bold green");
  assert.ok(card.includes("\x1b[31m\x1b[1mFAIL"), "FAIL in bold red");
  const plain = card.replace(ANSI, "");
  assert.equal(plain, renderScoreCard([perfect!, faulty!], { color: false }));
});

Deno.test("renderScoreCard() says how each run's steps were synchronised, and where a crashed controller's output is", () => {
  const [perfect, faulty, crashed] = sampleGrades();
  const withMode = (
    grade: typeof perfect,
    ackMode: "library" | "process" | "timeout",
  ) => ({
    ...grade!,
    kpis: {
      ...grade!.kpis,
      hygiene: { ...grade!.kpis.hygiene, ackMode, timedOutSteps: 4, steps: 10 },
    },
  });
  const card = renderScoreCard([
    withMode(perfect, "library"),
    withMode(faulty, "timeout"),
    crashed!,
    withMode(perfect, "process"),
  ], { color: false });
  assert.match(
    card,
    /Steps: synchronised by your program's processes \(the harness saw them wait with every reading read, on Linux\)/,
  );
  assert.match(
    card,
    /Steps: synchronised by your MQTT library \(the harness saw your message callbacks return\): exact/,
  );
  assert.match(
    card,
    /Steps: synchronised by a wall-clock window per step \(4 of 10 steps\): .*two runs may differ/,
  );
  assert.match(
    card,
    new RegExp(
      `whole output is stored with the run: deno task export ${
        crashed!.runId
      } --out run\\.jsonl`,
    ),
  );
});
