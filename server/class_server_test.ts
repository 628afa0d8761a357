/**
 * The class server's rules without workers (`workers: 0`), on a real store file: when an assignment takes
 * submissions, the late flag, the attempt limit under uploads at once, re-grades as new attempts, and the grade
 * export's best and latest.
 */

import assert from "node:assert/strict";
import { RunStore } from "../store/mod.ts";
import { parseAssignment } from "./assignment.ts";
import { ClassRequestError, ClassServer } from "./class_server.ts";
import { submissionGrade } from "./grade_submission.ts";
import type { ScenarioResult } from "./class_store.ts";

const PY = new TextEncoder().encode("print('hi')\n");

async function withServer(
  fn: (server: ClassServer) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const runs = await RunStore.open(`${dir}/db.kv`);
  const server = await ClassServer.open(runs, { pool: { workers: 0 } });
  try {
    await fn(server);
  } finally {
    await server.close();
    await runs.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const assignment = parseAssignment({
  id: "a1",
  title: "A1",
  scenarios: [{ scenario: "steady-day" }, {
    scenario: "cold-room",
    weight: 3,
    hidden: true,
  }],
  opens: "2026-01-10T00:00:00Z",
  due: "2026-01-20T00:00:00Z",
  max_attempts: 2,
  pass_mark: 60,
});

function result(index: number, score: number): ScenarioResult {
  return {
    index,
    scenario: { id: `s${index}`, version: 1, title: `S${index}` },
    weight: assignment.scenarios[index]!.weight,
    hidden: assignment.scenarios[index]!.hidden,
    score,
    pass: score >= 60,
    outcome: "completed",
    outcomeMessage: null,
    runId: `run-${index}-${score}`,
    components: [],
    advice: [],
    interference: false,
  };
}

Deno.test("submit() refuses before the opening (403), flags late after the due date, and holds the attempt limit (409)", async () => {
  await withServer(async (server) => {
    await server.putAssignment(assignment);
    const [entry] = parseRoster();
    const { added } = await server.store.importRoster([entry!]);
    const student = added[0]!.student;
    const upload = (iso: string) =>
      server.submit(student, {
        assignment: "a1",
        fileName: "c.py",
        bytes: PY,
        now: new Date(iso),
      });
    await assert.rejects(
      upload("2026-01-01T00:00:00Z"),
      (e: unknown) => e instanceof ClassRequestError && e.status === 403,
    );
    const onTime = await upload("2026-01-15T00:00:00Z");
    const late = await upload("2026-01-25T00:00:00Z");
    assert.deepEqual([onTime.late, late.late], [false, true]);
    assert.deepEqual([onTime.number, late.number], [1, 2]);
    await assert.rejects(
      upload("2026-01-15T00:00:00Z"),
      (e: unknown) => e instanceof ClassRequestError && e.status === 409,
    );
    await assert.rejects(
      server.submit(student, {
        assignment: "nope",
        fileName: "c.py",
        bytes: PY,
      }),
      (e: unknown) => e instanceof ClassRequestError && e.status === 404,
    );
    await assert.rejects(
      server.submit(student, {
        assignment: "a1",
        fileName: "c.rb",
        bytes: PY,
        now: new Date("2026-01-15T00:00:00Z"),
      }),
      (e: unknown) => e instanceof ClassRequestError && e.status === 400,
    );
    const queued = await server.store.queue.list({ state: "queued" });
    assert.deepEqual(queued.map((j) => j.id), [
      `${onTime.id}#1`,
      `${late.id}#1`,
    ]);
    assert.deepEqual(await server.queueInfo(`${late.id}#1`), {
      position: 2,
      estimateSeconds: null,
    });
  });
});

Deno.test("three uploads at once with one attempt allowed: exactly one is taken", async () => {
  await withServer(async (server) => {
    const { opens: _, ...always } = assignment;
    await server.putAssignment({ ...always, maxAttempts: 1 });
    const { added } = await server.store.importRoster(parseRoster());
    const student = added[0]!.student;
    const results = await Promise.allSettled(
      [0, 1, 2].map(() =>
        server.submit(student, {
          assignment: "a1",
          fileName: "c.py",
          bytes: PY,
        })
      ),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  });
});

Deno.test("a grade is stored once per attempt; a re-grade is a new attempt; the CSV has best and latest per scenario", async () => {
  await withServer(async (server) => {
    await server.putAssignment(assignment);
    const { added } = await server.store.importRoster(parseRoster());
    const [ada, alan] = added.map((a) => a.student);
    const now = new Date("2026-01-15T00:00:00Z");
    const first = await server.submit(ada!, {
      assignment: "a1",
      fileName: "c.py",
      bytes: PY,
      now,
    });
    const second = await server.submit(ada!, {
      assignment: "a1",
      fileName: "c.py",
      bytes: PY,
      now: new Date("2026-01-25T00:00:00Z"),
    });
    const grade = (
      sub: typeof first,
      attempt: number,
      scores: [number, number],
    ) =>
      submissionGrade({
        assignment,
        submission: sub,
        attempt,
        results: [result(0, scores[0]), result(1, scores[1])],
        seconds: 1,
      });
    const g1 = grade(first, 1, [80, 90]);
    assert.equal(g1.score, 87.5); // (80 + 3 × 90) / 4
    assert.ok(g1.pass);
    assert.ok(await server.store.storeGrade(g1));
    assert.equal(
      await server.store.storeGrade(grade(first, 1, [0, 0])),
      false,
      "stored once",
    );
    assert.ok(await server.store.storeGrade(grade(second, 1, [40, 50])));
    assert.equal(
      (await server.store.getSubmission(first.id))?.status,
      "graded",
    );
    const again = await server.regrade(first.id);
    assert.equal(again?.attempt, 2);
    assert.equal(again?.status, "queued");
    assert.ok(await server.store.storeGrade(grade(again!, 2, [70, 70])));
    assert.deepEqual(
      (await server.store.listGrades(first.id)).map((g) => g.attempt),
      [1, 2],
    );
    const csv = (await server.gradesCsv("a1"))!.trim().split("\n");
    assert.equal(csv.length, 3);
    const adaRow = csv.find((l) => l.startsWith("Ada"))!.split(",");
    const header = csv[0]!.split(",");
    const col = (name: string) => adaRow[header.indexOf(name)];
    assert.equal(col("attempts"), "2");
    assert.equal(col("any_late"), "true");
    assert.equal(col("best_score"), "70"); // the current grade of the re-graded first submission, above 47.5
    assert.equal(col("best_submission"), first.id);
    assert.equal(col("best 2:cold-room"), "70");
    assert.equal(col("latest_score"), "47.5");
    assert.equal(col("latest_late"), "true");
    assert.equal(col("latest 1:steady-day"), "40");
    const alanRow = csv.find((l) => l.startsWith(alan!.name))!;
    assert.match(alanRow, /^Alan Turing,7A,0,false,,/);
  });
});

function parseRoster() {
  return [{ name: "Ada Lovelace", group: "7A" }, {
    name: "Alan Turing",
    group: "7A",
  }];
}
