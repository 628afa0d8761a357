/**
 * What one Deno KV file holds for a class, and how the class server answers on a big one:
 *
 * 1. **Bytes per graded scenario-day**: the class server's own worker pool grades the example controllers on the
 *    24-hour `steady-day` scenario into a fresh store file (runs, every record, digests, submissions and grades);
 *    the file's growth (measured closed, so SQLite's write-ahead log is folded in) over the simulated days graded.
 * 2. **At 10,000 stored runs**: synthetic finished runs (the summary of a real graded run, under new ids, students
 *    and scores, with no records: the pages below read summaries only) written through `RunStore.createRun`, and one
 *    submission with its grade per run through `ClassStore`; then `deno task serve` on that file, and the wall time of
 *    the leaderboard page, the teacher's queue (console), a student's history and the CSV export, over HTTP: the
 *    first request and the median of five more.
 *
 * A measurement, not a test: run `deno run -A bench/class_store_scale.ts [--runs N] [--days N]` or `deno task bench`.
 * `--postgres URL` (an empty PostgreSQL database) stores the runs and times the pages there instead of in a Deno KV
 * file; the scenario-day growth is always measured on a file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ClassServer, loadAssignments } from "../server/mod.ts";
import { isDatabaseUrl, PgKv, type RunMeta, RunStore } from "../store/mod.ts";

/** What {@linkcode benchClassStore} measured. */
export interface ClassStoreScale {
  /** Part 1: scenario-days graded, the file's growth, and the quotient. */
  days: number;
  grownBytes: number;
  bytesPerScenarioDay: number;
  recordsPerDay: number;
  /** Part 2. */
  runs: number;
  students: number;
  fileBytes: number;
  writeSeconds: number;
  /** Milliseconds: first request, median of five more. */
  pages: { name: string; path: string; firstMs: number; medianMs: number }[];
}

const CONTROLLERS = [
  { file: "examples/thermostat.py", kind: "python3" },
  { file: "examples/thermostat.ts", kind: "deno" },
];
const PASSWORD = "bench-teacher-password";

async function fileBytes(path: string): Promise<number> {
  if (isDatabaseUrl(path)) {
    const kv = await PgKv.connect(path);
    try {
      return await kv.bytes();
    } finally {
      kv.close();
      await kv.closed;
    }
  }
  let total = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      total += (await Deno.stat(path + suffix)).size;
    } catch {
      // not there
    }
  }
  return total;
}

async function assignmentsFile(dir: string): Promise<string> {
  const path = `${dir}/assignments.yaml`;
  await Deno.writeTextFile(
    path,
    `assignments:
  - id: day
    title: A day in the tank
    scenarios:
      - { scenario: steady-day }
    pass_mark: 50
    commands: [python3, deno]
`,
  );
  return path;
}

/** Part 1: grades `days` submissions of `steady-day` with the embedded pool; returns the file's growth. */
async function gradedDays(dir: string, days: number) {
  const db = `${dir}/days.kv`;
  let runs = await RunStore.open(db);
  let server = await ClassServer.open(runs, { pool: { workers: 0 } });
  const names = Array.from({ length: days }, (_, i) => ({
    name: `Student ${i + 1}`,
    group: "",
  }));
  await server.store.importRoster(names);
  for (const a of await loadAssignments(await assignmentsFile(dir))) {
    await server.putAssignment(a);
  }
  await server.close();
  await runs.close();
  const before = await fileBytes(db);

  runs = await RunStore.open(db);
  server = await ClassServer.open(runs, { pool: { workers: 2 } });
  const ids: string[] = [];
  for (const [i, student] of (await server.store.listStudents()).entries()) {
    const c = CONTROLLERS[i % CONTROLLERS.length]!;
    const s = await server.submit(student, {
      assignment: "day",
      fileName: c.file.split("/").pop()!,
      bytes: await Deno.readFile(c.file),
      kind: c.kind,
    });
    ids.push(s.id);
  }
  let template: RunMeta | undefined;
  let records = 0;
  for (const id of ids) {
    for (let i = 0;; i++) {
      const s = await server.store.getSubmission(id);
      if (s?.status === "graded") break;
      if (s?.status === "failed" || s?.status === "cancelled" || i > 6000) {
        throw new Error(`submission ${id} ended ${s?.status}: ${s?.error}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const grade = await server.store.getGrade(id);
    const runId = grade!.scenarios[0]!.runId;
    template ??= (await runs.getRun(runId))!;
    records += await runs.countMessages(runId);
  }
  await server.close();
  await runs.close();
  const grown = (await fileBytes(db)) - before;
  return { grown, template: template!, records };
}

/** Part 2: `count` synthetic runs and one graded submission per run, through the store APIs. */
async function syntheticClass(
  db: string,
  dir: string,
  template: RunMeta,
  count: number,
  students: number,
) {
  const runs = await RunStore.open(db);
  const server = await ClassServer.open(runs, { pool: { workers: 0 } });
  const roster = Array.from({ length: students }, (_, i) => ({
    name: `Student ${String(i + 1).padStart(4, "0")}`,
    group: `g${i % 10}`,
  }));
  await server.store.importRoster(roster);
  const [assignment] = await loadAssignments(await assignmentsFile(dir));
  await server.putAssignment(assignment!);
  const people = await server.store.listStudents();
  const start = Date.parse("2026-09-01T08:00:00Z");
  for (let i = 0; i < count; i++) {
    const student = people[i % people.length]!;
    const now = new Date(start + i * 60_000);
    const score = Math.round((40 + (i * 37) % 60) * 10) / 10;
    const runId = `bench-${String(i).padStart(6, "0")}-${template.scenario.id}`;
    await runs.createRun({
      ...template,
      runId,
      student: student.name,
      group: student.group,
      startedAt: now.toISOString(),
      endedAt: new Date(now.getTime() + 8_000).toISOString(),
      grade: { score, pass: score >= 50, passMark: 50 },
    });
    const submission = await server.store.createSubmission({
      student,
      assignment: assignment!,
      files: [{
        path: "controller.py",
        data: new TextEncoder().encode("print('x')\n".repeat(40)),
      }],
      start: { kind: "python3", entry: "controller.py" },
      now,
    });
    await server.store.storeGrade({
      submissionId: submission.id,
      attempt: 1,
      score,
      pass: score >= 50,
      passMark: 50,
      late: false,
      gradedAt: now.toISOString(),
      seconds: 8,
      scenarios: [{
        index: 0,
        scenario: {
          id: template.scenario.id,
          version: template.scenario.version,
          title: template.scenario.title,
        },
        weight: 1,
        hidden: false,
        score,
        pass: score >= 50,
        outcome: "completed",
        outcomeMessage: null,
        runId,
        components: [],
        advice: [],
        interference: false,
      }],
    });
  }
  const someone = people[0]!.id;
  await server.close();
  await runs.close();
  return someone;
}

async function timePages(db: string, studentId: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/serve.ts",
      "--db",
      db,
      "--port",
      "0",
      "--workers",
      "0",
    ],
    cwd: new URL("../", import.meta.url).pathname,
    env: { FISHTANK_TEACHER_PASSWORD: PASSWORD, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let out = "";
    let url: string | undefined;
    while (url === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve ended:\n${out}`);
      out += value;
      url = out.match(/Class server on (http:\/\/\S+)/)?.[1];
    }
    (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
    const login = await fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ password: PASSWORD }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const pages = [
      { name: "leaderboard page", path: "/leaderboard" },
      { name: "teacher's queue (console)", path: "/api/class/teacher/queue" },
      {
        name: "a student's history",
        path: `/api/class/teacher/students/${studentId}/history`,
      },
      {
        name: "grade export (CSV)",
        path: "/api/class/teacher/assignments/day/grades.csv",
      },
    ];
    const timed = [];
    for (const page of pages) {
      const ms: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        const r = await fetch(`${url}${page.path}`, { headers: { cookie } });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${page.path}: ${r.status}`);
        ms.push(performance.now() - t0);
      }
      const rest = ms.slice(1).sort((a, b) => a - b);
      timed.push({ ...page, firstMs: ms[0]!, medianMs: rest[2]! });
    }
    return timed;
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/** Measures both parts in a temporary folder (removed afterwards). */
export async function benchClassStore(
  options: {
    runs?: number;
    days?: number;
    students?: number;
    /** An empty PostgreSQL database for the stored runs and the page times, instead of a Deno KV file. */
    postgres?: string;
  } = {},
): Promise<ClassStoreScale> {
  const days = options.days ?? 4;
  const count = options.runs ?? 10_000;
  const students = options.students ?? 500;
  const dir = await Deno.makeTempDir({ prefix: "fishtank-class-scale-" });
  try {
    const { grown, template, records } = await gradedDays(dir, days);
    const db = options.postgres ?? `${dir}/class.kv`;
    const t0 = performance.now();
    const someone = await syntheticClass(db, dir, template, count, students);
    const writeSeconds = (performance.now() - t0) / 1000;
    const pages = await timePages(db, someone);
    return {
      days,
      grownBytes: grown,
      bytesPerScenarioDay: grown / days,
      recordsPerDay: records / days,
      runs: count,
      students,
      fileBytes: await fileBytes(db),
      writeSeconds,
      pages,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string" },
      days: { type: "string" },
      students: { type: "string" },
      postgres: { type: "string" },
    },
  });
  const r = await benchClassStore({
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    ...(values.days ? { days: Number(values.days) } : {}),
    ...(values.students ? { students: Number(values.students) } : {}),
    ...(values.postgres ? { postgres: values.postgres } : {}),
  });
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `Graded ${r.days} scenario-days (steady-day, 24 h): the store grew ${
      mb(r.grownBytes)
    } MB, ${mb(r.bytesPerScenarioDay)} MB per graded scenario-day (${
      Math.round(r.recordsPerDay).toLocaleString("en-US")
    } records a day).`,
  );
  console.log(
    `${
      r.runs.toLocaleString("en-US")
    } stored runs (${r.students} students, one graded submission per run): file ${
      mb(r.fileBytes)
    } MB, written in ${r.writeSeconds.toFixed(1)} s.`,
  );
  for (const p of r.pages) {
    console.log(
      `  ${p.name.padEnd(28)} first ${
        p.firstMs.toFixed(0).padStart(6)
      } ms, median of 5 ${p.medianMs.toFixed(0).padStart(6)} ms  (${p.path})`,
    );
  }
}
