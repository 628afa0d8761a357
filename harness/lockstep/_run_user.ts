/**
 * A user of its own for each graded controller (Linux, when the harness runs as root). The run's processes run as a
 * fresh uid that no other process on the machine has, so that:
 *
 * - nothing outlives the run: at its end every process of that uid is killed, the ones that left the controller's
 *   process group with `setsid` (a double-forked daemon) included;
 * - a controller cannot signal another run's processes, read their `/proc/<pid>/environ` or their private folders
 *   (the kernel allows these to the same uid only);
 * - the process limit (`RLIMIT_NPROC`) counts this run's processes only.
 *
 * Each run also gets a private folder (mode 0700, owned by its uid) for `HOME` and `TMPDIR`, removed at the end.
 *
 * @module
 */

import { join } from "node:path";

/** The first uid handed out; far above the ids of real users and of systemd's dynamic users. */
const FIRST_UID = 1_800_000_000;
/** How many uids runs choose among (at random, so that graders on one machine need no common ledger). */
const UID_SPAN = 100_000_000;

/** A run's own user. */
export interface RunUser {
  uid: number;
  /** Its private folder: `HOME` and `TMPDIR` of the controller. */
  home: string;
}

/** Whether runs can get users of their own here: Linux, root, and `setpriv` to switch to them. */
export function runUsersAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    if (Deno.uid() !== 0) return false;
    // Deno lets a program read /proc only with every permission (--allow-all).
    Deno.statSync("/proc/self/status");
  } catch {
    return false;
  }
  return ["/usr/bin/setpriv", "/bin/setpriv"].some((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** The pids of the live processes (zombies left out: they hold nothing and only their parent can reap them) whose real or effective uid is `uid`. */
export function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let status: string;
    try {
      status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
    } catch {
      continue; // gone meanwhile
    }
    const line = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (/^State:\s+[ZX]/m.test(status)) continue;
    if (line && (Number(line[1]) === uid || Number(line[2]) === uid)) {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

/** How old a run's folder with no process left must be before another run removes it (its run is over). */
const STALE_FOLDER_MS = 60_000;

/**
 * Removes the private folders of runs that are over but were not cleaned up (their grader was killed): folders in
 * `tmp` named as runs' are whose user has no process left and that have not changed for a minute (a run's folder is
 * made moments before its controller starts). Returns the folders removed.
 */
export function sweepRunFolders(
  tmp = Deno.env.get("TMPDIR") || "/tmp",
  now = Date.now(),
): string[] {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(tmp)];
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const match = /^fishtank-run-(\d+)$/.exec(entry.name);
    if (!match || !entry.isDirectory) continue;
    const uid = Number(match[1]);
    if (uid < FIRST_UID || uid >= FIRST_UID + UID_SPAN) continue;
    const home = join(tmp, entry.name);
    try {
      const info = Deno.statSync(home);
      if (info.uid !== uid) continue; // not made by a run
      if (now - (info.mtime?.getTime() ?? now) < STALE_FOLDER_MS) continue;
      if (processesOf(uid).length > 0) continue;
      Deno.removeSync(home, { recursive: true });
      removed.push(home);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

let swept = false;

/**
 * A fresh user for a run and its private folder, or undefined where runs cannot have users of their own (see
 * {@linkcode runUsersAvailable}). `tmp` is the folder the private folder goes in.
 */
export function allocateRunUser(
  tmp = Deno.env.get("TMPDIR") || "/tmp",
): RunUser | undefined {
  if (!runUsersAvailable()) return undefined;
  if (!swept) {
    swept = true;
    sweepRunFolders(tmp);
  }
  const random = new Uint32Array(1);
  for (let attempt = 0; attempt < 20; attempt++) {
    crypto.getRandomValues(random);
    const uid = FIRST_UID + (random[0]! % UID_SPAN);
    const home = join(tmp, `fishtank-run-${uid}`);
    try {
      // Fails when the folder exists: another run holds this uid (or held it and was not cleaned up).
      Deno.mkdirSync(home, { mode: 0o700 });
    } catch {
      continue;
    }
    if (processesOf(uid).length > 0) {
      Deno.removeSync(home);
      continue;
    }
    Deno.chownSync(home, uid, uid);
    Deno.chmodSync(home, 0o700);
    return { uid, home };
  }
  throw new Error(
    `could not find a free user id for the controller in ${FIRST_UID}…${
      FIRST_UID + UID_SPAN
    } (twenty tries)`,
  );
}

/**
 * Kills every process of `user` (SIGKILL), again and again until none is left: a process forking as it dies is caught
 * on a later round, and the run's process limit bounds how many there can be. Then removes its private folder.
 * Resolves with the number of processes killed; never rejects.
 */
export async function releaseRunUser(user: RunUser): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 200; round++) {
    const pids = processesOf(user.uid);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, round < 10 ? 2 : 20));
  }
  try {
    await Deno.remove(user.home, { recursive: true });
  } catch {
    // already gone
  }
  return killed;
}
