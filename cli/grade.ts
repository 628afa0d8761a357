/**
 * `deno task challenge` (the student's loop) and `deno task grade` (the CI grader): run scenarios in lockstep
 * against a controller, store every message in Deno KV, grade the runs and report. `deno task grade --rescore <id>`
 * grades a stored run again from its records.
 *
 * Exit codes: 0 when every scenario passes, 1 when one fails its pass mark, 2 for a usage or harness error.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { MultiBar, Presets } from "cli-progress";
import pc from "picocolors";
import {
  formatDuration,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioError,
} from "../scenarios/mod.ts";
import {
  renderRunCharts,
  renderScoreCard,
  type RunGrade,
  toJson,
  toJUnit,
  toMarkdown,
} from "../grader/mod.ts";
import { AedesBus, EmbeddedBroker } from "../harness/broker/mod.ts";
import { LockstepHarness } from "../harness/lockstep/mod.ts";
import {
  type AckMode,
  type MessageRecord,
  RunStore,
  studentName,
} from "../store/mod.ts";
import {
  gradeScenario,
  gradeStoredRun,
  IncompleteRunError,
  scoreRigSession,
} from "../harness/grading/mod.ts";

/** The scenarios `deno task challenge` runs when no `--scenario` is given. */
export const PRACTICE_SET = [
  "steady-day",
  "cold-room",
  "heater-failure",
] as const;

const STARTER = "examples/starter.ts";

function help(mode: "challenge" | "grade"): string {
  const title = mode === "challenge"
    ? `${
      pc.bold("deno task challenge")
    } — run the practice scenarios against your controller and get a score card`
    : `${
      pc.bold("deno task grade")
    } — grade a controller on scenarios, for CI (JSON, JUnit, Markdown reports)`;
  return `${title}

${pc.bold("Usage")}
  deno task ${mode} [--controller "<command>"] [--scenario a,b] [options]
  deno task grade --rescore <run-id> [--json file] [--junit file] [--markdown file]
  deno task grade --rescore <session-run-id> --tank <rig> [--scenario ID|FILE] [--name NAME]

${pc.bold("Controller")}
  --controller CMD     the program to grade, run through sh -c with MQTT_URL, MQTT_HOST, MQTT_PORT,
                       TANK_ID and TOPIC_ROOT in its environment, e.g. "python3 my_controller.py";
                       a .ts or .js file alone (my_controller.ts) runs under Deno's permissions:
                       the broker only, reads in its folder only; other programs run with resource
                       limits (and as user nobody when the harness is root)
                       (${
    mode === "challenge"
      ? "default: the starter controller examples/starter.ts"
      : "default: wait for an external controller"
  })
  --external           do not start a program: wait for a controller to connect (prints where)
  --port N             with --external: the MQTT port to wait on (default: 1883; 0 picks a free one)
  --unsandboxed        run the controller as given, without permissions or limits (your own machine only)
  --step-timeout MS    wall milliseconds a step waits for a controller the harness cannot follow
                       (no ack, no library it knows, no QoS 1, no /proc to watch; default: 100)
  --connect-timeout S  seconds to wait for the controller to connect and subscribe (default: 10; 300 with --external)

${pc.bold("Scenarios")}
  --scenario LIST      comma-separated built-in ids or YAML files (default: ${
    mode === "challenge"
      ? PRACTICE_SET.join(",")
      : "the practice set " + PRACTICE_SET.join(",")
  })
  --parallel N         run N scenarios at once, each on its own tank (default: 1)

${pc.bold("Data store and reports")}
  --db PATH            Deno KV file (default: data/fishtank.kv); :memory: keeps nothing;
                       a postgres://user@host/db URL stores on PostgreSQL
  --name NAME          student name stored with the runs (default: git user.name, else the login)
  --group NAME         class or group, for the leaderboard
  --json FILE          write the grades as JSON
  --junit FILE         write JUnit XML: one test case per scenario, failing below its pass mark
  --markdown FILE      write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)
  --rescore RUN-ID     grade a stored run again from its records (no controller is run)
  --plot               with --rescore: chart each measurement against its range over the run
  --tank RIG           with --rescore of a recorded session (deno task sim --record --rig RIG): score the rig
                       over the interval(s) where its control_source said self (its own control system in
                       charge), store that as run <session-run-id>-<rig> (runs list, report, leaderboard) and
                       print its card; --scenario names the scenario the simulator played when the session
                       does not say, --name whose controller it was (default: the session's recorder)
  --quiet              no progress bars
  -h, --help           show this help

${
    pc.bold("Exit codes")
  }  0 every scenario passed · 1 a scenario is below its pass mark · 2 usage or harness error
`;
}

/** How the steps are being synchronised, in the progress bar's words. */
const SYNCHRONISED_BY: Record<AckMode, string> = {
  none: "waiting for the first answer",
  explicit: "synchronised by your acks",
  library: "synchronised by your MQTT library",
  puback: "synchronised by your QoS 1 PUBACKs",
  process: "synchronised by your processes",
  timeout: "time window per step (slow; see the card)",
};

/** Bad command-line input: shown without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

interface GradeOptions {
  mode: "challenge" | "grade";
  controller?: string;
  external: boolean;
  /** The port an external controller connects to (0: a free one). */
  port: number;
  scenarios: string[];
  parallel: number;
  db: string;
  name?: string;
  group?: string;
  json?: string;
  junit?: string;
  markdown?: string;
  rescore?: string;
  /** With `rescore`: the rig to score over its own-control interval(s) of the recorded session. */
  rigTank?: string;
  /** With `rigTank`: the scenario given with --scenario, if any. */
  rigScenario?: string;
  plot: boolean;
  stepTimeoutMs: number;
  connectTimeoutMs: number;
  /** False with --unsandboxed. */
  sandbox: boolean;
  quiet: boolean;
  help: boolean;
}

/** Parses the arguments of `deno task challenge` / `deno task grade`. */
export function parseGradeArgs(
  mode: "challenge" | "grade",
  args: string[],
): GradeOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        controller: { type: "string" },
        external: { type: "boolean", default: false },
        port: { type: "string" },
        unsandboxed: { type: "boolean", default: false },
        scenario: { type: "string" },
        parallel: { type: "string", default: "1" },
        db: { type: "string", default: join("data", "fishtank.kv") },
        name: { type: "string" },
        group: { type: "string" },
        json: { type: "string" },
        junit: { type: "string" },
        markdown: { type: "string" },
        rescore: { type: "string" },
        tank: { type: "string" },
        plot: { type: "boolean", default: false },
        "step-timeout": { type: "string", default: "100" },
        "connect-timeout": { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(
      `${
        error instanceof Error ? error.message : error
      }. See deno task ${mode} --help`,
    );
  }
  const number = (text: string, flag: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(
        `${flag}: expected a number from ${min} to ${max}, got "${text}"`,
      );
    }
    return n;
  };
  if (values.controller !== undefined && values.external) {
    throw new UsageError(
      "--controller and --external exclude each other: give one",
    );
  }
  // `grade` without a program waits for an external controller; `challenge` runs the starter.
  const external = values.external ||
    (mode === "grade" && values.controller === undefined);
  if (values.port !== undefined && !external) {
    throw new UsageError(
      "--port: only with --external (a controller the harness starts is told the port it picked)",
    );
  }
  if (values.tank !== undefined && values.rescore === undefined) {
    throw new UsageError(
      "--tank: only with --rescore SESSION-RUN-ID, to score a rig over its own-control interval(s) of a recorded session",
    );
  }
  if (
    values.tank !== undefined &&
    (values.tank === "" || /[/+#]/.test(values.tank))
  ) {
    throw new UsageError(
      `--tank: expected a rig's tank id (one topic level), got "${values.tank}"`,
    );
  }
  const scenarios = (values.scenario ?? PRACTICE_SET.join(",")).split(",").map((
    s,
  ) => s.trim()).filter(Boolean);
  if (scenarios.length === 0) {
    throw new UsageError("--scenario: give at least one scenario id or file");
  }
  return {
    mode,
    ...(values.controller !== undefined
      ? { controller: values.controller }
      : {}),
    external,
    port: values.port === undefined
      ? (external ? 1883 : 0)
      : number(values.port, "--port", 0, 65535),
    scenarios,
    parallel: number(values.parallel, "--parallel", 1, 64),
    db: values.db,
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(values.junit !== undefined ? { junit: values.junit } : {}),
    ...(values.markdown !== undefined ? { markdown: values.markdown } : {}),
    ...(values.rescore !== undefined ? { rescore: values.rescore } : {}),
    ...(values.tank !== undefined ? { rigTank: values.tank } : {}),
    ...(values.tank !== undefined && values.scenario !== undefined
      ? { rigScenario: values.scenario }
      : {}),
    plot: values.plot,
    sandbox: !values.unsandboxed,
    stepTimeoutMs: number(values["step-timeout"], "--step-timeout", 1, 600_000),
    connectTimeoutMs: 1000 *
      number(
        values["connect-timeout"] ?? (external ? "300" : "10"),
        "--connect-timeout",
        0.1,
        3600,
      ),
    quiet: values.quiet,
    help: values.help,
  };
}

/**
 * Writes the reports asked for. A report that cannot be written (its path may be on another file system) is named on
 * stderr and the others are still written; returns false when one failed.
 */
async function writeReports(
  options: GradeOptions,
  grades: RunGrade[],
  incomplete?: string,
): Promise<boolean> {
  const extra = incomplete === undefined
    ? {}
    : { incomplete: true, error: incomplete };
  const reports: [
    flag: string,
    path: string | undefined,
    text: () => string,
  ][] = [
    ["--json", options.json, () => toJson(grades, extra)],
    [
      "--junit",
      options.junit,
      () => toJUnit(grades, { suiteName: "fishtank" }),
    ],
    ["--markdown", options.markdown, () => toMarkdown(grades)],
  ];
  let ok = true;
  for (const [flag, path, text] of reports) {
    if (path === undefined) continue;
    try {
      await Deno.writeTextFile(path, text());
    } catch (error) {
      ok = false;
      console.error(
        pc.red(
          `harness error: the ${flag} report ${path} could not be written (${
            error instanceof Error ? error.message : error
          })`,
        ),
      );
    }
  }
  return ok;
}

/** Runs `deno task challenge` or `deno task grade`; returns the exit code. */
export async function main(
  mode: "challenge" | "grade",
  args: string[],
): Promise<number> {
  let options: GradeOptions;
  try {
    options = parseGradeArgs(mode, args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(pc.red(error.message));
      return 2;
    }
    throw error;
  }
  if (options.help) {
    console.log(help(mode));
    return 0;
  }
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  let store: RunStore;
  try {
    store = await RunStore.open(options.db);
  } catch (error) {
    console.error(
      pc.red(error instanceof Error ? error.message : String(error)),
    );
    return 2;
  }
  try {
    const interrupted = await store.markInterrupted();
    if (interrupted.length > 0) {
      console.error(
        pc.yellow(
          `(marked ${interrupted.length} run(s) left by a harness that stopped as interrupted)`,
        ),
      );
    }
    if (options.rescore) {
      if (!(await store.getRun(options.rescore))) {
        throw new UsageError(
          `No run "${options.rescore}" in the data store ${options.db}: check the id (deno task web lists the runs)`,
        );
      }
      let runId = options.rescore;
      let grade: RunGrade;
      if (options.rigTank !== undefined) {
        let scored;
        try {
          scored = await scoreRigSession(store, options.rescore, {
            rig: options.rigTank,
            ...(options.rigScenario !== undefined
              ? { scenario: options.rigScenario }
              : {}),
            ...(options.name !== undefined ? { student: options.name } : {}),
          });
        } catch (error) {
          if (error instanceof RangeError || error instanceof ScenarioError) {
            throw new UsageError(error.message);
          }
          throw error;
        }
        runId = scored.runId;
        grade = scored.grade;
        console.log(`${pc.bold("Scored:")} ${scored.scored}.`);
        console.log(
          `Stored as run ${
            pc.bold(runId)
          } (deno task web shows it; deno task grade --rescore ${runId} scores it again).\n`,
        );
      } else grade = await gradeStoredRun(store, options.rescore);
      console.log(renderScoreCard([grade], { color }));
      if (options.plot) {
        const meta = (await store.getRun(runId))!;
        const scenario = parseScenario(meta.scenario.source, {
          file: meta.scenario.id,
        });
        const records: MessageRecord[] = [];
        for await (
          const record of store.messages(runId, { kinds: ["truth"] })
        ) records.push(record);
        console.log("\n" + renderRunCharts(scenario, records, { color }));
      }
      if (!(await writeReports(options, [grade]))) return 2;
      return grade.pass ? 0 : 1;
    }
    const scenarios: Scenario[] = [];
    for (const id of options.scenarios) {
      try {
        scenarios.push(await loadScenario(id));
      } catch (error) {
        console.error(
          pc.red(error instanceof Error ? error.message : String(error)),
        );
        return 2;
      }
    }
    return await runAll(options, store, scenarios, color);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(pc.red(error.message));
      return 2;
    }
    console.error(
      pc.red(
        `harness error: ${
          error instanceof Error ? error.stack ?? error.message : error
        }`,
      ),
    );
    return 2;
  } finally {
    try {
      await store.close();
    } catch (error) {
      // A recorder's last write failed: the run that owned it has said so already.
      console.error(
        pc.red(
          `harness error: closing the data store ${options.db}: ${
            error instanceof Error ? error.message : error
          }`,
        ),
      );
    }
  }
}

async function runAll(
  options: GradeOptions,
  store: RunStore,
  scenarios: Scenario[],
  color: boolean,
): Promise<number> {
  const student = await studentName(options.name);
  const controller = options.external ? undefined : options.controller ??
    (options.mode === "challenge" ? STARTER : undefined);
  const broker = await EmbeddedBroker.start({
    port: options.port,
    wsPort: null,
  });
  const harness = new LockstepHarness(broker, new AedesBus(broker.aedes));
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const who = controller === STARTER
    ? "the starter controller (examples/starter.ts)"
    : controller ?? "an external controller";
  console.log(
    `${
      pc.bold(options.mode === "challenge" ? "🐟 Challenge" : "🐟 Grading")
    }: ${who}, ${scenarios.length} scenario${
      scenarios.length > 1 ? "s" : ""
    } (${scenarios.map((s) => s.id).join(", ")}), student ${pc.bold(student)}`,
  );
  if (options.external) {
    console.log(
      `Waiting for your controller: connect to ${
        pc.green(broker.url)
      } with TANK_ID=tank1 (TANK_ID=tank2, … with --parallel), TOPIC_ROOT=fishtank, e.g. MQTT_URL=${broker.url} python3 my_controller.py`,
    );
  }
  const bars = options.quiet || !Deno.stderr.isTerminal()
    ? undefined
    : new MultiBar(
      {
        format:
          ` {scenario} |{bar}| {sim} / {total} simulated | {sps} steps/s | {mode}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
  const grades: RunGrade[] = new Array(scenarios.length);
  const incomplete: IncompleteRunError[] = [];
  let next = 0;
  const worker = async (slot: number) => {
    while (next < scenarios.length && !abort.signal.aborted) {
      const index = next++;
      const scenario = scenarios[index]!;
      const bar = bars?.create(scenario.duration, 0, {
        scenario: scenario.id.padEnd(16),
        sim: "0s",
        // Not "duration": cli-progress fills that token with the elapsed wall seconds itself.
        total: formatDuration(scenario.duration),
        sps: "0",
        mode: "connecting",
      });
      let lastLine = 0;
      try {
        grades[index] = await gradeScenario({
          options,
          store,
          harness,
          scenario,
          student,
          tank: options.parallel > 1 ? `tank${slot + 1}` : "tank1",
          controller,
          signal: abort.signal,
          progress: (p) => {
            if (bar) {
              bar.update(p.t, {
                sim: formatDuration(Math.round(p.t)),
                sps: Math.round(p.stepsPerSecond).toLocaleString("en-US"),
                mode: p.phase === "uncontrolled"
                  ? "uncontrolled"
                  : SYNCHRONISED_BY[p.ackMode],
              });
            } else if (!options.quiet && performance.now() - lastLine > 5000) {
              lastLine = performance.now();
              console.log(
                `  ${scenario.id}: ${formatDuration(Math.round(p.t))} of ${
                  formatDuration(scenario.duration)
                } simulated, ${Math.round(p.stepsPerSecond)} steps/s`,
              );
            }
          },
        });
      } catch (error) {
        if (!(error instanceof IncompleteRunError)) throw error;
        // The store cannot be written: stop the other scenarios too, and report what is known.
        incomplete.push(error);
        grades[index] = error.grade;
        abort.abort();
      }
      bar?.update(scenario.duration);
      bar?.stop();
    }
  };
  try {
    await Promise.all(
      Array.from(
        { length: Math.min(options.parallel, scenarios.length) },
        (_, i) => worker(i),
      ),
    );
  } finally {
    bars?.stop();
    Deno.removeSignalListener("SIGINT", onSignal);
    await harness.bus.close();
    await broker.close();
  }
  const done = grades.filter(Boolean);
  console.log("\n" + renderScoreCard(done, { color }));
  const failed = new Set(incomplete.map((error) => error.grade.runId));
  const stored = done.filter((grade) => !failed.has(grade.runId));
  for (const error of incomplete) {
    console.error(pc.red(`harness error: ${error.message}`));
  }
  const reported = await writeReports(
    options,
    done,
    incomplete.length > 0
      ? incomplete.map((error) => error.message).join("; ")
      : undefined,
  );
  if (options.db === ":memory:") {
    console.log(pc.dim("Nothing was stored (--db :memory:)."));
  } else if (stored.length > 0) {
    console.log(
      pc.dim(
        `Stored ${stored.length} run${
          stored.length > 1 ? "s" : ""
        } in ${options.db}: ${
          stored.map((g) => g.runId).join(", ")
        }\nSee a run's graphs (and grade it again) with: deno task grade --rescore <run-id> --plot${
          options.db === join("data", "fishtank.kv")
            ? ""
            : ` --db ${options.db}`
        }`,
      ),
    );
  }
  if (abort.signal.aborted || incomplete.length > 0 || !reported) return 2;
  return done.every((grade) => grade.pass) ? 0 : 1;
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode !== "challenge" && mode !== "grade") {
    console.error("usage: grade_cli.ts challenge|grade [options]");
    Deno.exit(2);
  }
  Deno.exit(await main(mode, rest));
}
