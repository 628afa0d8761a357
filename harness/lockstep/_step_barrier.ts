/**
 * The barrier between a lockstep run's steps: how the harness knows the controller has dealt with the readings it
 * was sent, in order of exactness: its own acks on `…/ack` (explicit), its client library's reports that the message
 * callbacks returned (library), PUBACKs of what it was sent at QoS 1 (puback), its processes found idle with the
 * readings read (process, see `_process_idle.ts`), else a wall-clock window (timeout).
 *
 * @module
 */

import type { AckMode, RunStats } from "../../store/mod.ts";
import { HandledReports } from "./_handled_reports.ts";

/** The part of aedes's store the retained messages of a subscription are read from. */
export interface RetainedSource {
  createRetainedStreamCombi(patterns: string[]): {
    on(event: string, listener: (packet: { topic: string }) => void): void;
  };
}

/** How a step's barrier was passed. */
export type Answer = "explicit" | "library" | "puback" | "process" | "timeout";

/** How exact each way of answering is: a run is said to be synchronised by the most exact one it used. */
const EXACTNESS: Record<AckMode, number> = {
  none: 0,
  timeout: 1,
  process: 2,
  puback: 3,
  library: 4,
  explicit: 5,
};

/** Wall ms between two looks at the controller's processes: the first soon, then less often. */
function lookAfter(looks: number): number {
  return looks < 2 ? 0 : 1;
}

/** One step's wait, as {@linkcode StepBarrier.wait} ends it. */
export interface StepWait {
  how: Answer;
  /** Whether the controller had a way of answering (acks, reports, PUBACKs), so a timeout is a fault. */
  hasAck: boolean;
  /** The way of answering this step waited for, when there was one. */
  by: Exclude<Answer, "timeout"> | undefined;
  /** The deadline the step had, ms. */
  timeoutMs: number;
  /** Timed-out steps in a row, this one included (0 when answered). */
  consecutiveTimeouts: number;
}

/** A controller's processes, as the barrier watches them (see `_process_idle.ts`). */
export interface ProcessWatch {
  /** What keeps them from being done with what they were sent; "" when they are. */
  busyNow(options?: { wokeAfter?: number }): string;
  /** Whether the last look found them busy only because a thread was asleep on a timer. */
  readonly napping: boolean;
  /** A step begins: called before its readings are sent. */
  stepBegins(): void;
  /** Whether they have been seen holding a TCP connection to the broker (else they cannot be watched). */
  readonly connected: boolean;
}

/** The step being waited for. */
interface Waiting {
  t: number;
  resolve: (how: Answer) => void;
  started: number;
}

/** The barrier's deadlines. */
export interface StepBarrierOptions {
  /** Wall ms a step waits for a controller with no way of answering. */
  stepTimeoutMs: number;
  /** Wall ms a step waits for an ack, a report or a PUBACK. */
  ackTimeoutMs: number;
}

/** Text of a payload, or undefined when it is not UTF-8. */
function textOf(payload: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(payload);
  } catch {
    return undefined;
  }
}

/** Tracks the controller's answers and waits for each step's. */
export class StepBarrier {
  /** How the run has been synchronised so far. */
  ackMode: AckMode = "none";
  /** Wall ms each answered step waited. */
  readonly responseMs: number[] = [];
  readonly #options: StepBarrierOptions;
  readonly #stats: RunStats;
  /** The controller's library's reports (see `_handled_reports.ts`). */
  readonly #reports = new HandledReports(() => this.#changed());
  /**
   * PUBACKs of what was sent at QoS 1, counted the same way: the barrier of any client that subscribes to the
   * readings with QoS 1 (it must acknowledge each message it is sent at QoS 1, and client libraries do so once their
   * handler has returned).
   */
  readonly #pubacks = new HandledReports(() => this.#changed(), {
    expected: true,
  });
  readonly #pubackCounts = new Map<string, number>();
  /** Retained-message counts still being read from the broker's store. */
  readonly #retainedCounts = new Set<Promise<void>>();
  /**
   * The controller's publishes the broker accepted, and those the bus has passed on (so the tank has applied them).
   * aedes emits a QoS 1 publish only once stored, so a QoS 0 report or a PUBACK may overtake it: each waits until
   * every publish accepted before it has been passed on.
   */
  #accepted = 0;
  #passedOn = 0;
  #waiting: Waiting | undefined;
  /** Simulated time of the readings the controller last acked (an ack may come before the barrier waits). */
  #answeredAt = -1;
  /** Commands since the last ack: late if that ack turns out to answer older readings. */
  #sinceAck = 0;
  #responded = false;
  #consecutiveTimeouts = 0;
  /** A look at the controller's processes; undefined when they cannot be watched now (see `watchProcesses`). */
  #processes: (() => ProcessWatch | undefined) | undefined;
  /** What the last step's looks found, by how long each held (ms), for a note when it timed out. */
  readonly #busyFor = new Map<string, number>();
  /** The reason the last look found, and when it was taken. */
  #lastLook: { busy: string; at: number } | undefined;

  /** `stats` receives the timed-out steps and late commands. */
  constructor(options: StepBarrierOptions, stats: RunStats) {
    this.#options = options;
    this.#stats = stats;
  }

  /** Lets steps be answered by the controller's processes going idle (see `_process_idle.ts`). */
  watchProcesses(processes: () => ProcessWatch | undefined): void {
    this.#processes = processes;
  }

  /** Whether a step is waiting now. */
  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /**
   * Waits for the controller's answer to the readings of simulated time `t`, after `settle` (the tank's publishes
   * through the broker, so that every reading is forwarded and counted).
   */
  async wait(
    t: number,
    settle: () => Promise<void>,
    { startup = false }: {
      /** The wait at the controller's start: neither counted as a step nor as a timeout. */
      startup?: boolean;
    } = {},
  ): Promise<StepWait> {
    // Before the readings go out: what runs from here on runs for this step.
    const early = this.ackMode !== "explicit" ? this.#processes?.() : undefined;
    early?.stepBegins();
    await settle();
    while (this.#retainedCounts.size > 0) {
      await Promise.all([...this.#retainedCounts]);
    }
    const library = this.ackMode !== "explicit" && this.#reports.active;
    const puback = this.ackMode !== "explicit" && !library &&
      this.#pubacks.active;
    const watch = this.ackMode !== "explicit" && !library && !puback
      ? this.#processes?.()
      : undefined;
    // At the start a thread asleep on a timer must wake once the rest has settled: programs poll while they connect.
    const firstLook = watch?.busyNow(startup ? { wokeAfter: Infinity } : {});
    const processes = watch !== undefined && watch.connected;
    const by = this.ackMode === "explicit"
      ? "explicit"
      : library
      ? "library"
      : puback
      ? "puback"
      : processes
      ? "process"
      : undefined;
    const hasAck = by !== undefined;
    const timeoutMs = hasAck
      ? this.#options.ackTimeoutMs
      : this.#options.stepTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = performance.now();
    this.#busyFor.clear();
    this.#lastLook = undefined;
    const how = await new Promise<Answer>((resolve) => {
      const waiting = { t, resolve, started };
      this.#waiting = waiting;
      if (library && this.#reports.allHandled()) return resolve("library");
      if (puback && this.#pubacks.allHandled()) return resolve("puback");
      if (this.ackMode === "explicit" && this.#answeredAt >= t) {
        return resolve("explicit");
      }
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
      if (processes) this.#watch(waiting, watch, firstLook!, 0, startup);
    });
    clearTimeout(timer);
    this.#waiting = undefined;
    this.#responded = false;
    if (startup) {
      // Not a step: nothing to count.
    } else if (how === "timeout") {
      this.#consecutiveTimeouts++;
      if (this.ackMode === "none") this.ackMode = "timeout";
    } else {
      this.#consecutiveTimeouts = 0;
      this.responseMs.push(performance.now() - started);
      if (EXACTNESS[how] > EXACTNESS[this.ackMode]) this.ackMode = how;
    }
    return {
      how,
      hasAck,
      by,
      timeoutMs,
      consecutiveTimeouts: this.#consecutiveTimeouts,
    };
  }

  /**
   * Looks at the controller's processes until they are done with what they were sent and everything they published
   * has been passed on; `busy` is what the look just taken found.
   */
  #watch(
    waiting: Waiting,
    watch: ProcessWatch,
    busy: string,
    looks: number,
    startup: boolean,
    settledSince = Infinity,
  ): void {
    if (this.#waiting !== waiting) return;
    // aedes streams a new subscription's retained messages after its SUBACK, once the broker looks idle: they count
    // as sent only once forwarded.
    const retained = this.#reports.retainedDue;
    if (busy === "" && !retained && this.#accepted === this.#passedOn) {
      return waiting.resolve("process");
    }
    const now = performance.now();
    if (this.#lastLook) {
      const { busy: before, at } = this.#lastLook;
      this.#busyFor.set(before, (this.#busyFor.get(before) ?? 0) + now - at);
    }
    this.#lastLook = {
      busy: busy ||
        (retained
          ? "retained messages still to be sent to it"
          : "its publishes on their way"),
      at: now,
    };
    // At the start: since when everything but timer sleeps has been idle.
    const settled = busy !== "" && watch.napping && !retained
      ? Math.min(settledSince, performance.now())
      : Infinity;
    setTimeout(
      () =>
        this.#watch(
          waiting,
          watch,
          watch.busyNow(startup ? { wokeAfter: settled } : {}),
          looks + 1,
          startup,
          settled,
        ),
      lookAfter(looks),
    );
  }

  /**
   * What kept the last step busy for longest (a thread asleep for the whole step, not the reader that was handed a
   * reading a moment before the step timed out); "" when nothing was seen.
   */
  get lastBusy(): string {
    const held = new Map(this.#busyFor);
    if (this.#lastLook) {
      const { busy, at } = this.#lastLook;
      held.set(busy, (held.get(busy) ?? 0) + performance.now() - at);
    }
    let longest = "";
    let longestMs = -1;
    for (const [busy, ms] of held) {
      if (ms > longestMs) [longest, longestMs] = [busy, ms];
    }
    return longest;
  }

  /** Ends a waiting step at once, as timed out (the run gave up on the controller). */
  release(): void {
    this.#waiting?.resolve("timeout");
  }

  /** The controller published `topic` (accepted by the broker); `command` when it is one of the tank's commands. */
  published(command: boolean): void {
    this.#accepted++;
    if (!this.#responded && this.#waiting) {
      this.#responded = true;
      if (this.ackMode === "timeout" || this.ackMode === "none") {
        this.responseMs.push(performance.now() - this.#waiting.started);
      }
    }
    if (command) this.#sinceAck++;
  }

  /** The bus passed one of the controller's publishes on (the tank has had it). */
  passedOn(): void {
    this.#passedOn++;
    if (this.#reports.pending || this.#pubacks.pending) {
      // After the other subscribers (the tank) have had this message too.
      setImmediate(() => this.#release());
    }
  }

  /** The broker forwards a PUBLISH to `alias`, at QoS `qos` (as aedes sends it). */
  forwarded(alias: string, retained: boolean, qos: number): void {
    this.#reports.forwarded(alias, retained);
    if (qos >= 1) this.#pubacks.forwarded(alias, retained);
  }

  /**
   * `alias` subscribed to `filter`: count the retained messages it will be sent, and those of them sent at QoS 1
   * (`atQos1`), from the query aedes runs to send them.
   */
  subscribed(
    alias: string,
    filter: string,
    store: RetainedSource,
    atQos1: (topic: string) => boolean,
  ): void {
    const stream = store.createRetainedStreamCombi([filter]);
    const counted = new Promise<void>((resolve) => {
      let all = 0;
      let qos1 = 0;
      stream.on("data", (packet) => {
        all++;
        if (atQos1(packet.topic)) qos1++;
      });
      stream.on("error", () => resolve());
      stream.on("end", () => {
        this.#reports.due(alias, all);
        this.#pubacks.due(alias, qos1);
        resolve();
      });
    }).finally(() => this.#retainedCounts.delete(counted));
    this.#retainedCounts.add(counted);
  }

  /** A preload's report as the broker passes it on: stamped with the publishes accepted before it. */
  stamp(payload: Uint8Array): Uint8Array {
    return new TextEncoder().encode(
      `${textOf(payload)?.trim() ?? ""} ${this.#accepted}`,
    );
  }

  /** A preload's report as the bus passes it on, stamped by {@linkcode stamp}: "<handled> <accepted before it>". */
  report(alias: string, payload: Uint8Array): void {
    const [count, after] = (textOf(payload) ?? "").split(" ").map(Number);
    this.#reports.report(alias, count ?? NaN, after ?? 0);
    this.#release();
  }

  /** `alias` acknowledged a message sent to it at QoS 1 or 2. */
  puback(alias: string): void {
    const count = (this.#pubackCounts.get(alias) ?? 0) + 1;
    this.#pubackCounts.set(alias, count);
    // Stamped like a report: it counts once what the client published before it has reached the tank.
    this.#pubacks.report(alias, count, this.#accepted);
    this.#release();
  }

  /**
   * An ack on `…/ack` (payload: the `t` of the readings it answers, or anything for "the latest") while the tank is
   * at simulated time `now`. An ack of older readings makes the commands since the last ack late.
   */
  ack(payload: Uint8Array, now: number): void {
    this.ackMode = "explicit";
    const text = textOf(payload)?.trim() ?? "";
    const t = /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
    if (t !== undefined && t < now) {
      this.#stats.lateCommands += this.#sinceAck;
      this.#sinceAck = 0;
      return;
    }
    this.#sinceAck = 0;
    this.#answeredAt = now;
    this.#waiting?.resolve("explicit");
  }

  /** The connection `alias` is gone: it has nothing left to handle. */
  closed(alias: string): void {
    this.#reports.closed(alias);
    this.#pubacks.closed(alias);
  }

  /** Applies the reports and PUBACKs whose preceding publishes have all been passed on. */
  #release(): void {
    this.#reports.release(this.#passedOn);
    this.#pubacks.release(this.#passedOn);
  }

  /** A report or PUBACK was applied, or a connection went away: the waiting step may be answered now. */
  #changed(): void {
    if (!this.#waiting || this.ackMode === "explicit") return;
    if (this.#reports.active) {
      if (this.#reports.allHandled()) this.#waiting.resolve("library");
    } else if (this.#pubacks.active && this.#pubacks.allHandled()) {
      this.#waiting.resolve("puback");
    }
  }
}
