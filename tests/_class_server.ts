/**
 * The class server as a real process for end-to-end tests: `cli/serve.ts` on a store on disk, a free port on
 * 127.0.0.1, the test roster and assignments; the students' tokens read from the tokens file it writes; the teacher
 * logged in as a program does it. Every wait is bounded by a number of checks, not by a wall-clock figure that a
 * busy machine could miss.
 *
 * @module
 */

import { Child } from "./_processes.ts";
import { hasCommand } from "./_peers.ts";
import type { StudentSubmissionView } from "../server/mod.ts";

/** The test roster and assignments (half-hour scenarios; `secret-chill` is hidden). */
export const CLASS_FIXTURES = {
  roster: "tests/fixtures/class/roster.csv",
  assignments: "tests/fixtures/class/assignments.yaml",
};
/** Words of the hidden scenario that no student-visible response may hold. */
export const HIDDEN_WORDS = [
  "secret-chill",
  "Secret chill",
  "hidden test case",
  "18 °C room",
];
/** The teacher's password the test servers use (from the environment, as the README says). */
export const TEACHER_PASSWORD = "test-teacher-password";

/** A running `deno task serve`. */
export interface ServeProcess {
  url: string;
  child: Child;
  /** Student name → token. */
  tokens: Map<string, string>;
}

/** A folder with a copy of the roster (the tokens file is written beside it). */
export async function classFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "class-server-test-" });
  await Deno.copyFile(CLASS_FIXTURES.roster, `${dir}/roster.csv`);
  return dir;
}

/** Starts `cli/serve.ts` on `dir/db.kv` (the roster imported at the first start) and waits until it listens. */
export async function startServe(
  dir: string,
  options: {
    workers?: number;
    assignments?: string;
    /** More of the server's environment (`FISHTANK_NODE_RED_DIR`, NATS credentials). */
    env?: Record<string, string>;
    /** Grade on NATS workers at this URL instead of the server's own pool. */
    nats?: string;
    /** More arguments (`--cert`, `--key`). */
    args?: string[];
    /** The store: default `dir/db.kv`; a `postgres://` URL for a store on PostgreSQL. */
    db?: string;
  } = {},
): Promise<ServeProcess> {
  const child = new Child(Deno.execPath(), [
    "run",
    "-A",
    "cli/serve.ts",
    "--db",
    options.db ?? `${dir}/db.kv`,
    "--port",
    "0",
    "--roster",
    `${dir}/roster.csv`,
    "--assignments",
    options.assignments ?? CLASS_FIXTURES.assignments,
    ...(options.nats
      ? ["--nats", options.nats]
      : ["--workers", String(options.workers ?? 2)]),
    ...(options.args ?? []),
  ], {
    env: {
      FISHTANK_TEACHER_PASSWORD: TEACHER_PASSWORD,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...options.env,
    },
  });
  // An exit before the server is up fails at once, with what it printed.
  const exited = child.process.status.then((status) => {
    throw new Error(
      `deno task serve exited with code ${status.code} before it was up:\n${child.output}`,
    );
  });
  exited.catch(() => {});
  const match = await Promise.race([
    child.waitFor(/Class server on (https?:\/\/\S+)/, 60_000),
    exited,
  ]);
  // "Teacher login" is the last line printed at start: all the others (requeued jobs…) are in the output by then.
  await Promise.race([child.waitFor(/Teacher login at /, 60_000), exited]);
  const tokens = new Map<string, string>();
  const text = await Deno.readTextFile(`${dir}/roster.tokens.csv`);
  for (const line of text.trim().split("\n").slice(1)) {
    const [name, , token] = line.split(",");
    tokens.set(name!, token!);
  }
  return { url: match[1]!, child, tokens };
}

/** The teacher's session on a class server: cookie and CSRF token. */
export async function classTeacher(
  url: string,
): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password: TEACHER_PASSWORD }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!;
  if (response.status !== 303 || cookie === "") {
    throw new Error(`teacher login refused: ${response.status}`);
  }
  const session = await fetch(`${url}/api/class/teacher/session`, {
    headers: { cookie },
  });
  const { csrf } = await session.json();
  return { cookie, csrf };
}

/** Uploads `path` as `token`'s submission to `assignment`; returns the response's status and body text. */
export async function upload(
  url: string,
  token: string,
  assignment: string,
  path: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const form = new FormData();
  form.set("assignment", assignment);
  form.set(
    "file",
    new File([await Deno.readFile(path)], path.split("/").pop()!),
  );
  for (const [k, v] of Object.entries(extra)) form.set(k, v);
  const response = await fetch(`${url}/api/class/submissions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Checks `check` again and again (a short pause between checks) until it returns a value, at most `tries` times:
 * bounded by checks, so a slow machine only waits longer in wall-clock time per check.
 */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  options: { tries?: number; pauseMs?: number } = {},
): Promise<T> {
  const tries = options.tries ?? 2400;
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 250));
  }
  throw new Error(`gave up waiting for ${what} after ${tries} checks`);
}

/** A student's view of one submission. */
export async function studentView(
  url: string,
  token: string,
  id: string,
): Promise<StudentSubmissionView> {
  const r = await fetch(`${url}/api/class/submissions/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await r.json()).submission;
}

/** Debian's nats-server (in /usr/sbin, which a user's PATH may lack); undefined when it is not installed. */
export const NATS_SERVER = ["nats-server", "/usr/sbin/nats-server"].find((c) =>
  hasCommand(c, ["--version"])
);

/**
 * `nats-server -js` with `config` (JetStream in `dir/js`, listening on `port`, unless the config says more) written
 * to `dir/nats.conf`; waits until it is ready. Started again the same way on the same port and store after a stop.
 */
export async function startNats(
  port: number,
  dir: string,
  config = `listen: 127.0.0.1:${port}\njetstream { store_dir: "${dir}/js" }\n`,
): Promise<Child> {
  await Deno.writeTextFile(`${dir}/nats.conf`, config);
  const child = new Child(NATS_SERVER ?? "nats-server", [
    "-js",
    "-c",
    `${dir}/nats.conf`,
  ]);
  await child.waitFor(/Server is ready/, 20_000);
  return child;
}

/** NATS users of the tests: the class server's and the workers'. */
export const NATS_USERS = {
  server: { user: "class-server", pass: "server-secret-1" },
  worker: { user: "grader", pass: "worker-secret-2" },
};

/**
 * nats-server's config: JetStream in `dir`, the server's user with every right, the workers' with their subjects
 * (as the README's), `more` added (a `tls { … }` block), and the largest message.
 */
export function natsConfig(
  port: number,
  dir: string,
  more = "",
  maxPayload = "8MB",
): string {
  const w = NATS_USERS.worker;
  const s = NATS_USERS.server;
  return `${more}listen: 127.0.0.1:${port}
jetstream { store_dir: "${dir}/js" }
max_payload: ${maxPayload}
authorization {
  users: [
    { user: "${s.user}", password: "${s.pass}" }
    { user: "${w.user}", password: "${w.pass}", permissions: {
        publish: { allow: [
          "$JS.API.CONSUMER.INFO.FISHTANK_JOBS.graders",
          "$JS.API.CONSUMER.MSG.NEXT.FISHTANK_JOBS.graders",
          "$JS.ACK.FISHTANK_JOBS.>",
          "fishtank.results.>", "fishtank.workers.beat", "fishtank.start",
          "$JS.API.STREAM.INFO.OBJ_fishtank_results",
          "$JS.API.STREAM.MSG.GET.OBJ_fishtank_results",
          "$JS.API.STREAM.PURGE.OBJ_fishtank_results",
          "$O.fishtank_results.>"
        ] }
        subscribe: { allow: ["_INBOX.>", "fishtank.cancel"] }
    } }
  ]
}
`;
}

/** The environment of a class server or worker process that connects to NATS as `user`. */
export function natsEnv(
  user: { user: string; pass: string },
): Record<string, string> {
  return {
    FISHTANK_TEACHER_PASSWORD: TEACHER_PASSWORD,
    FISHTANK_NATS_USER: user.user,
    FISHTANK_NATS_PASSWORD: user.pass,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
  };
}

/** `deno task worker` (as cli/worker.ts) with `args` and the environment `env` (by default the grader user's). */
export function workerProcess(
  args: string[],
  env: Record<string, string> = natsEnv(NATS_USERS.worker),
): Child {
  return new Child(Deno.execPath(), ["run", "-A", "cli/worker.ts", ...args], {
    env,
  });
}
