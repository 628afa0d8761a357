/**
 * `deno task serve`: the class server. The web app (runs, reports, replay, leaderboard: the teacher's, behind the
 * login; a signed-in student opens the runs on their own score cards, see `server/run_pages_guard.ts`) plus the class
 * API under `/api/class/` (see `server/class_api.ts`), a worker pool grading submissions as sealed runs, all on one
 * data store.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  CLASS_API_PREFIX,
  classApiRoutes,
  ClassServer,
  guardRunPages,
  loadAssignments,
  NATS_URL,
  natsCaFile,
  natsConnectHint,
  natsCredentials,
  NatsDispatcher,
  parseRosterCsv,
  requestStudent,
  StudentSessions,
  type TeacherCheck,
  teacherPassword,
  tokensCsv,
} from "../server/mod.ts";
import { DEFAULT_STORE_PATH, RunStore } from "../store/mod.ts";
import {
  CLASS_PAGES_PREFIX,
  CLASS_ROUTES,
  editAccess,
  readOptionFile,
  readSecretFile,
  type RouteModule,
  ROUTES,
  startWeb,
  type WebContext,
} from "../web/mod.ts";

const HELP =
  `deno task serve [options]: the class server: students submit controllers, workers grade them, the teacher sees the class

  --db PATH|URL          data store (default ${DEFAULT_STORE_PATH}); runs and class data share it;
                         a postgres://user@host/db URL keeps it on PostgreSQL
  --port N               port (default 8000; 0 for any free port)
  --host ADDR            interface (default 127.0.0.1; 0.0.0.0 to serve the classroom)
  --cert FILE --key FILE serve HTTPS with this certificate (PEM, the chain) and its private key (PEM); cookies
                         are then sent over HTTPS only
  --roster FILE.csv      add the students of FILE (lines "name,group"; a header line is allowed); each new
                         student gets a token, printed once and written to --tokens-out
  --tokens-out FILE      where the new students' tokens go (default: FILE.tokens.csv beside the roster;
                         made readable by its owner only)
  --assignments FILE     assignments YAML (adds or replaces each one; releases already made stay)
  --workers N            submissions graded at once (default: one per core; 0 to grade nothing)
  --nats URL             grade on NATS JetStream instead (nats://host:4222): jobs go to the workers that
                         deno task worker --nats URL starts on any machine; no worker runs here. The server's
                         NATS user and password from FISHTANK_NATS_USER and FISHTANK_NATS_PASSWORD, or
  --nats-credentials FILE  a file of two lines (user, password)
  --nats-ca FILE         TLS to NATS (with --nats tls://host:4222): the PEM certificate of the authority that
                         signed nats-server's; without it the system's authorities are trusted
  --teacher-password-file PATH
                         the teacher's password from the first line of PATH; or set FISHTANK_TEACHER_PASSWORD;
                         else one is made at the first start, printed once and kept in the store
                         (never on the command line, where every local process reads it in /proc)
  --help                 this text

Students submit with: deno task submit --server URL --token TOKEN --assignment ID my_controller.py
The teacher logs in at URL/login; the API is described in server/class_api.ts and the README.`;

function fail(message: string): number {
  console.error(message);
  return 2;
}

/** Runs `deno task serve`; returns the exit code when it cannot start, else serves until SIGINT or SIGTERM. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        db: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        roster: { type: "string" },
        "tokens-out": { type: "string" },
        assignments: { type: "string" },
        workers: { type: "string" },
        nats: { type: "string" },
        "nats-credentials": { type: "string" },
        "nats-ca": { type: "string" },
        "teacher-password": { type: "string" },
        "teacher-password-file": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values["teacher-password"] !== undefined) {
    return fail(
      "--teacher-password: a password on the command line is visible to every local process (/proc/*/cmdline); set FISHTANK_TEACHER_PASSWORD or use --teacher-password-file PATH instead",
    );
  }
  const port = Number(values.port ?? "8000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return fail(`--port: expected a port number 0–65535, got "${values.port}"`);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    return fail(
      `--cert and --key go together: got only ${
        values.cert === undefined ? "--key" : "--cert"
      }`,
    );
  }
  let tls: { cert: string; key: string } | undefined;
  if (values.cert !== undefined && values.key !== undefined) {
    try {
      tls = {
        cert: await pemFile(values.cert, "--cert", "CERTIFICATE"),
        key: await pemFile(values.key, "--key", "PRIVATE KEY"),
      };
    } catch (error) {
      return fail((error as Error).message);
    }
  }
  if (values.nats !== undefined && !NATS_URL.test(values.nats)) {
    return fail(
      `--nats: expected the NATS server's URL like nats://host:4222 or tls://host:4222, got "${values.nats}"`,
    );
  }
  let natsCa: string | undefined;
  if (values["nats-ca"] !== undefined) {
    if (values.nats === undefined) {
      return fail("--nats-ca goes with --nats URL (TLS to NATS)");
    }
    try {
      natsCa = await natsCaFile(values["nats-ca"], "--nats-ca");
    } catch (error) {
      return fail((error as Error).message);
    }
  }
  const workers = values.workers === undefined
    ? navigator.hardwareConcurrency || 1
    : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > 256) {
    return fail(
      `--workers: expected a whole number 0–256, got "${values.workers}"`,
    );
  }
  let given: { password: string; source: "environment" | "file" } | undefined;
  const fromEnv = Deno.env.get("FISHTANK_TEACHER_PASSWORD");
  if (values["teacher-password-file"] !== undefined) {
    try {
      given = {
        password: await readSecretFile(
          values["teacher-password-file"],
          "--teacher-password-file",
        ),
        source: "file",
      };
    } catch (error) {
      return fail((error as Error).message);
    }
  } else if (fromEnv) given = { password: fromEnv, source: "environment" };
  let roster, assignments;
  try {
    if (values.roster !== undefined) {
      roster = parseRosterCsv(
        await Deno.readTextFile(values.roster),
        values.roster,
      );
    }
    if (values.assignments !== undefined) {
      assignments = await loadAssignments(values.assignments);
    }
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }

  const db = values.db ?? DEFAULT_STORE_PATH;
  const host = values.host ?? "127.0.0.1";
  const runs = await RunStore.open(db);
  await runs.markInterrupted();
  const server = await ClassServer.open(runs, {
    pool: {
      workers: values.nats === undefined ? workers : 0,
      nodeRed: {
        runner: new URL("../examples/node-red/run.sh", import.meta.url)
          .pathname,
        ...(Deno.env.get("FISHTANK_NODE_RED_DIR")
          ? { dir: Deno.env.get("FISHTANK_NODE_RED_DIR")! }
          : {}),
      },
      onJobEnd: (job, outcome) => console.log(`job ${job.id}: ${outcome}`),
    },
  });
  const nats = values.nats === undefined
    ? undefined
    : await startNats(server, values.nats, values["nats-credentials"], natsCa);
  const login = await teacherPassword(server.store, given);
  for (const a of assignments ?? []) await server.putAssignment(a);
  let added: { name: string; group: string; token: string }[] = [];
  if (roster) {
    const result = await server.store.importRoster(roster);
    added = result.added.map((a) => ({
      name: a.student.name,
      group: a.student.group,
      token: a.token,
    }));
    console.log(
      `Roster ${values.roster}: ${added.length} new student${
        added.length === 1 ? "" : "s"
      }, ${result.existing} already there.`,
    );
    if (added.length > 0) {
      const out = values["tokens-out"] ??
        values.roster!.replace(/\.csv$/i, "") + ".tokens.csv";
      await Deno.writeTextFile(out, tokensCsv(added), { mode: 0o600 });
      await Deno.chmod(out, 0o600).catch(() => {});
      console.log(
        `New students' tokens (shown this once; also in ${out}, readable by you only):`,
      );
      for (const a of added) {
        console.log(`  ${a.name}${a.group ? ` (${a.group})` : ""}: ${a.token}`);
      }
    }
  }

  const teacherFor = (context: WebContext): TeacherCheck => (c) => {
    const access = editAccess(c, context);
    return access.locked && access.csrf ? { csrf: access.csrf } : undefined;
  };
  // One set of student sessions: a signed-in student opens the run pages of their own score cards.
  const sessions = new StudentSessions(server.store.kv);
  const guard: RouteModule = (app, context) =>
    guardRunPages(app, {
      teacher: teacherFor(context),
      students: {
        student: (c) => requestStudent(c, server, sessions),
        mayOpenRun: (student, runId) =>
          server.studentMayOpenRun(student, runId),
      },
    });
  const api: RouteModule = (app, context) =>
    classApiRoutes(app, { server, teacher: teacherFor(context), sessions });
  const web = await startWeb({
    store: runs,
    port,
    host,
    ...(tls ? { tls } : {}),
    lock: { password: login.password },
    // The class pages pass students' forms on to the API, which checks the token's session and CSRF itself.
    selfGuarded: [CLASS_API_PREFIX, CLASS_PAGES_PREFIX],
    routes: [guard, api, ...ROUTES, ...CLASS_ROUTES],
  });
  console.log(
    `Class server on ${web.url} (store ${db}, ${
      nats
        ? `grading on NATS ${nats.url}`
        : `${workers} worker${workers === 1 ? "" : "s"}`
    }; ${(await server.store.listAssignments()).length} assignments, ${
      (await server.store.listStudents()).length
    } students). Ctrl-C to stop.`,
  );
  if (server.requeued.length > 0) {
    console.log(
      `Requeued ${server.requeued.length} job(s) that were running when the last server stopped.`,
    );
  }
  console.log(
    login.source === "generated"
      ? `Teacher login at ${web.url}/login: password ${login.password} (shown this once; kept in the store; set FISHTANK_TEACHER_PASSWORD or --teacher-password-file to choose one)`
      : `Teacher login at ${web.url}/login with the password ${
        login.source === "stored"
          ? "made at the first start"
          : `from the ${login.source}`
      }.`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log("Stopping: running jobs are graded again at the next start.");
    web.close()
      .then(() => nats?.close())
      .then(() => server.close())
      .then(() => runs.close())
      .finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return await new Promise<number>(() => {});
}

/** The PEM text of `path` for `flag`, which must hold a block whose label ends with `label`. */
async function pemFile(
  path: string,
  flag: string,
  label: string,
): Promise<string> {
  const text = await readOptionFile(path, flag);
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    throw new TypeError(
      `${flag}: "${path}" is not a PEM file with a ${label} block (expected a line "-----BEGIN ${label}-----")`,
    );
  }
  return text;
}

/** Grading on NATS: the dispatcher, and its workers in the teacher's queue; exits when NATS cannot be reached. */
async function startNats(
  server: ClassServer,
  url: string,
  credentialsFile: string | undefined,
  caFile: string | undefined,
): Promise<NatsDispatcher> {
  try {
    const nats = await NatsDispatcher.start(url, server.store, server.runs, {
      credentials: await natsCredentials(credentialsFile),
      caFile,
      log: (line) => console.log(line),
    });
    server.queueDetails = async () => ({ nats: await nats.details() });
    return nats;
  } catch (error) {
    console.error(
      `--nats ${url}: ${(error as Error).message} (${natsConnectHint(error)})`,
    );
    Deno.exit(2);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
