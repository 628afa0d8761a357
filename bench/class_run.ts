/**
 * A class run through the embedded queue: `deno task serve` (a Deno KV store on disk, real HTTP, the worker pool at
 * one worker per core), a roster of 20 students, one assignment on a half-hour scenario, and 200 submissions of the
 * four example controllers (`thermostat.py`, `thermostat.ts`, `fault_aware.ts`, `starter.ts`) uploaded through the
 * API in one burst, as a class does at a deadline. While they are graded, a teacher's console polls the queue API
 * and the leaderboard page, one request after another, and every response time is kept.
 *
 * Figures (from the jobs and grades the teacher's API returns once the queue is empty):
 *
 * - **Submissions per minute per core**: submissions graded ÷ wall minutes from the first upload to the last job's
 *   end ÷ cores.
 * - **Queue overhead as a share of grading time**: the workers' time not spent grading ÷ Σ grading. A job's grading
 *   is its grade's `seconds` (the grading thread's clock from writing the files to the last scenario's end: the
 *   sealed runs themselves). A worker's time is from the moment its first job was waiting to its last job's
 *   completion commit; what of it is not grading is the queue's and the server's: the idle poll and the claim's
 *   transaction, reading the submission, marking it running, the job folder, handing the job to the thread and the
 *   result back, and what of storing the runs and the grade and completing the job does not overlap the next job's
 *   grading (a worker stores a result while its thread grades the next job). Waiting because every worker was busy
 *   grading is not overhead: it is reported apart. Also reported: the sum over jobs of claim-to-completion minus
 *   grading (which counts the overlapped storing too).
 * - **The console's response times** (p50, p99, worst) under that load, per path.
 *
 * What the server does not expose is measured from outside: the claim's own commit time is not recorded apart, so
 * it is inside the time between a worker's jobs.
 *
 * `--workers 0` uploads the same submissions to a server that grades nothing and times the console with them
 * waiting (100 rounds after the uploads): the console's own cost, apart from the grading beside it.
 *
 * A measurement, not a test: `deno run -A bench/class_run.ts [--submissions N]` (`--submissions 40` for a quick
 * try) or `deno task bench`. Sealed runs need root.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** What {@linkcode benchClassRun} measured. */
export interface ClassRun {
  submissions: number;
  graded: number;
  failed: number;
  workers: number;
  cores: number;
  /** Wall seconds from the first upload to the last job's end. */
  wallSeconds: number;
  submissionsPerMinutePerCore: number;
  /** Sums over jobs, seconds. */
  gradingSeconds: number;
  /** Σ over jobs of claim-to-completion minus grading (storing overlaps the worker's next job). */
  handlingSeconds: number;
  /** Σ over workers of their time from their first job waiting to their last job's completion. */
  workerSeconds: number;
  /** Waiting while every worker was busy (not overhead). */
  busyWaitSeconds: number;
  overheadShare: number;
  /** Mean grading seconds of one submission. */
  meanGradingSeconds: number;
  /** Upload (POST) response times, ms. */
  upload: Percentiles;
  /** The console's response times per path, ms. */
  console: ConsolePath[];
  /** /proc/loadavg's 1-minute figure at the start, the end, and the mean of samples taken while grading. */
  load: { start: number; end: number; mean: number };
}

/** Response times, ms. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** One path the console polled, with its response times (ms). */
export interface ConsolePath extends Percentiles {
  name: string;
  path: string;
  requests: number;
}

interface Job {
  id: string;
  worker?: string;
  state: string;
  enqueuedAt: number;
  startedAt?: number;
  endedAt?: number;
  claims: number;
}

const CONTROLLERS = [
  "examples/thermostat.py",
  "examples/thermostat.ts",
  "examples/fault_aware.ts",
  "examples/starter.ts",
];
const STUDENTS = 20;
const PASSWORD = "bench-teacher-password";
const ROOT = new URL("../", import.meta.url).pathname;
const SCENARIO = new URL(
  "../tests/fixtures/scenarios/cool-half-hour.yaml",
  import.meta.url,
).pathname;

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ??
      NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

async function classFiles(dir: string, submissions: number) {
  const roster = `${dir}/roster.csv`;
  await Deno.writeTextFile(
    roster,
    "name,group\n" +
      Array.from(
        { length: STUDENTS },
        (_, i) => `Student ${String(i + 1).padStart(2, "0")},g${i % 2}`,
      ).join("\n") + "\n",
  );
  const assignments = `${dir}/assignments.yaml`;
  await Deno.writeTextFile(
    assignments,
    `assignments:
  - id: bench
    title: Class run (one half hour)
    scenarios:
      - { scenario: ${JSON.stringify(SCENARIO)} }
    pass_mark: 50
    max_attempts: ${Math.max(1, Math.ceil(submissions / STUDENTS))}
    commands: [python3, deno]
`,
  );
  return { roster, assignments };
}

/** `cli/serve.ts` on `dir/class.kv`, until it prints its address. */
async function startServe(
  dir: string,
  files: { roster: string; assignments: string },
  workers: number,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/serve.ts",
      "--db",
      `${dir}/class.kv`,
      "--port",
      "0",
      "--roster",
      files.roster,
      "--assignments",
      files.assignments,
      "--workers",
      String(workers),
    ],
    cwd: ROOT,
    env: { FISHTANK_TEACHER_PASSWORD: PASSWORD, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const drain = async (stream: typeof child.stdout) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      log = (log + text).slice(-20_000);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  for (let i = 0;; i++) {
    const url = log.match(/Class server on (http:\/\/\S+)/)?.[1];
    if (url) return { child, url, log: () => log, drained };
    if (exited !== undefined || i > 1200) {
      if (exited === undefined) child.kill("SIGTERM");
      await child.status;
      await drained.catch(() => {});
      throw new Error(`deno task serve did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tokens(roster: string): Promise<string[]> {
  const text = await Deno.readTextFile(roster.replace(/\.csv$/, ".tokens.csv"));
  return text.trim().split("\n").slice(1).map((line) => line.split(",")[2]!);
}

async function teacherCookie(url: string): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password: PASSWORD }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!;
  if (response.status !== 303 || cookie === "") {
    throw new Error(`teacher login refused: ${response.status}`);
  }
  return cookie;
}

/** Measures one class run in a temporary folder (removed afterwards). */
export async function benchClassRun(
  options: { submissions?: number; workers?: number } = {},
): Promise<ClassRun> {
  const count = options.submissions ?? 200;
  const cores = navigator.hardwareConcurrency || 1;
  const workers = options.workers ?? cores;
  const dir = await Deno.makeTempDir({ prefix: "fishtank-class-run-" });
  const files = await classFiles(dir, count);
  const serve = await startServe(dir, files, workers).catch(async (error) => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  });
  try {
    const students = await tokens(files.roster);
    const cookie = await teacherCookie(serve.url);
    const get = async (path: string) => {
      const t0 = performance.now();
      const r = await fetch(`${serve.url}${path}`, { headers: { cookie } });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body}`);
      return { ms: performance.now() - t0, body };
    };
    const controllers = await Promise.all(
      CONTROLLERS.map(async (path) => ({
        name: path.split("/").pop()!,
        bytes: await Deno.readFile(`${ROOT}${path}`),
      })),
    );

    // The console, one request after another from the first upload until the queue is empty.
    const paths = [
      { name: "teacher's queue (console)", path: "/api/class/teacher/queue" },
      { name: "leaderboard page", path: "/leaderboard" },
    ];
    // The web console's own refresh (queue, leaderboards, latest submissions), where the web app has it.
    const refresh = await fetch(`${serve.url}/class/teacher/console.json`, {
      headers: { cookie },
    });
    await refresh.body?.cancel();
    if (refresh.status === 200) {
      paths.push({
        name: "console page's refresh",
        path: "/class/teacher/console.json",
      });
    }
    const times = new Map(paths.map((p) => [p.path, [] as number[]]));
    const loads: number[] = [];
    const loadStart = await loadAverage();
    let uploading = true;
    let lastQueue:
      | { waiting: Job[]; running: Job[]; failed: Job[] }
      | undefined;
    // With no workers (--workers 0): the console on the same queue, nothing graded: 100 rounds after the uploads.
    const idle = workers === 0;
    let rounds = 0;
    const poll = (async () => {
      for (let n = 0;; n++) {
        const counted = !idle || !uploading;
        for (const p of paths) {
          const { ms, body } = await get(p.path);
          if (counted) times.get(p.path)!.push(ms);
          if (p.path === paths[0]!.path) lastQueue = JSON.parse(body);
        }
        if (n % 10 === 0) loads.push(await loadAverage());
        const q = lastQueue!;
        if (idle && !uploading && ++rounds >= 100) return;
        if (!uploading && q.waiting.length + q.running.length === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const t0 = Date.now();
    const uploads: number[] = [];
    const ids: string[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const c = controllers[Math.floor(i / STUDENTS) % controllers.length]!;
        const form = new FormData();
        form.set("assignment", "bench");
        form.set("file", new File([c.bytes], c.name));
        const start = performance.now();
        const r = await fetch(`${serve.url}/api/class/submissions`, {
          method: "POST",
          headers: { authorization: `Bearer ${students[i % STUDENTS]}` },
          body: form,
        });
        const text = await r.text();
        uploads.push(performance.now() - start);
        if (r.status !== 202) {
          throw new Error(`upload ${i}: ${r.status} ${text}`);
        }
        ids.push(JSON.parse(text).submission.id);
      }
    } finally {
      uploading = false;
    }
    await poll;
    const loadEnd = await loadAverage();

    const jobs: Job[] = [];
    const grading = new Map<string, number>();
    let failed = 0;
    for (const id of idle ? [] : ids) {
      const view = JSON.parse(
        (await get(`/api/class/teacher/submissions/${id}`)).body,
      ) as {
        job: Job | null;
        grades: { seconds: number }[];
      };
      if (
        view.job === null || view.job.state !== "done" ||
        view.grades.length === 0
      ) {
        failed++;
        continue;
      }
      jobs.push(view.job);
      grading.set(view.job.id, view.grades[0]!.seconds * 1000);
    }
    const lastEnd = idle
      ? Date.now()
      : Math.max(...jobs.map((j) => j.endedAt!));

    // Per worker: its time from its first job waiting to its last job's end, against the grading in it.
    let handling = 0;
    let workerTime = 0;
    let busyWait = 0;
    let graded = 0;
    const byWorker = Map.groupBy(jobs, (j) => j.worker ?? "?");
    for (const list of byWorker.values()) {
      list.sort((a, b) => a.startedAt! - b.startedAt!);
      let freeAt = 0;
      for (const job of list) {
        const g = grading.get(job.id)!;
        graded += g;
        handling += job.endedAt! - job.startedAt! - g;
        busyWait += Math.max(
          0,
          Math.max(job.enqueuedAt, freeAt) - job.enqueuedAt,
        );
        freeAt = job.startedAt! + g;
      }
      workerTime += Math.max(...list.map((j) => j.endedAt!)) -
        list[0]!.enqueuedAt;
    }
    const wallSeconds = (lastEnd - t0) / 1000;
    return {
      submissions: count,
      graded: jobs.length,
      failed,
      workers,
      cores,
      wallSeconds,
      submissionsPerMinutePerCore: jobs.length / (wallSeconds / 60) / cores,
      gradingSeconds: graded / 1000,
      handlingSeconds: handling / 1000,
      workerSeconds: workerTime / 1000,
      busyWaitSeconds: busyWait / 1000,
      overheadShare: (workerTime - graded) / graded,
      meanGradingSeconds: graded / 1000 / jobs.length,
      upload: percentiles(uploads),
      console: paths.map((p) => ({
        ...p,
        requests: times.get(p.path)!.length,
        ...percentiles(times.get(p.path)!),
      })),
      load: {
        start: loadStart,
        end: loadEnd,
        mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length),
      },
    };
  } catch (error) {
    throw new Error(`${error}\nserver log (last part):\n${serve.log()}`);
  } finally {
    serve.child.kill("SIGTERM");
    await serve.child.status;
    await serve.drained.catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      submissions: { type: "string" },
      workers: { type: "string" },
    },
  });
  const r = await benchClassRun({
    ...(values.submissions ? { submissions: Number(values.submissions) } : {}),
    ...(values.workers ? { workers: Number(values.workers) } : {}),
  });
  const f = (n: number, d = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: d });
  if (r.workers === 0) {
    console.log(
      `No workers: ${r.submissions} submissions left waiting; the console measured with them waiting.`,
    );
  } else {
    console.log(
      `${r.graded} of ${r.submissions} submissions graded (${r.failed} not) by ${r.workers} workers on ${r.cores} cores in ${
        f(r.wallSeconds, 1)
      } s: ${
        f(r.submissionsPerMinutePerCore, 1)
      } submissions per minute per core (mean grading ${
        f(r.meanGradingSeconds, 2)
      } s).`,
    );
    console.log(
      `Queue overhead: ${
        f(100 * r.overheadShare, 2)
      } % of grading time (the workers' ${f(r.workerSeconds, 1)} s, of ${
        f(r.gradingSeconds, 1)
      } s grading; claim to completion minus grading, storing included: ${
        f(r.handlingSeconds, 1)
      } s); a job waited ${
        f(r.busyWaitSeconds / r.graded)
      } s on average for a busy worker (not overhead).`,
    );
  }
  console.log(
    `Uploads: p50 ${f(r.upload.p50)} ms, p99 ${f(r.upload.p99)} ms, worst ${
      f(r.upload.max)
    } ms.`,
  );
  for (const p of r.console) {
    console.log(
      `Console ${p.name} (${p.path}), ${p.requests} requests: p50 ${
        f(p.p50)
      } ms, p99 ${f(p.p99)} ms, worst ${f(p.max)} ms.`,
    );
  }
  console.log(
    `Load average (1 min): ${f(r.load.start, 2)} at the start, ${
      f(r.load.mean, 2)
    } mean while grading, ${f(r.load.end, 2)} at the end.`,
  );
}
