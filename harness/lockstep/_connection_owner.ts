/**
 * Whether a client connection of a lockstep run comes from the controller's own processes, read from Linux's `/proc`
 * once, when the client connects. The client's side of the TCP connection is the socket listed in `/proc/net/tcp` (or
 * `tcp6`) with the client's port as its own and the broker's as the other end; the process holding that socket is the
 * one whose `/proc/<pid>/fd` links to it. The connection is the controller's when that process is in the controller's
 * process group (the harness starts it with setsid), or descends from a process that is (a child that called setsid
 * itself). Any other holder (a process left behind by another run, a second terminal) is named by its command, never
 * its pid, since the answer is recorded and two identical runs must record the same.
 *
 * @module
 */

import type { ConnectionOrigin } from "../../store/mod.ts";
import { parseStat, parseTcpTable } from "./_process_idle.ts";

/** Ancestors looked at before giving up (a process tree is rarely a tenth as deep). */
const MAX_DEPTH = 64;

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return ""; // gone meanwhile, or absent on this kernel
  }
}

/**
 * Finds the process holding a connection to the broker, for one run's controller. It keeps each process's parent and
 * group as first read (a pid listed twice in a row is the same process), so a look costs a listing of `/proc`, the
 * stat of processes started since the last look and the descriptors of the few processes it must look into: a
 * fraction of a millisecond to a few milliseconds.
 */
export class ConnectionOwners {
  readonly #pgid: number;
  readonly #brokerPort: number;
  /** pid → its parent and process group. */
  #processes = new Map<number, { ppid: number; pgrp: number }>();

  /** For the controller whose process group is `pgid`, and a broker listening on `brokerPort`. */
  constructor(pgid: number, brokerPort: number) {
    this.#pgid = pgid;
    this.#brokerPort = brokerPort;
  }

  /**
   * Where the connection from the client's `clientPort` to the broker comes from; undefined when that cannot be told:
   * the connection is gone already, it comes from another machine or network namespace, or the controller's own
   * processes cannot be looked into.
   */
  originOf(clientPort: number): ConnectionOrigin | undefined {
    const inode = this.#inode(clientPort);
    if (inode === undefined) return undefined;
    const link = `socket:[${inode}]`;
    this.#list();
    const members: number[] = [];
    const others: number[] = [];
    for (const [pid, { pgrp }] of this.#processes) {
      (pgrp === this.#pgid ? members : others).push(pid);
    }
    for (const pid of members) {
      const held = holds(pid, link);
      if (held === true) return { controller: true };
      // A process of the controller that cannot be looked into: whatever holds the socket could be it.
      if (held === "denied") return undefined;
    }
    let unseen = false;
    for (const pid of others) {
      const held = holds(pid, link);
      if (held === "denied") unseen = true;
      if (held !== true) continue;
      return this.#descendsFromGroup(pid) ? { controller: true } : {
        controller: false,
        process: readOrEmpty(`/proc/${pid}/comm`).trim() || null,
      };
    }
    // Held by no process this user may look into: another user's, unless the connection closed meanwhile.
    return unseen && this.#inode(clientPort) === inode
      ? { controller: false, process: null }
      : undefined;
  }

  /** The inode of the client's side of the connection from `clientPort` to the broker. */
  #inode(clientPort: number): number | undefined {
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const row of parseTcpTable(readOrEmpty(table))) {
        // A socket in TIME_WAIT has no owner and lists inode 0.
        if (
          row.localPort === clientPort && row.remotePort === this.#brokerPort &&
          row.inode > 0
        ) {
          return row.inode;
        }
      }
    }
    return undefined;
  }

  /** Lists /proc again: the processes started since the last look are read, those gone are forgotten. */
  #list(): void {
    const listed = new Map<number, { ppid: number; pgrp: number }>();
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      const known = this.#processes.get(pid);
      if (known !== undefined) {
        listed.set(pid, known);
        continue;
      }
      const { ppid, pgrp } = parseStat(readOrEmpty(`/proc/${pid}/stat`));
      if (Number.isInteger(pgrp)) listed.set(pid, { ppid, pgrp });
    }
    this.#processes = listed;
  }

  /** Whether `pid` has an ancestor in the controller's process group (it left the group with setsid). */
  #descendsFromGroup(pid: number): boolean {
    let parent = this.#processes.get(pid)?.ppid;
    for (let depth = 0; depth < MAX_DEPTH && parent !== undefined; depth++) {
      const process = this.#processes.get(parent);
      if (process === undefined) return false;
      if (process.pgrp === this.#pgid) return true;
      parent = process.ppid;
    }
    return false;
  }
}

/** Whether `pid` holds the descriptor `link` (`socket:[123]`); "denied" when its descriptors cannot be read. */
function holds(pid: number, link: string): boolean | "denied" {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`/proc/${pid}/fd`)];
  } catch (error) {
    return error instanceof Deno.errors.PermissionDenied ? "denied" : false;
  }
  for (const entry of entries) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`) === link) {
        return true;
      }
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
