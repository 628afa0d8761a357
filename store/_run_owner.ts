/**
 * Who owns a running run: the process writing it, found alive or gone by its heartbeat or, on this machine, by /proc.
 *
 * @module
 */

/** Who is writing a running run, and when it last said so. */
export interface Owner {
  pid: number;
  /** Random per opened store, so two stores in one process (or a reused pid) are told apart. */
  instance: string;
  host: string;
  /** Epoch ms of the last heartbeat. */
  seen: number;
}

/** This machine's name, or "" where it cannot be read. */
export function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function existsProc(): boolean {
  try {
    return Deno.statSync("/proc/self").isDirectory;
  } catch {
    return false;
  }
}

/** Whether `owner` was a process on this machine (`host`) that no longer exists (then no need to wait for staleness). */
export function ownerGone(owner: Owner, host: string): boolean {
  if (owner.host !== host || owner.host === "" || owner.pid === Deno.pid) {
    return false;
  }
  try {
    Deno.statSync(`/proc/${owner.pid}`);
    return false;
  } catch (error) {
    // Without /proc (macOS) nothing can be said: wait for the heartbeat to go stale.
    return error instanceof Deno.errors.NotFound && existsProc();
  }
}
