/**
 * Signalling a controller's process group, and telling whether anything is left in it.
 *
 * @module
 */

/** Sends `signal` to every process in group `pgid`; false when the group is empty (or not ours). */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  // Never kill(-1) or kill(0): these would hit far more than the controller.
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of group `pgid` is still running. SIGCONT is the probe (Deno.kill has no signal 0): it does
 * nothing to a running process. It also reaches zombies, and in a container whose init does not reap orphans (Docker
 * without `--init`) a controller's killed children stay zombies, so on Linux, when this process may read /proc, the
 * group's members are looked up there and zombies do not count.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, "SIGCONT")) return false;
  return _liveMemberInProc(pgid) ?? true;
}

/** Whether /proc lists a process of group `pgid` that is not a zombie; undefined when /proc cannot be read. */
function _liveMemberInProc(pgid: number): boolean | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const read = Deno.permissions.querySync({ name: "read", path: "/proc" });
  if (read.state !== "granted") return undefined;
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      let stat: string;
      try {
        stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      } catch {
        continue; // Gone meanwhile.
      }
      // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so split after its last ")".
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
    }
    return false;
  } catch {
    return undefined;
  }
}
