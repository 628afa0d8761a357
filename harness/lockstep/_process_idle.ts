/**
 * The process-level barrier, for controllers whose client library the harness cannot see into (C, Go, Java, a
 * `mosquitto_sub | script | mosquitto_pub` pipeline): the controller is done with a step's readings when, read from
 * Linux's `/proc`, every thread of its process group is blocked waiting, it has read everything on its connections to
 * the broker, the broker has read and handled everything sent to it (the kernel's receive and accept queues, the
 * broker's own buffers and packet handling, connections already closed included), and no packet is on its way
 * through the loopback device; and when a second look finds exactly the same (no thread ran in between). Sending
 * queues are not read: a byte the other side has read waits there for its delayed ACK.
 *
 * @module
 */

/** One row of `/proc/net/tcp` or `/proc/net/tcp6`. */
export interface TcpRow {
  localPort: number;
  remotePort: number;
  /** The kernel's TCP state: 1 established, 2 SYN sent, 10 listening… */
  state: number;
  /** Bytes received and not yet read by the socket's owner. */
  rxQueue: number;
  inode: number;
}

const ESTABLISHED = 1;
const SYN_SENT = 2;
const LISTEN = 10;

/** Parses `/proc/net/tcp` or `/proc/net/tcp6`. */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [, local, remote, state, queues, , , , , inode] = fields;
    const port = (address: string) =>
      parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
    rows.push({
      localPort: port(local!),
      remotePort: port(remote!),
      state: parseInt(state!, 16),
      rxQueue: parseInt(queues!.split(":")[1] ?? "0", 16),
      inode: Number(inode),
    });
  }
  return rows;
}

/** State, parent and process group of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`. */
export function parseStat(
  text: string,
): { state: string; ppid: number; pgrp: number } {
  // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so split after its last ")".
  const end = text.lastIndexOf(")");
  if (end < 0) return { state: "?", ppid: NaN, pgrp: NaN };
  const [state, ppid, pgrp] = text.slice(end + 2).split(" ");
  return { state: state || "?", ppid: Number(ppid), pgrp: Number(pgrp) };
}

/** Packets waiting in the kernel's per-CPU input queues (the loopback device's packets pass through them). */
export function parseSoftnetBacklog(text: string): number {
  let queued = 0;
  for (const line of text.trim().split("\n")) {
    // Column 12 (Linux 5.10 and later): packets in the CPU's input and process queues.
    const column = line.trim().split(/\s+/)[11];
    if (column !== undefined) queued += parseInt(column, 16);
  }
  return queued;
}

/** Whether this process can watch controllers through `/proc` (Linux, with read permission on it). */
export function canWatchProcesses(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.permissions.querySync({ name: "read", path: "/proc" })
          .state === "granted" && Deno.statSync("/proc/net/tcp").isFile;
  } catch {
    return false;
  }
}

/** Thread states other than waiting, in words. */
const STATES: Record<string, string> = {
  R: "running",
  D: "in an uninterruptible wait",
  T: "stopped",
  t: "stopped by a debugger",
};

/** The CPU time in a thread's `schedstat` line (its first field, in ns); 0 when it is not known. */
function cpuNanos(schedstat: string): number {
  const ns = Number(schedstat.split(" ", 1)[0]);
  return Number.isFinite(ns) ? ns : 0;
}

/** The command of the process a `/proc/<pid>/task/<tid>` path belongs to, for messages (no pid: notes are recorded). */
function commandOf(path: string): string {
  return readOrEmpty(`/proc/${path.split("/")[2]}/comm`).trim() || "a process";
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return ""; // gone meanwhile (a thread or process that ended), or absent on this kernel
  }
}

/**
 * Reads a `/proc/net` table in as few reads as possible: the kernel walks its whole connection table for each read
 * (a fraction of a millisecond on a machine with much memory), and a read that stops well short of a page was the
 * last.
 */
function readTable(path: string, buffer: { bytes: Uint8Array }): string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path);
  } catch {
    return "";
  }
  try {
    let length = 0;
    while (true) {
      if (buffer.bytes.length - length < 4096) {
        const larger = new Uint8Array(buffer.bytes.length * 2);
        larger.set(buffer.bytes.subarray(0, length));
        buffer.bytes = larger;
      }
      const room = buffer.bytes.length - length;
      const read = file.readSync(buffer.bytes.subarray(length)) ?? 0;
      length += read;
      // The kernel hands out a page (4 KiB) at most per read, of whole lines (150 bytes each): a read well short of
      // a page was the last.
      if (read === 0 || read < Math.min(room, 4096) - 256) break;
    }
    return new TextDecoder().decode(buffer.bytes.subarray(0, length));
  } finally {
    file.close();
  }
}

/** The tables a socket can be listed in. */
const TABLES = ["/proc/net/tcp", "/proc/net/tcp6"] as const;
type Table = (typeof TABLES)[number];

/** One thread as a look saw it. */
interface Thread {
  path: string;
  state: string;
  /** CPU time and time slices so far (`schedstat`): unchanged means it has not run. */
  ran: string;
  /** A moment before which it last ran (performance.now(): the look before the one that saw it had run). */
  since: number;
  /** Whether it is asleep on a timer. */
  nap: boolean;
  /** Whether it has been seen waking from such a sleep. */
  woke: boolean;
}

/**
 * How long a thread may sleep on a timer (`sleep()`, `time.sleep`) and still count as waiting, once it has been seen
 * waking: a main loop that wakes every second is idle between its wakes; a handler asleep for an hour is not, nor is
 * a sleep the harness has not seen begin.
 */
export const LONGEST_NAP_MS = 2000;

/** A look at the group's threads: what they were doing, or why they are not all waiting. */
export type ThreadLook = { fingerprint: string } | { busy: string };

/**
 * Watches one process group (a controller started with setsid) and its connections to the broker's TCP port.
 * {@linkcode look} is cheap (the group's threads); {@linkcode busyNow} adds the sockets and the broker, and says
 * whether the group is done.
 */
export class ProcessIdle {
  readonly #pgid: number;
  readonly #brokerPort: number;
  /** The table the broker's own sockets are listed in. */
  readonly #brokerTable: Table;
  readonly #brokerWork: () => Map<number, boolean>;
  /** Pids of the last listing of /proc, and whether each is in the group (a pid seen twice is the same process). */
  #listed = new Map<number, boolean>();
  /** The group's threads at the last look, by path. */
  #threads = new Map<string, Thread>();
  /** Socket inodes → the table they are listed in, or null for Unix sockets. */
  readonly #socketTables = new Map<number, Table | null>();
  readonly #buffer = { bytes: new Uint8Array(1 << 16) };
  /** Connections to the broker the group held when its sockets were last read. */
  connections = 0;
  /** Whether the group has been seen holding a connection to the broker's TCP port (then it can be watched). */
  connected = false;
  /** Whether the last look found the group busy only because a thread was asleep on a timer. */
  napping = false;
  /** When the last look was taken (performance.now()). */
  #lookedAt = -Infinity;
  /** Each thread's CPU time when the step began (see {@linkcode stepBegins}). */
  #atStepStart = new Map<string, string>();
  /** Threads seen asleep on a timer this step after running in it, with their CPU time then. */
  readonly #napsSeen = new Map<string, string>();
  /** Threads that woke from such a sleep this step: their next sleep is waiting. */
  readonly #napsWaited = new Set<string>();

  /**
   * `brokerWork` gives the broker's side of its TCP connections by the client's port: true while the broker has
   * bytes or a packet of that connection in hand.
   */
  constructor(
    pgid: number,
    broker: { port: number; host: string },
    brokerWork: () => Map<number, boolean>,
  ) {
    this.#pgid = pgid;
    this.#brokerPort = broker.port;
    this.#brokerTable = broker.host.includes(":") ? TABLES[1] : TABLES[0];
    this.#brokerWork = brokerWork;
  }

  /** The group's processes, from a fresh listing of /proc. */
  #members(): number[] {
    const listed = new Map<number, boolean>();
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      listed.set(
        pid,
        this.#listed.get(pid) ??
          parseStat(readOrEmpty(`/proc/${pid}/stat`)).pgrp === this.#pgid,
      );
    }
    this.#listed = listed;
    return [...listed].filter(([, member]) => member).map(([pid]) => pid);
  }

  #readThread(path: string, before?: Thread): Thread | undefined {
    const { state } = parseStat(readOrEmpty(`${path}/stat`));
    if (state === "Z" || state === "X" || state === "?") return undefined;
    const ran = readOrEmpty(`${path}/schedstat`);
    const nap = state === "S" && /nanosleep/.test(readOrEmpty(`${path}/wchan`));
    return {
      path,
      state,
      ran,
      // It ran after the previous look (the latest moment known to be before it ran).
      since: before?.ran === ran ? before.since : this.#lookedAt,
      nap,
      woke: before !== undefined &&
        (before.woke || (before.nap && before.ran !== ran)),
    };
  }

  /**
   * Looks at the group's threads: a fingerprint that is the same in two looks only if no thread ran in between, or
   * why one is not waiting. When a thread ran since the last look, /proc is listed again, so that a process it
   * started is in the group's fingerprint.
   */
  /**
   * A step begins (before its readings are sent): a thread that runs during it and then sleeps on a timer is busy
   * until it wakes once, so that a program that sleeps between its lines (`mosquitto_pub -l` between two commands)
   * has read what it was given. A thread that sleeps across the step (a main loop's `sleep(1)`) is not waited for.
   */
  stepBegins(): void {
    this.#atStepStart = new Map(
      [...this.#threads].map(([path, thread]) => [path, thread.ran]),
    );
    this.#napsSeen.clear();
    this.#napsWaited.clear();
  }

  look(wokeAfter?: number): ThreadLook {
    const threads = new Map<string, Thread>();
    let ran = this.#threads.size === 0;
    for (const [path, before] of this.#threads) {
      const now = this.#readThread(path, before);
      if (now === undefined) {
        ran = true;
        continue;
      }
      if (now.ran !== before.ran || now.state !== before.state) ran = true;
      threads.set(path, now);
    }
    if (ran) {
      for (const pid of this.#members()) {
        let tids: string[];
        try {
          tids = [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => e.name);
        } catch {
          continue; // ended meanwhile
        }
        for (const tid of tids) {
          const path = `/proc/${pid}/task/${tid}`;
          if (threads.has(path)) continue;
          const thread = this.#readThread(path);
          if (thread) threads.set(path, thread);
        }
      }
    }
    this.#threads = threads;
    this.#lookedAt = performance.now();
    this.napping = false;
    let fingerprint = "";
    const now = performance.now();
    // Of the threads not waiting, the one that ran longest this step is named: a program spinning in its handler, not
    // the one that was handed a reading a moment ago and waits for a core.
    let busiest: Thread | undefined;
    let busiestRan = -1;
    for (const thread of threads.values()) {
      if (thread.state !== "S") {
        const ran = cpuNanos(thread.ran) -
          cpuNanos(this.#atStepStart.get(thread.path) ?? "");
        if (ran > busiestRan) [busiest, busiestRan] = [thread, ran];
      }
      fingerprint += `${thread.path} ${thread.ran}`;
    }
    if (busiest) {
      return {
        busy: `${commandOf(busiest.path)} is ${
          STATES[busiest.state] ?? busiest.state
        }`,
      };
    }
    // Timer sleeps last, so that `napping` means that nothing else is busy.
    for (const thread of threads.values()) {
      const seen = this.#napsSeen.get(thread.path);
      if (seen !== undefined && seen !== thread.ran) {
        this.#napsWaited.add(thread.path);
      }
      if (!thread.nap) continue;
      const ranThisStep = this.#atStepStart.get(thread.path) !== thread.ran;
      if (
        !thread.woke || now - thread.since >= LONGEST_NAP_MS ||
        (wokeAfter !== undefined && thread.since < wokeAfter) ||
        (ranThisStep && !this.#napsWaited.has(thread.path))
      ) {
        if (ranThisStep) this.#napsSeen.set(thread.path, thread.ran);
        this.napping = true;
        return { busy: `${commandOf(thread.path)} is asleep on a timer` };
      }
    }
    return { fingerprint };
  }

  /** What keeps the group from being done, read from the sockets and the broker; "" when nothing does. */
  #socketsBusy(): string {
    const inodes = new Set<number>();
    for (
      const pid of new Set(
        [...this.#threads.keys()].map((p) => p.split("/")[2]),
      )
    ) {
      try {
        for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
          let link: string;
          try {
            link = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
          } catch {
            continue;
          }
          const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
          if (inode !== undefined) inodes.add(Number(inode));
        }
      } catch {
        // ended meanwhile
      }
    }
    // The broker's table always (its side of each connection), the other only for a socket listed there or not yet
    // placed. A Unix socket (a socket pair) is not looked up again; any other socket is, until it is listed: one
    // created and not yet connected is in neither table.
    const byInode = new Map<number, TcpRow & { table: Table }>();
    /** Every socket of the broker's port: its listener and its side of each connection. */
    const brokerSide: TcpRow[] = [];
    const read = new Set<Table>();
    const readRows = (table: Table) => {
      if (read.has(table)) return;
      read.add(table);
      for (const row of parseTcpTable(readTable(table, this.#buffer))) {
        byInode.set(row.inode, { ...row, table });
        if (row.localPort === this.#brokerPort && table === this.#brokerTable) {
          brokerSide.push(row);
        }
      }
    };
    readRows(this.#brokerTable);
    let unplaced = false;
    for (const inode of inodes) {
      const table = this.#socketTables.get(inode);
      if (table === undefined) unplaced = true;
      else if (table !== null) readRows(table);
    }
    if (unplaced) {
      TABLES.forEach(readRows);
      for (const line of readOrEmpty("/proc/net/unix").split("\n").slice(1)) {
        const inode = Number(line.trim().split(/\s+/)[6]);
        if (inodes.has(inode)) this.#socketTables.set(inode, null);
      }
    }
    const work = this.#brokerWork();
    let busy = "";
    this.connections = 0;
    for (const inode of inodes) {
      const row = byInode.get(inode);
      if (row !== undefined) this.#socketTables.set(inode, row.table);
      if (row === undefined || row.remotePort !== this.#brokerPort) continue;
      if (row.state === SYN_SENT) busy ||= "a connection is opening";
      if (row.state !== ESTABLISHED) continue;
      this.connections++;
      this.connected = true;
      if (row.rxQueue > 0) {
        busy ||= `${row.rxQueue} bytes unread by the controller`;
      }
    }
    // The broker's side of every connection, the group's or not: a connection a process of the group opened, used
    // and closed (a `mosquitto_pub` that has exited) may still hold what it sent, unread by the broker.
    for (const row of brokerSide) {
      if (busy) break;
      if (row.state === LISTEN) {
        if (row.rxQueue > 0) busy = "a connection waits to be accepted";
      } else if (row.rxQueue > 0) {
        busy = "bytes unread by the broker";
      }
    }
    for (const [, working] of work) {
      if (busy) break;
      if (working) busy = "the broker is handling a packet";
    }
    if (busy) return busy;
    const backlog = parseSoftnetBacklog(
      readOrEmpty("/proc/net/softnet_stat"),
    );
    return backlog > 0 ? `${backlog} packets on their way` : "";
  }

  /**
   * What keeps the group from being done with what it was sent; "" when it is: every thread blocked, every connection
   * to the broker read on both sides, nothing on its way, and no thread ran while the sockets were read. `wokeAfter`:
   * a thread asleep on a timer is waiting only if it has woken since then (a program that polls while it starts, such
   * as `mosquitto_pub -l` waiting for its CONNACK before it reads its input, must have looked again once the rest of
   * the group settled).
   */
  busyNow(options: { wokeAfter?: number } = {}): string {
    const { wokeAfter } = options;
    const before = this.look(wokeAfter);
    // Until the group is seen holding a connection to the broker, its sockets are read at every look; while it starts,
    // also when it only naps, so that `napping` means nothing else is busy.
    const read = !this.connected ||
      !("busy" in before) || (this.napping && wokeAfter !== undefined);
    if (!read) return (before as { busy: string }).busy;
    const sockets = this.#socketsBusy();
    if (sockets) {
      this.napping = false;
      return sockets;
    }
    if ("busy" in before) return before.busy;
    const after = this.look(wokeAfter);
    if ("busy" in after) return after.busy;
    return after.fingerprint === before.fingerprint
      ? ""
      : "a process ran meanwhile";
  }
}
