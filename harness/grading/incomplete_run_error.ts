/**
 * `IncompleteRunError`: the data store could not be written during a run (a full disk, a file made read-only), so
 * the run was stopped through its normal end and is incomplete. A harness error, not the student's.
 *
 * @module
 */

import type { RunGrade } from "../../grader/mod.ts";

/** Options for {@linkcode IncompleteRunError}. */
export interface IncompleteRunErrorOptions {
  /** The store's file, as given with `--db`. */
  storePath: string;
  /** The write error (a `RunStoreError`, or what Deno KV threw). */
  cause: unknown;
  /** The run graded from what is known: outcome `error`, with this error's message. */
  grade: RunGrade;
}

/** The innermost message of an error chain: "database or disk is full" rather than "Cannot record run …: …". */
function _reason(cause: unknown): string {
  let error = cause;
  while (error instanceof Error && error.cause !== undefined) {
    error = error.cause;
  }
  const text = error instanceof Error ? error.message : String(error);
  // SQLite says SQLITE_FULL as "database or disk is full"; say what it means for the file system too.
  return /disk is full|ENOSPC|no space left/i.test(text) &&
      !/no space left/i.test(text)
    ? `No space left on device: ${text}`
    : text;
}

/** The message of an {@linkcode IncompleteRunError} for `storePath` and the write error `cause`. */
export function incompleteRunMessage(
  storePath: string,
  cause: unknown,
): string {
  return `the data store ${storePath} could not be written (${
    _reason(cause)
  }): the run is incomplete; earlier runs are intact`;
}

/**
 * A run stopped because the data store could not be written. The controller was stopped and the harness cleaned up
 * as at any run's end; `grade` holds what is known (outcome `error`), for reports marked incomplete.
 */
export class IncompleteRunError extends Error {
  /** Always `"IncompleteRunError"`. */
  override readonly name = "IncompleteRunError";
  /** The store's file. */
  readonly storePath: string;
  /** The run graded from what is known, outcome `error`. */
  readonly grade: RunGrade;

  /** Builds the message from the store's path and the write error. */
  constructor(options: IncompleteRunErrorOptions) {
    super(incompleteRunMessage(options.storePath, options.cause), {
      cause: options.cause,
    });
    this.storePath = options.storePath;
    this.grade = options.grade;
  }
}
