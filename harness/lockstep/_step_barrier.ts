/**
 * The barrier between a lockstep run's steps: how the harness knows the controller has dealt with the readings it
 * was sent, in order of exactness: its own acks on `…/ack` (explicit), its client library's reports that the message
 * callbacks returned (library), PUBACKs of what it was sent at QoS 1 (puback), else a wall-clock window (timeout).
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
export type Answer = "explicit" | "library" | "puback" | "timeout";

/** One step's wait, as {@linkcode StepBarrier.wait} ends it. */
export interface StepWait {
  how: Answer;
  /** Whether the controller had a way of answering (acks, reports, PUBACKs), so a timeout is a fault. */
  hasAck: boolean;
  /** Whether the library's reports were the barrier. */
  library: boolean;
  /** The deadline the step had, ms. */
  timeoutMs: number;
  /** Timed-out steps in a row, this one included (0 when answered). */
  consecutiveTimeouts: number;
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
  #waiting: {
    t: number;
    resolve: (how: Answer) => void;
    started: number;
  } | undefined;
  /** Simulated time of the readings the controller last acked (an ack may come before the barrier waits). */
  #answeredAt = -1;
  /** Commands since the last ack: late if that ack turns out to answer older readings. */
  #sinceAck = 0;
  #responded = false;
  #consecutiveTimeouts = 0;

  /** `stats` receives the timed-out steps and late commands. */
  constructor(options: StepBarrierOptions, stats: RunStats) {
    this.#options = options;
    this.#stats = stats;
  }

  /** Whether a step is waiting now. */
  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /**
   * Waits for the controller's answer to the readings of simulated time `t`, after `settle` (the tank's publishes
   * through the broker, so that every reading is forwarded and counted).
   */
  async wait(t: number, settle: () => Promise<void>): Promise<StepWait> {
    await settle();
    while (this.#retainedCounts.size > 0) {
      await Promise.all([...this.#retainedCounts]);
    }
    const library = this.ackMode !== "explicit" && this.#reports.active;
    const puback = this.ackMode !== "explicit" && !library &&
      this.#pubacks.active;
    const hasAck = this.ackMode === "explicit" || library || puback;
    const timeoutMs = hasAck
      ? this.#options.ackTimeoutMs
      : this.#options.stepTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = performance.now();
    const how = await new Promise<Answer>((resolve) => {
      this.#waiting = { t, resolve, started };
      if (library && this.#reports.allHandled()) resolve("library");
      else if (puback && this.#pubacks.allHandled()) resolve("puback");
      else if (this.ackMode === "explicit" && this.#answeredAt >= t) {
        resolve("explicit");
      } else timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    clearTimeout(timer);
    this.#waiting = undefined;
    this.#responded = false;
    if (how === "timeout") {
      this.#consecutiveTimeouts++;
      if (this.ackMode === "none") this.ackMode = "timeout";
    } else {
      this.#consecutiveTimeouts = 0;
      this.responseMs.push(performance.now() - started);
      if (
        this.ackMode === "none" || this.ackMode === "timeout" ||
        (this.ackMode === "puback" && how === "library")
      ) {
        this.ackMode = how;
      }
    }
    return {
      how,
      hasAck,
      library,
      timeoutMs,
      consecutiveTimeouts: this.#consecutiveTimeouts,
    };
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
