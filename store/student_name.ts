/**
 * Who is running: the name a run is stored under, so the leaderboard can tell students apart without a login.
 *
 * @module
 */

import { userInfo } from "node:os";
import { withDefaults } from "../lib/mod.ts";

/** Where {@linkcode studentName} looks; each source returns undefined when it has nothing (or cannot be asked). */
export interface StudentNameSources {
  /** `git config user.name`, trimmed. Default: runs git in the current folder. */
  gitUserName: () => Promise<string | undefined>;
  /** The login name. Default: `USER`, else `USERNAME`, else the OS account (`node:os` userInfo). */
  loginName: () => string | undefined;
}

/** Runs `git config user.name`; undefined when git is missing, not allowed, fails or prints nothing. */
export async function gitUserName(
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("git", {
      args: ["config", "user.name"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    }).output();
    if (!output.success) return undefined;
    return nonEmpty(new TextDecoder().decode(output.stdout));
  } catch {
    // No git on PATH, or no --allow-run: skip to the login name.
    return undefined;
  }
}

/** The login name from `USER`/`USERNAME` or the OS; undefined when none can be read. */
export function loginName(): string | undefined {
  for (const variable of ["USER", "USERNAME"]) {
    try {
      const value = nonEmpty(Deno.env.get(variable));
      if (value !== undefined) return value;
    } catch {
      // No --allow-env: try the next source.
    }
  }
  try {
    return nonEmpty(userInfo().username);
  } catch {
    return undefined;
  }
}

const defaults = { gitUserName, loginName } satisfies StudentNameSources;

function nonEmpty(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

/**
 * The student's name: `explicit` (from `--name`) when given and not blank, else git's `user.name`, else the login
 * name, else `"student"`.
 */
export async function studentName(
  explicit?: string,
  sources: Partial<StudentNameSources> = {},
): Promise<string> {
  const { gitUserName, loginName } = withDefaults(defaults, sources);
  return nonEmpty(explicit) ?? await gitUserName() ?? loginName() ??
    "student";
}
