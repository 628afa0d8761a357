/**
 * A course through NATS JetStream: Debian's `nats-server -js` on a free port with its own store, `deno task serve
 * --nats`, and `deno task worker` processes (1 or 2, with 1 or 2 slots), `submissions` uploads of four example
 * controllers on the half-hour scenario of the pool test, and:
 *
 * - submissions per minute (first upload to last grade), and per minute per slot;
 * - the queue's overhead: the share of the slots' wall time not spent grading (1 − Σ grading seconds / (wall ×
 *   slots)), the tail when fewer jobs than slots are left included;
 * - time from a submission to its job running, when a worker is free (the first upload).
 *
 * A measurement, not a test: `deno run -A bench/nats_course.ts [--submissions N] [--layouts 1x1,2x1,1x2]`.
 *
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
const CONTROLLERS = [
  "examples/thermostat.py",
  "examples/thermostat.ts",
  "examples/fault_aware.ts",
  "examples/starter.ts",
];
const PASSWORD = "bench-teacher-password";

/** One layout's figures. */
export interface NatsCourseFigures {
  workers: number;
  slots: number;
  submissions: number;
  wallSeconds: number;
  perMinute: number;
  perMinutePerSlot: number;
  gradingSeconds: number;
  overhead: number;
  firstRunningMs: number;
}

function spawn(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(args[0]!, {
    args: args.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", FISHTANK_TEACHER_PASSWORD: PASSWORD, ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const read = async (s: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of s) out += decoder.decode(chunk, { stream: true });
  };
  void read(child.stdout);
  void read(child.stderr);
  return {
    child,
    output: () => out,
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      for (let i = 0; i < 1200; i++) {
        const m = out.match(pattern);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${pattern} in:\n${out}`);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Grades `submissions` uploads with `workers` worker processes of `slots` slots each. */
export async function benchNatsCourse(
  options: { workers: number; slots: number; submissions: number },
): Promise<NatsCourseFigures> {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-nats-course-" });
  const stops: (() => Promise<void>)[] = [];
  try {
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/nats.conf`,
      `listen: 127.0.0.1:${port}\njetstream { store_dir: "${dir}/js" }\nmax_payload: 8MB\n`,
    );
    const nats = spawn(["nats-server", "-js", "-c", `${dir}/nats.conf`]);
    stops.push(nats.stop);
    await nats.waitFor(/Server is ready/);
    const natsUrl = `nats://127.0.0.1:${port}`;
    const roster = Array.from({ length: 20 }, (_, i) => `Student ${i + 1},`)
      .join("\n");
    await Deno.writeTextFile(`${dir}/roster.csv`, roster + "\n");
    const serve = spawn([
      Deno.execPath(),
      "run",
      "-A",
      "cli/serve.ts",
      "--db",
      `${dir}/db.kv`,
      "--port",
      "0",
      "--roster",
      `${dir}/roster.csv`,
      "--assignments",
      "tests/fixtures/class/pool_assignment.yaml",
      "--nats",
      natsUrl,
    ]);
    stops.unshift(serve.stop);
    const url = (await serve.waitFor(/Class server on (http:\/\/\S+)/))[1]!;
    const tokens = (await Deno.readTextFile(`${dir}/roster.tokens.csv`))
      .trim().split("\n").slice(1).map((l) => l.split(",")[2]!);
    for (let w = 0; w < options.workers; w++) {
      const worker = spawn([
        Deno.execPath(),
        "run",
        "-A",
        "cli/worker.ts",
        "--nats",
        natsUrl,
        "--slots",
        String(options.slots),
        "--name",
        `w${w + 1}`,
      ]);
      stops.unshift(worker.stop);
      await worker.waitFor(/Worker w\d+ on nats/);
    }
    const login = await fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ password: PASSWORD }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const get = async (path: string) =>
      await (await fetch(`${url}${path}`, { headers: { cookie } })).json();
    // Workers are known to the server (their first beat) before the clock starts.
    for (let i = 0; i < 400; i++) {
      const q = await get("/api/class/teacher/queue");
      if (q.nats.workers.length >= options.workers) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const files = await Promise.all(CONTROLLERS.map((c) => Deno.readFile(c)));
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < options.submissions; i++) {
      const form = new FormData();
      form.set("assignment", "pool");
      const c = i % CONTROLLERS.length;
      form.set(
        "file",
        new File([files[c]!], CONTROLLERS[c]!.split("/").pop()!),
      );
      const r = await fetch(`${url}/api/class/submissions`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens[i % tokens.length]}` },
        body: form,
      });
      if (r.status !== 202) throw new Error(await r.text());
      ids.push((await r.json()).submission.id);
    }
    for (let i = 0;; i++) {
      const q = await get("/api/class/teacher/queue");
      if (q.waiting.length + q.running.length === 0) break;
      if (i > 36_000) throw new Error("the queue did not empty");
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    let gradingSeconds = 0;
    let firstRunningMs = NaN;
    for (const [i, id] of ids.entries()) {
      const v = await get(`/api/class/teacher/submissions/${id}`);
      if (v.submission.status !== "graded") {
        throw new Error(`${id}: ${JSON.stringify(v)}`);
      }
      gradingSeconds += v.grades[0].seconds;
      if (i === 0) {
        firstRunningMs = v.job.startedAt - Date.parse(v.submission.createdAt);
      }
    }
    const slots = options.workers * options.slots;
    return {
      ...options,
      wallSeconds,
      perMinute: options.submissions / wallSeconds * 60,
      perMinutePerSlot: options.submissions / wallSeconds * 60 / slots,
      gradingSeconds,
      overhead: 1 - gradingSeconds / (wallSeconds * slots),
      firstRunningMs,
    };
  } finally {
    for (const stop of stops) await stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      submissions: { type: "string", default: "200" },
      layouts: { type: "string", default: "1x1,2x1,1x2,2x2" },
    },
  });
  const rows: NatsCourseFigures[] = [];
  for (const layout of values.layouts.split(",")) {
    const [workers, slots] = layout.split("x").map(Number);
    const r = await benchNatsCourse({
      workers: workers!,
      slots: slots!,
      submissions: Number(values.submissions),
    });
    rows.push(r);
    console.log(
      `${r.workers} worker(s) × ${r.slots} slot(s): ${r.submissions} graded in ${
        r.wallSeconds.toFixed(1)
      } s: ${r.perMinute.toFixed(1)}/min (${
        r.perMinutePerSlot.toFixed(1)
      }/min per slot); grading ${r.gradingSeconds.toFixed(1)} s; overhead ${
        (r.overhead * 100).toFixed(1)
      } %; first job running ${
        r.firstRunningMs.toFixed(0)
      } ms after its upload`,
    );
  }
  const one = rows.find((r) => r.workers === 1 && r.slots === 1);
  const two = rows.find((r) => r.workers === 2 && r.slots === 1);
  if (one && two) {
    console.log(
      `speed-up from 1 to 2 workers: ${
        (two.perMinute / one.perMinute).toFixed(2)
      }×`,
    );
  }
  console.log(`cores on this machine: ${navigator.hardwareConcurrency}`);
}
