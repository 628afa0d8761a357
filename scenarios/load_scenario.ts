/**
 * Loading scenarios by built-in id (`cold-room`) or from a YAML file, and listing the built-in ones.
 *
 * @module
 */

import { type FileHandle, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { didYouMeanHint } from "./_did_you_mean.ts";
import { parseScenario } from "./parse_scenario.ts";
import type { Scenario, ScenarioSummary } from "./scenario.ts";
import { ScenarioError } from "./scenario_error.ts";
import {
  fileSizeMessage,
  formatBytes,
  SCENARIO_LIMITS,
} from "./scenario_limits.ts";

/** Folder of the built-in scenario files (`scenarios/builtin`), found from this module, so any working directory works. */
export const BUILTIN_DIR: string = fileURLToPath(
  new URL("./builtin", import.meta.url),
);

const YAML_EXTENSION = /\.ya?ml$/i;

/** Whether `idOrPath` names a file rather than a built-in id. */
function _isPath(idOrPath: string): boolean {
  return YAML_EXTENSION.test(idOrPath) || idOrPath.includes("/") ||
    idOrPath.includes("\\");
}

/** Ids of the built-in scenarios, sorted. */
export async function builtinScenarioIds(): Promise<string[]> {
  const names = await readdir(BUILTIN_DIR);
  return names.filter((name) => name.endsWith(".yaml")).map((name) =>
    name.slice(0, -".yaml".length)
  ).sort();
}

/**
 * Reads a scenario file, refusing one over {@linkcode SCENARIO_LIMITS.maxFileBytes} by its size before reading it
 * whole; reading stops one byte past the limit too, for files whose size `stat` does not tell (a pipe) or that grow.
 */
async function _read(path: string, file: string): Promise<Uint8Array> {
  const limit = SCENARIO_LIMITS.maxFileBytes;
  const refuse = (message: string, cause?: unknown) =>
    new ScenarioError({ file, issues: [{ path: "", message }], cause });
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    const info = await handle.stat();
    if (info.isDirectory()) throw refuse("expected a YAML file, got a folder");
    if (info.size > limit) throw refuse(fileSizeMessage(info.size));
    const buffer = new Uint8Array(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(
        buffer,
        length,
        buffer.length - length,
      );
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) {
      throw refuse(`the file is over ${formatBytes(limit)}, the most allowed`);
    }
    return buffer.slice(0, length);
  } catch (cause) {
    if (cause instanceof ScenarioError) throw cause;
    const code = (cause as { code?: string }).code;
    const message = code === "ENOENT"
      ? "file not found"
      : code === "EISDIR"
      ? "expected a YAML file, got a folder"
      : `cannot read the file (${(cause as Error).message})`;
    throw refuse(message, cause);
  } finally {
    await handle?.close();
  }
}

/**
 * Loads a scenario: a built-in id (`cold-room`) or the path of a `.yaml` file (anything with a `/` or ending in
 * `.yaml`/`.yml` is taken as a path, relative to the working directory). `Scenario.file` is what was given, so that
 * `loadScenario(scenario.file)` loads the same scenario again.
 *
 * @throws {ScenarioError} when the id is unknown (the message lists the built-in ids), the file cannot be read, or it
 * is not a valid scenario.
 */
export async function loadScenario(idOrPath: string): Promise<Scenario> {
  if (_isPath(idOrPath)) {
    return parseScenario(await _read(idOrPath, idOrPath), { file: idOrPath });
  }
  const ids = await builtinScenarioIds();
  if (!ids.includes(idOrPath)) {
    const message = `no built-in scenario with this id${
      didYouMeanHint(idOrPath, ids)
    }; expected one of: ${ids.join(", ")} (or the path of a .yaml file)`;
    throw new ScenarioError({
      file: idOrPath,
      issues: [{ path: "", message }],
    });
  }
  const path = join(BUILTIN_DIR, `${idOrPath}.yaml`);
  return parseScenario(await _read(path, idOrPath), { file: idOrPath });
}

/** The built-in scenarios, sorted by id, each parsed (so a broken built-in fails loudly here, not mid-run). */
export async function listBuiltinScenarios(): Promise<ScenarioSummary[]> {
  const summaries: ScenarioSummary[] = [];
  for (const id of await builtinScenarioIds()) {
    const file = join(BUILTIN_DIR, `${id}.yaml`);
    const scenario = parseScenario(await _read(file, id), { file: id });
    summaries.push({ id: scenario.id, title: scenario.title, file });
  }
  return summaries;
}
