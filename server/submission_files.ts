/**
 * A submission's files: one uploaded file, or a zip extracted within limits (entries, bytes, safe relative paths),
 * and the start command chosen from the kinds an assignment allows.
 *
 * @module
 */

import { unzipSync } from "fflate";
import type { StartKind } from "./assignment.ts";

/** One file of a submission. */
export interface SubmittedFile {
  /** A relative path with `/` separators, no `..`, no leading `/`. */
  path: string;
  data: Uint8Array;
}

/** Limits on what a submission may hold. */
export const SUBMISSION_LIMITS = {
  /** The upload itself (a file or a zip). */
  uploadBytes: 2 * 1024 * 1024,
  /** All files extracted from a zip together. */
  totalBytes: 8 * 1024 * 1024,
  files: 200,
  pathLength: 200,
};

/** A path safe to write under a folder and to name in a command: relative, no `..`, plain characters only. */
export function safePath(path: string): string | undefined {
  const clean = path.replace(/\\/g, "/").replace(/^\.\//, "");
  if (clean === "" || clean.length > SUBMISSION_LIMITS.pathLength) {
    return undefined;
  }
  // Letters, digits, `.`, `_`, `-` and `/` only: the path goes into a shell command line.
  if (!/^[A-Za-z0-9._\/-]+$/.test(clean) || clean.startsWith("/")) {
    return undefined;
  }
  const parts = clean.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return undefined;
  return clean;
}

/**
 * The files of an upload named `name`: the file itself, or a zip's entries (folders and `__MACOSX/` skipped).
 *
 * @throws {RangeError} past a limit; {TypeError} for an unsafe name or a broken zip
 */
export function unpackUpload(name: string, bytes: Uint8Array): SubmittedFile[] {
  if (bytes.length > SUBMISSION_LIMITS.uploadBytes) {
    throw new RangeError(
      `upload "${name}" is ${bytes.length} bytes; at most ${SUBMISSION_LIMITS.uploadBytes} are taken`,
    );
  }
  const base = safePath(name.split(/[\\/]/).pop() ?? "");
  if (base === undefined) {
    throw new TypeError(`upload name "${name}" is not a usable file name`);
  }
  if (!/\.zip$/i.test(base)) return [{ path: base, data: bytes }];
  let total = 0;
  let count = 0;
  let problem: Error | undefined;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter(file) {
        if (file.name.endsWith("/") || file.name.startsWith("__MACOSX/")) {
          return false;
        }
        count++;
        total += file.originalSize;
        if (count > SUBMISSION_LIMITS.files) {
          problem ??= new RangeError(
            `zip "${name}" holds more than ${SUBMISSION_LIMITS.files} files`,
          );
        } else if (total > SUBMISSION_LIMITS.totalBytes) {
          problem ??= new RangeError(
            `zip "${name}" extracts to more than ${SUBMISSION_LIMITS.totalBytes} bytes`,
          );
        } else if (safePath(file.name) === undefined) {
          problem ??= new TypeError(
            `zip "${name}": entry "${file.name}" is not a safe relative path`,
          );
        }
        return problem === undefined;
      },
    });
  } catch (error) {
    throw problem ?? new TypeError(
      `zip "${name}" cannot be read: ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  if (problem) throw problem;
  const files: SubmittedFile[] = [];
  let actual = 0;
  for (const [path, data] of Object.entries(entries)) {
    // The sizes in a zip's headers are the sender's word: count what came out too.
    actual += data.length;
    if (actual > SUBMISSION_LIMITS.totalBytes) {
      throw new RangeError(
        `zip "${name}" extracts to more than ${SUBMISSION_LIMITS.totalBytes} bytes`,
      );
    }
    files.push({ path: safePath(path)!, data });
  }
  if (files.length === 0) throw new TypeError(`zip "${name}" holds no files`);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** The start kind a file's name implies, if any. */
export function kindOf(path: string): StartKind | undefined {
  if (/\.py$/i.test(path)) return "python3";
  if (/\.(ts|js|mjs|mts)$/i.test(path)) return "deno";
  if (/\.json$/i.test(path)) return "node-red";
  return undefined;
}

/** How a submission starts: which kind, and which of its files. */
export interface StartCommand {
  kind: StartKind;
  entry: string;
}

/**
 * Chooses the start command: `entry` (a file of the submission) or the only file whose kind is allowed; `kind`
 * when given, else the entry's kind from its name.
 *
 * @throws {TypeError} when none or several files fit, or the kind is not allowed
 */
export function chooseStart(
  files: SubmittedFile[],
  allowed: readonly StartKind[],
  wanted: { kind?: string; entry?: string } = {},
): StartCommand {
  let entry = wanted.entry === undefined ? undefined : safePath(wanted.entry);
  if (wanted.entry !== undefined) {
    if (entry === undefined || !files.some((f) => f.path === entry)) {
      throw new TypeError(
        `entry "${wanted.entry}" is not a file of the submission (${
          files.map((f) => f.path).join(", ")
        })`,
      );
    }
  } else {
    const candidates = files.filter((f) => {
      const kind = kindOf(f.path);
      return kind !== undefined && allowed.includes(kind) &&
        (wanted.kind === undefined || kind === wanted.kind);
    });
    if (candidates.length !== 1) {
      throw new TypeError(
        candidates.length === 0
          ? `no file to start: expected a ${
            allowed.map(describeKind).join(" or ")
          }`
          : `several files could be started (${
            candidates.map((f) => f.path).join(", ")
          }): say which with the "entry" field`,
      );
    }
    entry = candidates[0]!.path;
  }
  const kind = wanted.kind ?? kindOf(entry!);
  if (kind === undefined || !(allowed as readonly string[]).includes(kind)) {
    throw new TypeError(
      `start command "${
        kind ?? entry
      }" is not allowed for this assignment; allowed: ${allowed.join(", ")}`,
    );
  }
  return { kind: kind as StartKind, entry: entry! };
}

function describeKind(kind: StartKind): string {
  return kind === "python3"
    ? ".py file (python3 FILE)"
    : kind === "deno"
    ? ".ts/.js file"
    : "Node-RED flow (.json)";
}

/**
 * The controller command for `start` in `folder` (absolute): `python3 FILE`, the `.ts`/`.js` file alone (run under
 * Deno's permissions), or the Node-RED runner with `FLOWS=FILE` (`nodeRed`: the runner script, and `NODE_RED_DIR`).
 */
export function controllerCommand(
  folder: string,
  start: StartCommand,
  nodeRed?: { runner: string; dir?: string },
): string {
  const file = `${folder}/${start.entry}`;
  const quoted = `'${file.replace(/'/g, `'\\''`)}'`;
  switch (start.kind) {
    case "python3":
      return `python3 ${quoted}`;
    case "deno":
      return file;
    case "node-red":
      if (nodeRed === undefined) {
        throw new TypeError("Node-RED flows need the runner script");
      }
      return `${
        nodeRed.dir ? `NODE_RED_DIR='${nodeRed.dir}' ` : ""
      }FLOWS=${quoted} bash '${nodeRed.runner}'`;
  }
}
