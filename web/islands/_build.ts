/**
 * Builds the browser side of the islands: every `web/islands/*.tsx` (not starting with `_`) is bundled with
 * `deno bundle` (which resolves the project's import map, npm packages included, offline) into one ES module each,
 * kept in memory and served at `/islands/<Name>.js`. Built once per server start; a failed build names the island.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ISLANDS_DIR = new URL("./", import.meta.url);

/** Bundled islands by name (`LiveTank` → JavaScript source). */
export type IslandBundles = Map<string, string>;

/** The island files (`LiveTank.tsx` → `LiveTank`). */
export async function islandNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(ISLANDS_DIR)) {
    if (
      entry.isFile && entry.name.endsWith(".tsx") && !entry.name.startsWith("_")
    ) {
      names.push(entry.name.slice(0, -4));
    }
  }
  return names.sort();
}

/** Bundles every island for the browser. */
export async function buildIslands(): Promise<IslandBundles> {
  const bundles: IslandBundles = new Map();
  const dir = await Deno.makeTempDir({ prefix: "fishtank-islands-" });
  try {
    for (const name of await islandNames()) {
      const out = `${dir}/${name}.js`;
      const result = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--quiet",
          "--platform",
          "browser",
          "--minify",
          "-o",
          out,
          fileURLToPath(new URL(`${name}.tsx`, ISLANDS_DIR)),
        ],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      if (!result.success) {
        throw new Error(
          `Cannot bundle island "${name}": ${
            new TextDecoder().decode(result.stderr).trim()
          }`,
        );
      }
      bundles.set(name, await Deno.readTextFile(out));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return bundles;
}
