/**
 * `deno task export`, `deno task import` and `deno task backup`: a run out of the data store as JSON Lines (and its
 * readings as CSV), back in from such a file, and a consistent copy of the whole store while it is in use.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_STORE_PATH, RunStore } from "../store/mod.ts";
import {
  backupStore,
  exportRun,
  importRun,
  readingsCsv,
} from "../harness/grading/mod.ts";

/** The three commands. */
export type TransferMode = "export" | "import" | "backup";

const HELP: Record<TransferMode, string> = {
  export:
    `Write a stored run as JSON Lines: its summary (with the scenario text), then every record.

Usage: deno task export <run-id> [--out run.jsonl] [--csv readings.csv] [--db PATH]

  --out FILE   where to write (default: standard output)
  --csv FILE   also write the readings the controller was sent, one row per batch
  --db PATH    the data store (default ${DEFAULT_STORE_PATH})
  -h, --help   show this help`,
  import:
    `Bring back a run written by deno task export; it is graded again to the same numbers.

Usage: deno task import <run.jsonl> [--as RUN-ID] [--db PATH]

  --as ID      store it under another run id (when the original is still in the store)
  --db PATH    the data store (default ${DEFAULT_STORE_PATH})
  -h, --help   show this help`,
  backup:
    `Copy the whole data store into a new file, consistently, even while runs are being recorded.

Usage: deno task backup <new-file.kv> [--db PATH]

  --db PATH    the data store to copy (default ${DEFAULT_STORE_PATH})
  -h, --help   show this help`,
};

async function* linesOf(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path);
  let rest = "";
  for await (
    const chunk of file.readable.pipeThrough(new TextDecoderStream())
  ) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

async function writeLines(
  path: string | undefined,
  lines: AsyncIterable<string>,
): Promise<number> {
  const encoder = new TextEncoder();
  const out = path === undefined
    ? Deno.stdout
    : await Deno.open(path, { write: true, create: true, truncate: true });
  let count = 0;
  try {
    let batch = "";
    for await (const line of lines) {
      batch += line + "\n";
      count++;
      if (batch.length > 1 << 16) {
        await out.write(encoder.encode(batch));
        batch = "";
      }
    }
    if (batch !== "") await out.write(encoder.encode(batch));
  } finally {
    if (path !== undefined) out.close();
  }
  return count;
}

/** Runs one of the commands; returns the exit code (2 for bad usage or a failure, with the reason on stderr). */
export async function main(
  mode: TransferMode,
  args: string[],
): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        db: { type: "string", default: DEFAULT_STORE_PATH },
        out: { type: "string" },
        csv: { type: "string" },
        as: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`${mode}: ${(error as Error).message}\n\n${HELP[mode]}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP[mode]);
    return 0;
  }
  const target = positionals[0];
  if (target === undefined || positionals.length > 1) {
    console.error(`${mode}: expected one argument\n\n${HELP[mode]}`);
    return 2;
  }
  try {
    if (mode === "backup") {
      await backupStore(values.db, target);
      console.error(`Copied ${values.db} to ${target}.`);
      return 0;
    }
    const store = await RunStore.open(values.db);
    try {
      if (mode === "export") {
        const count = await writeLines(values.out, exportRun(store, target));
        if (values.csv !== undefined) {
          await writeLines(values.csv, readingsCsv(store, target));
        }
        console.error(
          `Exported run ${target}: ${count - 1} records${
            values.out ? ` to ${values.out}` : ""
          }${values.csv ? `, readings to ${values.csv}` : ""}.`,
        );
      } else {
        const meta = await importRun(store, linesOf(target), {
          file: target,
          ...(values.as !== undefined ? { runId: values.as } : {}),
        });
        console.error(
          `Imported run ${meta.runId} (${meta.scenario.id}, ${meta.student}, ${meta.outcome}) into ${values.db}.`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // An import of a run the store already holds: say how to keep both.
    const hint = mode === "import" && /a run with this id exists/.test(message)
      ? ` (to keep both, import it under another id: deno task import ${target} --as <new-id>)`
      : "";
    console.error(`${mode}: ${message}${hint}`);
    return 2;
  }
}

if (import.meta.main) {
  const mode = Deno.args[0] as TransferMode;
  if (!(mode in HELP)) {
    console.error("usage: transfer_cli.ts export|import|backup …");
    Deno.exit(2);
  }
  Deno.exit(await main(mode, Deno.args.slice(1)));
}
