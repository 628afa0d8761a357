/**
 * How a student's controller is confined while it is graded. A TypeScript or JavaScript file given as the controller
 * (`--controller my_controller.ts`) runs under Deno's permissions: network to the broker's address and port only,
 * reads in its own folder only, no writes, no subprocesses, no environment but the harness's variables, no remote
 * imports, a capped heap. Any other command runs under resource limits (`prlimit`: CPU seconds, address space,
 * processes, open files, file size) with a clean environment.
 *
 * When the harness runs as root on Linux, the run gives the controller a user of its own (`_run_user.ts`, switched to
 * with `setpriv`): root's files, the data store among them, stay out of reach, the process limit counts the run's
 * processes only, other runs' processes cannot be signalled or looked into, and every process of that user is ended
 * with the run. A controller file runs so too, from a copy of this Deno runtime and its npm cache that any user may
 * read (`_deno_runtime.ts`), once its module graph has been checked: files in its folder (no link leading out of it),
 * Node built-ins and the provided packages only, nothing fetched. A `deno …` or `node …` command line keeps the
 * harness's uid (it may need root's module cache): give the file alone to confine it fully.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import {
  NO_FETCH,
  realOr,
  refusedImports,
  sharedRuntime,
} from "./_deno_runtime.ts";
import type { RunUser } from "./_run_user.ts";

/** Resource limits of a controller process. */
export interface SandboxLimits {
  /** CPU seconds before the kernel stops it. */
  cpuSeconds: number;
  /** Memory: the heap of a Deno controller, the address space of others, in MiB. */
  memoryMiB: number;
  /** Processes (threads count too) its user may have. */
  processes: number;
  /** Open files and sockets. */
  openFiles: number;
  /** The largest file it may write, in MiB. */
  fileMiB: number;
  /** Wall seconds a whole run may take before the controller is stopped and the tank runs on uncontrolled. */
  wallSeconds: number;
}

/** The limits used unless the options say otherwise. */
export const DEFAULT_LIMITS: SandboxLimits = {
  cpuSeconds: 300,
  memoryMiB: 1024,
  processes: 128,
  openFiles: 256,
  fileMiB: 64,
  wallSeconds: 900,
};

/** What the harness knows when it starts a controller. */
export interface SandboxOptions {
  /** The broker the controller may reach. */
  host: string;
  port: number;
  /** The environment the harness gives (all of it reaches the controller, nothing else does). */
  env: Record<string, string>;
  /** Folder the command runs in (and the script path is relative to). */
  cwd: string;
  limits?: Partial<SandboxLimits>;
  /** Run as another user when this process is root. Default true. */
  dropPrivileges?: boolean;
  /** The run's own user (see `_run_user.ts`); without it a command run as another user runs as `nobody`. */
  user?: RunUser;
  /** Folders a Deno controller may read besides its own (the harness's preload). */
  readable?: readonly string[];
}

/** A command ready to start, and the words that describe its confinement for the report. */
export interface Sandboxed {
  /** The command line to run with `sh -c`. */
  command: string;
  /** The environment, complete (start it with `clearEnv`). */
  env: Record<string, string>;
  /** One line for the report: how the controller was confined. */
  description: string;
  /** The run's user, when the controller runs as it. */
  user?: RunUser;
  /**
   * Whether the command runs in a PID namespace of its own, under an init that exits with 128 + n when the program
   * was killed by signal n (an init cannot die of a signal it has no handler for).
   */
  pidNamespace?: boolean;
}

/**
 * The init of a run's PID namespace: it runs the program as its child and exits with its status (128 + n for signal
 * n). The program is not the init itself, so that the SIGTERM the harness sends the process group reaches it as usual
 * (an init ignores signals it has no handler for). Perl, which Debian always has (perl-base is essential), because
 * `sh` as the init prints "Terminated" into the controller's output when its program is stopped.
 */
const NAMESPACE_INIT = [
  "perl",
  "-e",
  "$p = fork // exit 126; if (!$p) { exec { $ARGV[0] } @ARGV; exit 127 } waitpid($p, 0); exit($? & 127 ? 128 + ($? & 127) : $? >> 8)",
];

let pidNamespaces: boolean | undefined;

/**
 * Whether this machine lets the harness start a program in a PID namespace with its own /proc (`unshare`, as root; a
 * container without CAP_SYS_ADMIN does not): asked once.
 */
export function pidNamespacesWork(): boolean {
  if (pidNamespaces === undefined) {
    try {
      pidNamespaces = new Deno.Command("unshare", {
        args: [
          "--pid",
          "--fork",
          "--mount-proc",
          "--kill-child",
          "--",
          ...NAMESPACE_INIT,
          "true",
        ],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      pidNamespaces = false;
    }
  }
  return pidNamespaces;
}

const SCRIPT = /^[^\s'"`$;&|<>()]+\.(ts|tsx|js|jsx|mjs|cjs|mts|cts)$/;

/** Quotes a word for `sh`. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** This project's `deno.json`, whose imports a controller file outside any project runs with. */
export const PROJECT_CONFIG = fromFileUrl(
  new URL("../../deno.json", import.meta.url),
);

/** The imports a controller file outside any project gets, in words: `mqtt (npm:mqtt@5.16.0)`. */
export function providedImports(): string {
  const config = JSON.parse(Deno.readTextFileSync(PROJECT_CONFIG)) as {
    imports?: Record<string, string>;
  };
  const mqtt = config.imports?.mqtt;
  return mqtt === undefined ? "none" : `mqtt (${mqtt})`;
}

/**
 * The folder of the Deno or npm project file that `folder` is in (its own or one above), whose imports a controller
 * there uses; undefined outside any project.
 */
function projectRoot(folder: string): string | undefined {
  for (let dir = folder;; dir = dirname(dir)) {
    for (const name of ["deno.json", "deno.jsonc", "package.json"]) {
      try {
        if (Deno.statSync(join(dir, name)).isFile) return dir;
      } catch {
        // not here
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether `command` is a single TypeScript or JavaScript file (run under Deno's permissions). */
export function isScript(command: string): boolean {
  return SCRIPT.test(command.trim());
}

/** Whether user `uid` may read `file` and list the folder it is in (asked of the kernel, as that user). */
function readableBy(uid: number, file: string): boolean {
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      "--clear-groups",
      "--",
      "sh",
      "-c",
      'test -r "$0" && test -x "$(dirname "$0")" && test -r "$(dirname "$0")"',
      file,
    ],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

/** Entries and bytes of a folder copied for a run's user at most. */
const COPY_LIMIT = { entries: 2_000, bytes: 64 * 1024 * 1024 };

/**
 * `script`, or, when the run's user may not read it, the same file in a copy of its folder in the user's home (links
 * copied as links: the module check then refuses those that lead outside). A folder too big to copy stays: the run
 * then says it cannot be read.
 */
function readableCopy(script: string, user: RunUser): string {
  if (readableBy(user.uid, script)) return script;
  const folder = dirname(script);
  let entries = 0;
  let bytes = 0;
  const small = (dir: string): boolean => {
    for (const entry of Deno.readDirSync(dir)) {
      if (++entries > COPY_LIMIT.entries) return false;
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        if (!small(path)) return false;
      } else if (entry.isFile) {
        bytes += Deno.statSync(path).size;
        if (bytes > COPY_LIMIT.bytes) return false;
      }
    }
    return true;
  };
  try {
    if (!small(folder)) return script;
  } catch {
    return script;
  }
  const copy = join(user.home, "controller");
  const done = new Deno.Command("sh", {
    args: [
      "-c",
      'cp -R -P "$0" "$1" && chown -R -h "$2:$2" "$1"',
      folder,
      copy,
      String(user.uid),
    ],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
  return done ? join(copy, relative(folder, script)) : script;
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** The limits of `options`, completed with the defaults. */
export function sandboxLimits(
  limits: Partial<SandboxLimits> = {},
): SandboxLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/** `command` confined as described in the module documentation. */
export function sandbox(command: string, options: SandboxOptions): Sandboxed {
  const limits = sandboxLimits(options.limits);
  const trimmed = command.trim();
  const script = isScript(trimmed);
  // V8 reserves far more address space than it uses, and Deno needs root's module cache: a `deno …` or `node …`
  // command line keeps its uid and gets no address-space cap (give the file alone to confine it fully).
  const v8 = /^["']?([^\s"']*\/)?(deno|node|bun)["']?(\s|$)/.test(trimmed);
  const drop = !v8 && (options.dropPrivileges ?? true) && isRoot() &&
    (!script || options.user !== undefined);
  const runUser = drop ? options.user : undefined;
  const kept = (name: string) => {
    const value = Deno.env.get(name);
    return value === undefined ? {} : { [name]: value };
  };
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    ...kept("PATH"),
    ...kept("HOME"),
    ...kept("DENO_DIR"),
    LANG: "C.UTF-8",
    ...(runUser ? { HOME: runUser.home, TMPDIR: runUser.home } : {}),
    ...options.env,
  };
  const rlimits = [
    // SIGXCPU at the limit (the report names it), SIGKILL five seconds later if that was ignored.
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 5}`,
    `--nproc=${limits.processes}`,
    `--nofile=${limits.openFiles}`,
    `--fsize=${limits.fileMiB * 1024 * 1024}`,
  ];
  const uid = runUser?.uid ?? 65534;
  // A run's user also gets a PID namespace: its programs see only each other in /proc (not other runs' command
  // lines) and the kernel ends all of them when the namespace's init ends.
  const namespace = runUser !== undefined && pidNamespacesWork();
  const user = drop
    ? [
      "setpriv",
      `--reuid=${uid}`,
      `--regid=${uid}`,
      "--clear-groups",
      "--no-new-privs",
      "--",
    ]
    : [];
  let program: string[];
  let description: string;
  if (script) {
    const given = resolve(options.cwd, trimmed);
    // A folder the run's user may not read (a temporary folder of root's, mode 0700) is copied into its home.
    const script = runUser ? readableCopy(given, runUser) : given;
    const readable = [dirname(script), ...(options.readable ?? [])];
    // A file outside any Deno or npm project (a student's own folder or repository) runs with this project's
    // configuration, so that `import mqtt from "mqtt"` works wherever the file lives, at the version the examples
    // use and from the packages already installed (the lock file frozen: the harness never changes it).
    const project = projectRoot(dirname(script));
    const imports = project !== undefined
      ? []
      : [`--config=${PROJECT_CONFIG}`, "--frozen"];
    let deno = Deno.execPath();
    let refused: string | undefined;
    if (runUser) {
      const runtime = sharedRuntime();
      deno = runtime.deno;
      env.DENO_DIR = runtime.denoDir;
      Object.assign(env, NO_FETCH);
      refused = refusedImports(script, {
        uid: runUser.uid,
        runtime,
        configFlags: imports,
        // A file in a project may import the project's own modules (the examples import the grader's).
        allowed: [
          ...(project !== undefined ? [project] : []),
          ...(options.readable ?? []),
        ],
      });
    }
    program = refused !== undefined
      // Refused before it runs: the run reports these words as the controller's error output.
      ? [
        "sh",
        "-c",
        'echo "$0" >&2; exit 1',
        `sandbox: ${relative(options.cwd, given)} ${refused}`,
      ]
      : [
        deno,
        "run",
        "--no-prompt",
        "--no-remote",
        "--cached-only",
        `--allow-net=${options.host}:${options.port}`,
        // Real paths: a folder reached through a link is granted where it really is.
        `--allow-read=${readable.map(realOr).join(",")}`,
        // Every variable, of an environment that holds only the harness's (started with clearEnv): npm packages read
        // variables of their own (DEBUG, READABLE_STREAM) and would die on a narrower grant.
        "--allow-env",
        `--v8-flags=--max-old-space-size=${limits.memoryMiB}`,
        ...imports,
        script,
      ];
    // Without the port or absolute paths, so that two runs of one controller record the same words.
    const folder = relative(options.cwd, dirname(given)) || ".";
    description =
      `Deno permissions: network to the broker only, reads in ${folder} only, no writes, no subprocesses, harness variables only; heap ${limits.memoryMiB} MiB, CPU ${limits.cpuSeconds} s, ${limits.processes} processes, wall clock ${limits.wallSeconds} s${
        imports.length > 0 ? `; imports provided: ${providedImports()}` : ""
      }`;
  } else {
    if (!v8) rlimits.push(`--as=${limits.memoryMiB * 1024 * 1024}`);
    program = ["sh", "-c", command];
    description = `limits: CPU ${limits.cpuSeconds} s, ${
      v8
        ? "memory not capped (a V8 runtime; give the .ts or .js file alone for Deno's permissions)"
        : `memory ${limits.memoryMiB} MiB`
    }, ${limits.processes} processes, ${limits.openFiles} open files, wall clock ${limits.wallSeconds} s; harness variables only`;
  }
  if (runUser) {
    description += namespace
      ? "; runs as a user of its own in a process namespace of its own, every process of which ends with the run"
      : "; runs as a user of its own, every process of which ends with the run";
  } else if (drop) description += "; runs as user nobody";
  const unshare = namespace
    ? ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]
    : [];
  return {
    command: [
      ...unshare,
      ...user,
      "prlimit",
      ...rlimits,
      "--",
      ...(namespace ? NAMESPACE_INIT : []),
      ...program,
    ].map(shellQuote).join(" "),
    env,
    description,
    ...(runUser ? { user: runUser } : {}),
    ...(namespace ? { pidNamespace: true } : {}),
  };
}
