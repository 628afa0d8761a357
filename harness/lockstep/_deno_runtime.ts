/**
 * What a TypeScript or JavaScript controller file needs to run as a user of its own (see `_run_user.ts`) rather than
 * as root: a copy of this Deno runtime and of its npm package cache in a folder every user may read (root's own cache
 * sits in root's home, which no other user may enter), and a check of the file's module graph, made as the run's user
 * before it starts, that keeps its imports to its own folder and the packages this project provides.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";

/** A runtime other users may run: the Deno binary and a read-only `DENO_DIR` holding the npm packages. */
export interface SharedRuntime {
  deno: string;
  denoDir: string;
}

/** Where shared runtimes go, one folder per Deno version. */
const RUNTIME_ROOT = "/var/cache/fishtank";

/** npm packages a controller file outside any project may import: those the examples use. */
export const PROVIDED_PACKAGES: readonly string[] = ["mqtt"];

/**
 * A proxy nothing listens on, for every HTTP request of a controller's Deno: nothing it imports may be fetched (its
 * npm packages come from the cache; the registry's own address must stay, as it names the cache's folder).
 */
export const NO_FETCH: Readonly<Record<string, string>> = {
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  NO_PROXY: "",
};

let prepared: SharedRuntime | undefined;

function rootDenoDir(): string {
  const set = Deno.env.get("DENO_DIR");
  if (set) return set;
  const cache = Deno.env.get("XDG_CACHE_HOME") ||
    join(Deno.env.get("HOME") ?? "/root", ".cache");
  return join(cache, "deno");
}

function run(args: string[]): { ok: boolean; err: string } {
  const out = new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

/**
 * The shared runtime, made (or brought up to date) on first use in this process: the binary copied once per version,
 * the npm cache linked file by file (hard links, or copies across file systems), every part readable by all. Throws
 * with what failed.
 */
export function sharedRuntime(): SharedRuntime {
  if (prepared) return prepared;
  const folder = join(RUNTIME_ROOT, `deno-${Deno.version.deno}`);
  const deno = join(folder, "deno");
  const denoDir = join(folder, "deno_dir");
  Deno.mkdirSync(denoDir, { recursive: true, mode: 0o755 });
  for (const dir of [RUNTIME_ROOT, folder, denoDir]) Deno.chmodSync(dir, 0o755);
  let copied = false;
  try {
    copied = Deno.statSync(deno).size === Deno.statSync(Deno.execPath()).size;
  } catch {
    // not there yet
  }
  if (!copied) {
    // Copied under a name of its own, then renamed: a second grader starting meanwhile never runs half a binary.
    const part = `${deno}.${Deno.pid}.part`;
    Deno.copyFileSync(Deno.execPath(), part);
    Deno.chmodSync(part, 0o755);
    Deno.renameSync(part, deno);
  }
  const npm = join(rootDenoDir(), "npm");
  try {
    Deno.statSync(npm);
    // -n: files already there stay; new packages are added. Links first, a copy where links cannot cross devices.
    const linked = run(["cp", "-a", "-l", "-n", npm, denoDir]);
    if (!linked.ok) {
      const copy = run(["cp", "-a", "-n", npm, denoDir]);
      if (!copy.ok) {
        throw new Error(`cannot copy ${npm} to ${denoDir}: ${copy.err.trim()}`);
      }
    }
    run(["chmod", "-R", "a+rX", join(denoDir, "npm")]);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // No npm cache at all: a controller that imports mqtt will say it is missing.
  }
  prepared = { deno, denoDir };
  return prepared;
}

/**
 * Why `script` may not run, or undefined when it may: a link in its folder that leads outside it, an import written
 * as an `npm:`, `jsr:` or remote specifier, or a file outside its folder (and outside the project it belongs to, whose
 * import map may also give it npm packages: all in the cache, nothing is fetched). Read as `uid` (so that the check
 * itself reads nothing the controller could not), with `runtime` and the configuration flags the run will use.
 */
export function refusedImports(
  script: string,
  options: {
    uid: number;
    runtime: SharedRuntime;
    configFlags: readonly string[];
    /** Folders besides the script's own that it may import from (its project's, the harness's preload). */
    allowed: readonly string[];
  },
): string | undefined {
  const folder = dirname(script);
  const link = outsideLink(folder);
  if (link) return link;
  const out = new Deno.Command("setpriv", {
    args: [
      `--reuid=${options.uid}`,
      `--regid=${options.uid}`,
      "--clear-groups",
      "--no-new-privs",
      "--",
      options.runtime.deno,
      "info",
      "--json",
      "--no-remote",
      ...options.configFlags,
      script,
    ],
    cwd: folder,
    clearEnv: true,
    env: {
      DENO_DIR: options.runtime.denoDir,
      ...NO_FETCH,
      HOME: folder,
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr);
    // A module that cannot be found or read is the run's to report; an import of a kind never allowed is refused here.
    const kind = /\b(?:npm|jsr):[^\s"'`]+/.exec(said);
    return kind
      ? `imports ${
        kind[0]
      }: a controller may import only files in its own folder, Node built-ins (node:…) and ${
        PROVIDED_PACKAGES.join(", ")
      }`
      : undefined;
  }
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { specifier: string }[];
    }[];
  };
  const inside = [folder, ...options.allowed].map((dir) => realOr(dir));
  for (const module of graph.modules) {
    // What the code wrote: a bare name its import map resolves (`mqtt`) is fine, a registry or a URL is not.
    if (!module.specifier.startsWith("file://")) continue;
    for (const { specifier } of module.dependencies ?? []) {
      if (/^(npm|jsr|https?):/.test(specifier)) {
        return `imports ${specifier}: a controller may import only files in its own folder, Node built-ins (node:…) and the packages of its project's import map (${
          PROVIDED_PACKAGES.join(", ")
        } for a file outside any project)`;
      }
    }
  }
  for (const { specifier } of graph.modules) {
    if (specifier.startsWith("node:") || specifier.startsWith("npm:")) {
      continue;
    }
    if (specifier.startsWith("file://")) {
      const path = realOr(decodeURIComponent(new URL(specifier).pathname));
      if (inside.some((dir) => path === dir || path.startsWith(`${dir}/`))) {
        continue;
      }
      return `imports ${
        specifier.slice("file://".length)
      }, outside its folder ${
        relative(Deno.cwd(), folder) || "."
      }: a controller may import only files in its own folder`;
    }
    return `imports ${specifier}: remote modules are not allowed`;
  }
  return undefined;
}

/** The real path of `path` (links followed), or `path` made absolute when it does not exist. */
export function realOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The first link under `folder` (looked at to a bounded depth and count) whose target is outside it. */
function outsideLink(folder: string): string | undefined {
  const root = realOr(folder);
  let seen = 0;
  const walk = (dir: string, depth: number): string | undefined => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return undefined; // unreadable: the controller cannot read it either
    }
    for (const entry of entries) {
      if (++seen > 5_000) return undefined;
      const path = join(dir, entry.name);
      if (entry.isSymlink) {
        const target = realOr(path);
        if (target !== root && !target.startsWith(`${root}/`)) {
          return `its folder holds a link that leads outside it: ${
            relative(Deno.cwd(), path)
          } → ${target}`;
        }
      } else if (entry.isDirectory && depth < 8 && entry.name !== ".git") {
        const found = walk(path, depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(folder, 0);
}
