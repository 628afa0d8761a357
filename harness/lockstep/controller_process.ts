/**
 * A student's controller as a child process: any command line, run through `sh -c` in a process group of its own, its
 * output kept line by line, stopped with SIGTERM and then SIGKILL for the whole group. Also the environment the
 * harness gives a controller, which makes common MQTT clients fast without any change to their code (see
 * {@linkcode controllerEnv}). POSIX only (Linux, macOS).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { groupAlive, signalGroup } from "./_controller_group.ts";
import { releaseRunUser, type RunUser } from "./_run_user.ts";
import { ControllerGuard } from "./_controller_guard.ts";
import { lastWords, OutputTail, plain } from "./_controller_output.ts";
import { asTyped, execForm } from "./_controller_shell.ts";

/** How a controller's process ended: an exit code, or the signal that killed it (then `code` is null). */
export interface ControllerExit {
  code: number | null;
  signal: string | null;
}

/** Options for {@linkcode ControllerProcess.start}. */
export interface ControllerStartOptions {
  /** Added to this process's environment (see {@linkcode controllerEnv}); `PYTHONUNBUFFERED=1` unless set here. */
  env: Record<string, string>;
  /** Working folder; this process's by default. */
  cwd?: string;
  /**
   * The run's own user the command runs as (see `_run_user.ts`): when the command ends, every process of that user
   * ends too, the ones that left its process group included, and the user's private folder is removed.
   */
  runUser?: RunUser;
  /**
   * The command's main process is the init of a PID namespace, which exits with 128 + n when its program was killed
   * by signal n: such an exit is reported as the signal.
   */
  namespaceInit?: boolean;
  /** Give the controller `env` only, not this process's environment as well (a sandboxed controller). */
  clearEnv?: boolean;
  /** Bytes of output kept per stream, newest kept (default 256 KiB); what is dropped is counted in a note. */
  outputLimitBytes?: number;
  /** Called with each line as it arrives (without its newline); it must not throw (what it throws is ignored). */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

/** Options for {@linkcode ControllerProcess.stop}. */
export interface ControllerStopOptions {
  /** Milliseconds between SIGTERM and SIGKILL (default 2000). */
  graceMs?: number;
}

/** A controller could not be started, or ended on its own; `message` is meant for the student. */
export class ControllerError extends Error {
  /** The command line as given. */
  readonly command: string;
  /** How it ended, or null when it never started. */
  readonly exit: ControllerExit | null;

  constructor(
    message: string,
    options: ErrorOptions & { command: string; exit?: ControllerExit | null },
  ) {
    super(message, options);
    this.name = "ControllerError";
    this.command = options.command;
    this.exit = options.exit ?? null;
  }
}

/** Where the harness's broker and tank are, as given to a controller. */
export interface ControllerEnvBase {
  /** `mqtt://host:port`. */
  url: string;
  host: string;
  port: number;
  /** The tank id (TANK_ID). */
  tank: string;
  /** The first topic level(s) (TOPIC_ROOT). */
  root: string;
}

/** Options for {@linkcode controllerEnv}. */
export interface ControllerEnvOptions {
  /**
   * Preload the harness's TCP_NODELAY fixes and "handled" reports for Python (`sitecustomize.py` on `PYTHONPATH`)
   * and Node.js or Deno (`--require` in `NODE_OPTIONS`); default true. Off only to measure or test a controller as
   * the student runs it.
   */
  fastSockets?: boolean;
}

/**
 * The folder holding the preloads: `sitecustomize.py` (with `_fishtank_done.py`) for Python, `nodelay.cjs` and
 * `done.cjs` for Node.js and Deno. They set TCP_NODELAY and report when the program's MQTT message callbacks return.
 */
export const PRELOAD_DIR: string = fileURLToPath(
  new URL("./preload/", import.meta.url),
).replace(/\/$/, "");

/**
 * The environment the harness gives a controller: MQTT_URL, MQTT_HOST, MQTT_PORT, TANK_ID, TOPIC_ROOT,
 * `FISHTANK_HARNESS=1`, `PYTHONUNBUFFERED=1`, `NO_COLOR=1` (its output is recorded, not shown on a terminal), and (unless `fastSockets` is false) {@linkcode PRELOAD_DIR} at the front
 * of `PYTHONPATH` and a `--require` of its `nodelay.cjs` added to `NODE_OPTIONS`, each keeping what this process's
 * environment already has after it. Reading that environment needs `--allow-env`; without it, none is kept.
 */
export function controllerEnv(
  base: ControllerEnvBase,
  options: ControllerEnvOptions = {},
): Record<string, string> {
  const env: Record<string, string> = {
    MQTT_URL: base.url,
    MQTT_HOST: base.host,
    MQTT_PORT: String(base.port),
    TANK_ID: base.tank,
    TOPIC_ROOT: base.root,
    FISHTANK_HARNESS: "1",
    PYTHONUNBUFFERED: "1",
    NO_COLOR: "1",
  };
  if (options.fastSockets === false) return env;
  const pythonPath = _getEnv("PYTHONPATH");
  env.PYTHONPATH = pythonPath ? `${PRELOAD_DIR}:${pythonPath}` : PRELOAD_DIR;
  // Node splits NODE_OPTIONS on spaces but honours double quotes, so a path with spaces still works.
  const require =
    `--require "${PRELOAD_DIR}/nodelay.cjs" --require "${PRELOAD_DIR}/done.cjs"`;
  const nodeOptions = _getEnv("NODE_OPTIONS");
  env.NODE_OPTIONS = nodeOptions ? `${require} ${nodeOptions}` : require;
  return env;
}

/** Linux's signals by number (1 to 31), as Deno names them. */
const _SIGNALS: readonly (Deno.Signal | undefined)[] = [
  undefined,
  ..."HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"
    .split(" ").map((name) => `SIG${name}` as Deno.Signal),
];

const _DEFAULT_OUTPUT_LIMIT = 256 * 1024;
/** How long output may keep flowing after the process ended (from something that left the group) before we cut it. */
const _DRAIN_MS = 1_000;
/** How often stop() looks whether the group has emptied after its main process ended. */
const _POLL_MS = 25;

/**
 * A running controller. Start it with {@linkcode ControllerProcess.start}; always {@linkcode ControllerProcess.stop}
 * it (or `await using` it). When its main process ends on its own, anything it left running in its group is killed.
 *
 * @example
 * ```ts
 * const env = controllerEnv({ url: broker.url, host: "127.0.0.1", port: broker.port, tank: "tank1", root: "fishtank" });
 * await using controller = ControllerProcess.start("python3 my_controller.py", { env });
 * const exit = await controller.exited; // or: await controller.stop()
 * ```
 */
export class ControllerProcess {
  /** The command line as given. */
  readonly command: string;
  /** The process id of the command (or of the `sh` running it), which is also the id of its process group. */
  readonly pid: number;
  /** Resolves (never rejects) once the process has ended, its group is gone and its output is read. */
  readonly exited: Promise<ControllerExit>;

  readonly #child: Deno.ChildProcess;
  readonly #guard: ControllerGuard | null;
  readonly #stdout: OutputTail;
  readonly #stderr: OutputTail;
  readonly #onLine: ControllerStartOptions["onLine"];
  readonly #runUser: RunUser | undefined;
  readonly #namespaceInit: boolean;
  readonly #readers: ReadableStreamDefaultReader<string>[] = [];
  #exit: ControllerExit | null = null;
  /** Set by stop() while the command runs: SIGTERM, then SIGKILL for what is left after the grace period. */
  #terminating: Promise<void> | null = null;
  #stopping: Promise<ControllerExit> | null = null;

  private constructor(
    command: string,
    child: Deno.ChildProcess,
    options: ControllerStartOptions,
  ) {
    this.command = command;
    this.#child = child;
    this.pid = child.pid;
    const limit = options.outputLimitBytes ?? _DEFAULT_OUTPUT_LIMIT;
    this.#stdout = new OutputTail("stdout", limit);
    this.#stderr = new OutputTail("stderr", limit);
    this.#onLine = options.onLine;
    this.#runUser = options.runUser;
    this.#namespaceInit = options.namespaceInit ?? false;
    this.#guard = ControllerGuard.start(this.pid);
    const drained = Promise.all([
      this.#read(child.stdout, this.#stdout, "stdout"),
      this.#read(child.stderr, this.#stderr, "stderr"),
    ]);
    this.exited = this.#watch(drained);
  }

  /**
   * Starts `command` with `/bin/sh -c` in a new process group (a new session, in fact), stdin closed, stdout and
   * stderr captured. A single plain command is run with `exec`, so that the shell is replaced by the program and its
   * exit is the program's own. Throws {@linkcode ControllerError} when nothing can be spawned (e.g. `cwd` does not
   * exist); a command that does not exist shows up as exit code 127 (see {@linkcode ControllerProcess.exitError}).
   */
  static start(
    command: string,
    options: ControllerStartOptions,
  ): ControllerProcess {
    if (typeof command !== "string" || command.trim() === "") {
      throw new TypeError(
        `Controller command: expected a command line like "python3 my_controller.py", got ${
          JSON.stringify(command)
        }`,
      );
    }
    const limit = options.outputLimitBytes ?? _DEFAULT_OUTPUT_LIMIT;
    if (!Number.isFinite(limit) || limit < 1) {
      throw new RangeError(
        `outputLimitBytes: expected a positive number of bytes, got ${limit}`,
      );
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/bin/sh", {
        args: ["-c", execForm(command)],
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        env: { PYTHONUNBUFFERED: "1", ...options.env },
        clearEnv: options.clearEnv ?? false,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        // setsid() in the child: its pid becomes the id of a new process group, which stop() signals as a whole.
        detached: true,
      }).spawn();
    } catch (error) {
      const where = options.cwd === undefined ? "" : ` in "${options.cwd}"`;
      throw new ControllerError(
        `Cannot start controller "${command}"${where}: ${
          (error as Error).message
        }`,
        { cause: error, command },
      );
    }
    return new ControllerProcess(command, child, options);
  }

  /** True until the command's process has ended. */
  get running(): boolean {
    return this.#exit === null;
  }

  /** The kept output of each stream (see {@linkcode ControllerStartOptions.outputLimitBytes}). */
  output(): { stdout: string; stderr: string } {
    return { stdout: this.#stdout.text(), stderr: this.#stderr.text() };
  }

  /**
   * Why the controller ended on its own, as a message for the student: null while it runs and after
   * {@linkcode ControllerProcess.stop} was called. A command that does not exist reads
   * `Controller command not found: "pyhton3 x.py" (exit 127: sh: 1: pyhton3: not found)`.
   */
  exitError(): ControllerError | null {
    const exit = this.#exit;
    if (exit === null || this.#terminating !== null) return null;
    const command = this.command;
    const make = (message: string) =>
      new ControllerError(message, { command, exit });
    const lastError = asTyped(plain(this.#stderr.last(1)[0] ?? ""));
    if (exit.code === 127 && /not found/i.test(lastError)) {
      return make(
        `Controller command not found: "${command}" (exit 127: ${lastError})`,
      );
    }
    if (exit.code === 126) {
      return make(
        `Controller command cannot be run: "${command}" (exit 126${
          lastError ? `: ${lastError}` : ""
        })`,
      );
    }
    const how = exit.signal === null
      ? `exited with code ${exit.code}`
      : `was killed by ${exit.signal}`;
    const said = lastWords(this.#stderr.last(20)) ??
      lastWords(this.#stdout.last(3));
    return make(
      `Controller "${command}" ${how}${
        said ? `; its last output:\n${said}` : ""
      }`,
    );
  }

  /**
   * Stops the controller: SIGTERM to its process group, SIGKILL after `graceMs` to whatever is left of it. Resolves
   * with how the command's process ended; idempotent (later calls return the first call's promise), never rejects.
   */
  stop(options: ControllerStopOptions = {}): Promise<ControllerExit> {
    this.#stopping ??= (() => {
      if (this.#exit === null) {
        this.#terminating = this.#terminate(
          Math.max(0, options.graceMs ?? 2_000),
        );
      }
      return this.exited;
    })();
    return this.#stopping;
  }

  /** `await using controller = ControllerProcess.start(…)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** SIGTERM to the group; SIGKILL at the deadline unless the main process has ended and the group emptied by then. */
  async #terminate(graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs;
    this.#signalGroup("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#child.status,
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    // A shell that ran a list (`cd x && python3 y.py`) dies on SIGTERM at once, while its child is still shutting down.
    while (groupAlive(this.pid) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, _POLL_MS));
    }
    this.#signalGroup("SIGKILL");
  }

  /** Waits for the exit and for the group to be gone, releases the guard, then lets the output drain (bounded). */
  async #watch(drained: Promise<unknown>): Promise<ControllerExit> {
    const status = await this.#child.status;
    const signalled = status.signal ??
      (this.#namespaceInit ? _SIGNALS[status.code - 128] : undefined);
    const exit: ControllerExit = signalled === undefined
      ? { code: status.code, signal: null }
      : { code: null, signal: signalled };
    this.#exit = exit;
    if (this.#terminating) await this.#terminating;
    // It ended on its own: whatever it started and left behind goes with it.
    else this.#signalGroup("SIGKILL");
    // Whatever left the group (setsid, a double fork) is still the run's user's: it ends here too.
    if (this.#runUser) await releaseRunUser(this.#runUser);
    await this.#guard?.release();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      drained.then(() => true),
      new Promise<false>((resolve) =>
        timer = setTimeout(() => resolve(false), _DRAIN_MS)
      ),
    ]);
    clearTimeout(timer);
    if (!done) {
      // Something outside the group (it called setsid itself) still holds the pipes: stop reading them.
      await Promise.all(
        this.#readers.map((reader) => reader.cancel().catch(() => {})),
      );
      await drained;
    }
    return exit;
  }

  async #read(
    stream: ReadableStream<Uint8Array>,
    tail: OutputTail,
    name: "stdout" | "stderr",
  ): Promise<void> {
    // Typed as a plain transform: with the DOM library loaded too (web islands), TextDecoderStream's writable side is
    // typed for any BufferSource and no longer matches the pipe's Uint8Array chunks.
    const decoder: TransformStream<Uint8Array, string> =
      new TextDecoderStream() as unknown as TransformStream<
        Uint8Array,
        string
      >;
    const reader = stream.pipeThrough(decoder).getReader();
    this.#readers.push(reader);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#emit(name, tail.push(value));
      }
    } catch {
      // Cancelled after the exit, or the pipe broke: what was read is kept.
    } finally {
      this.#emit(name, tail.end());
    }
  }

  #emit(stream: "stdout" | "stderr", lines: string[]): void {
    const onLine = this.#onLine;
    if (!onLine) return;
    for (const line of lines) {
      try {
        onLine(stream, line);
      } catch {
        // A logging callback must not break the capture.
      }
    }
  }

  #signalGroup(signal: Deno.Signal): boolean {
    return signalGroup(this.pid, signal);
  }
}

/** An environment variable of this process, without a permission prompt: undefined when not allowed or not set. */
function _getEnv(name: string): string | undefined {
  const allowed =
    Deno.permissions.querySync({ name: "env", variable: name }).state ===
      "granted";
  return allowed ? Deno.env.get(name) || undefined : undefined;
}
