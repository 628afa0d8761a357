/**
 * The layer check (`deno task layers`, part of `deno task ok`): reads every module's import lines and fails, naming
 * the file and the import, when a module reaches into another package past its `mod.ts`, when an import goes up the
 * layer order (a lower layer using a higher one), or when a module sits in no declared package.
 *
 * The layers, bottom to top, are {@linkcode LAYERS}; the README's Architecture section draws them.
 *
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";

/** One package: a folder whose `mod.ts` is its public API. */
export interface Layer {
  /** The folder, relative to the repository root. */
  dir: string;
  /** Position in the layer order: a package may import packages of a lower rank only. */
  rank: number;
  /** What the package owns, in a few words (printed by `--list`). */
  owns: string;
}

/** The packages, bottom to top. Folders that share a rank do not import each other. */
export const LAYERS: readonly Layer[] = [
  { dir: "lib", rank: 0, owns: "options and time formatting helpers" },
  { dir: "sim", rank: 1, owns: "pure physics on a virtual clock" },
  { dir: "scenarios", rank: 2, owns: "teacher-editable YAML days" },
  { dir: "protocol", rank: 3, owns: "the topic contract and payloads" },
  { dir: "store", rank: 4, owns: "run records and the Deno KV store" },
  { dir: "grader", rank: 5, owns: "scores and reports from records" },
  { dir: "harness/broker", rank: 6, owns: "embedded broker, guards, ACL, bus" },
  { dir: "harness/live", rank: 7, owns: "tank node and live runner" },
  { dir: "harness/display", rank: 7, owns: "terminal display" },
  {
    dir: "harness/lockstep",
    rank: 8,
    owns: "lockstep runner, controller process",
  },
  { dir: "harness/record", rank: 8, owns: "recording a broker into the store" },
  { dir: "harness/replay", rank: 8, owns: "replaying a stored run" },
  { dir: "harness/grading", rank: 9, owns: "grading runs end to end, digests" },
  {
    dir: "server",
    rank: 10,
    owns: "class server: roster, assignments, queue, workers, class API",
  },
  { dir: "web", rank: 11, owns: "web pages and APIs" },
  { dir: "cli", rank: 12, owns: "the deno task entry points" },
  { dir: "tests", rank: 13, owns: "end-to-end tests across packages" },
  { dir: "bench", rank: 13, owns: "benchmarks" },
  { dir: "tools", rank: 13, owns: "project checks" },
  { dir: "examples", rank: 13, owns: "student example controllers" },
];

/** A broken rule: the importing file (relative to the root), the import as written, and what is wrong. */
export interface Violation {
  file: string;
  line: number;
  specifier: string;
  problem: string;
}

const STATIC_IMPORT =
  /^[ \t]*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** Whether `index` is outside any quoted text on its line (so `"import(…)"` inside a string is not an import). */
function outsideQuotes(text: string, index: number): boolean {
  const prefix = text.slice(text.lastIndexOf("\n", index - 1) + 1, index);
  return [..."'\"`"].every((q) => prefix.split(q).length % 2 === 1);
}

/** The relative specifiers a module imports (static, re-exports, side-effect and literal dynamic imports), with lines. */
export function importsOf(text: string): { specifier: string; line: number }[] {
  const found: { specifier: string; index: number }[] = [];
  for (const match of text.matchAll(STATIC_IMPORT)) {
    found.push({
      specifier: match[1] ?? match[2]!,
      index: match.index! + match[0].length,
    });
  }
  for (const match of text.matchAll(DYNAMIC_IMPORT)) {
    if (outsideQuotes(text, match.index!)) {
      found.push({
        specifier: match[1]!,
        index: match.index! + match[0].length,
      });
    }
  }
  return found
    .filter((f) => f.specifier.startsWith("."))
    .sort((a, b) => a.index - b.index)
    .map(({ specifier, index }) => ({
      specifier,
      line: text.slice(0, index).split("\n").length,
    }));
}

function layerOf(file: string, layers: readonly Layer[]): Layer | undefined {
  let best: Layer | undefined;
  for (const layer of layers) {
    if (file === layer.dir || file.startsWith(`${layer.dir}/`)) {
      if (!best || layer.dir.length > best.dir.length) best = layer;
    }
  }
  return best;
}

const base = (file: string) => file.slice(file.lastIndexOf("/") + 1);

/** Test code: unit tests beside the code, test support modules, and everything under `tests/` and `bench/`. */
function isTestCode(file: string): boolean {
  return /_test\.tsx?$/.test(file) || /^_?testing\.ts$/.test(base(file)) ||
    file.startsWith("tests/") || file.startsWith("bench/");
}

/** Test support other packages' tests may use: a package's `testing.ts`, and the shared helpers in `tests/_*.ts`. */
function isTestSupport(file: string): boolean {
  return /^_?testing\.ts$/.test(base(file)) ||
    (file.startsWith("tests/") && base(file).startsWith("_"));
}

/**
 * Checks a set of modules (path relative to the root → source text) against the layers.
 *
 * @returns every broken rule, in file order; empty when the shape holds
 */
export function checkLayers(
  modules: ReadonlyMap<string, string>,
  layers: readonly Layer[] = LAYERS,
): Violation[] {
  const violations: Violation[] = [];
  for (const file of [...modules.keys()].sort()) {
    const from = layerOf(file, layers);
    if (!from) {
      violations.push({
        file,
        line: 1,
        specifier: "",
        problem:
          `is in no declared package: add its folder to LAYERS in tools/layers.ts (and to the README's Architecture)`,
      });
      continue;
    }
    for (const { specifier, line } of importsOf(modules.get(file)!)) {
      const target = normalize(join(dirname(file), specifier));
      const to = layerOf(target, layers);
      if (to === from) continue;
      const v = (problem: string) =>
        violations.push({ file, line, specifier, problem });
      if (!to) {
        v(`imports ${target}, which is in no declared package`);
        continue;
      }
      if (isTestCode(file) && isTestSupport(target)) continue;
      if (relative(to.dir, target) !== "mod.ts") {
        v(
          `reaches into ${to.dir}/ past its public API: import from ${to.dir}/mod.ts instead (export the name there)`,
        );
      } else if (to.rank >= from.rank) {
        v(
          `goes against the layer order: ${from.dir}/ (layer ${from.rank}) may not use ${to.dir}/ (layer ${to.rank})`,
        );
      }
    }
  }
  return violations;
}

/** Reads every `.ts`/`.tsx` module under `root` (skipping `.git`, `node_modules`, `data`). */
export async function readModules(root: string): Promise<Map<string, string>> {
  const modules = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(root, dir))) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        if ([".git", "node_modules", "data"].includes(entry.name)) continue;
        await walk(path);
      } else if (/\.tsx?$/.test(entry.name)) {
        modules.set(path, await Deno.readTextFile(join(root, path)));
      }
    }
  };
  await walk("");
  return modules;
}

/** Prints the violations (or the layers with `--list`); exit code 0 when the shape holds, 1 otherwise. */
export async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(`Check that imports flow one way through the project's layers.

Usage: deno task layers [--list] [ROOT]

  --list     print the layers, bottom to top, and exit
  ROOT       the repository to check (default: the current folder)

Fails (exit 1), naming file, line and import, when a module imports another package's file other than its mod.ts,
imports a package of the same or a higher layer, or sits in no declared package. Tests may also import test support
(a package's testing.ts, tests/_*.ts).`);
    return 0;
  }
  if (args.includes("--list")) {
    for (const layer of LAYERS) {
      console.log(
        `${String(layer.rank).padStart(2)}  ${
          layer.dir.padEnd(18)
        } ${layer.owns}`,
      );
    }
    return 0;
  }
  const root = args.find((a) => !a.startsWith("-")) ?? ".";
  const modules = await readModules(root);
  const violations = checkLayers(modules);
  for (const v of violations) {
    console.error(
      `${v.file}:${v.line}${
        v.specifier ? ` import "${v.specifier}"` : ""
      } ${v.problem}`,
    );
  }
  if (violations.length > 0) {
    console.error(
      `layers: ${violations.length} import(s) break the layer rules`,
    );
    return 1;
  }
  console.log(
    `layers: ${modules.size} modules, imports flow one way through ${LAYERS.length} packages`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
