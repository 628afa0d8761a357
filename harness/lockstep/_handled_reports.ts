/**
 * The library layer of the lockstep barrier: what the broker forwarded to each of a run's connections, and what the
 * preloads in the controller report it has handled (its message callbacks returned). A step is answered when every
 * reporting connection has handled all that was forwarded to it, retained messages of new subscriptions included.
 *
 * @module
 */

/** The part of aedes's store the retained messages of a subscription are read from. */
export interface RetainedSource {
  createRetainedStreamCombi(patterns: string[]): {
    on(event: string, listener: (packet: { topic: string }) => void): void;
  };
}

/** Counts forwarded, retained-due and handled messages per connection (by alias), and orders the reports. */
export class HandledReports {
  /** PUBLISH packets the broker forwarded to each connection. */
  readonly #forwarded = new Map<string, number>();
  /** What each connection last reported handled (connections without a preload are absent). */
  readonly #handled = new Map<string, number>();
  /**
   * Retained messages each connection's subscriptions will still be sent (counted from the broker's store when it
   * subscribes, less those forwarded since): aedes streams them after the SUBACK, so they may come after a report.
   */
  readonly #retainedDue = new Map<string, number>();
  readonly #retainedCounts = new Set<Promise<void>>();
  /**
   * The controller's publishes the broker accepted, and those the bus has passed on (so the tank has applied them).
   * aedes emits a QoS 1 publish only once stored, so a QoS 0 report may overtake it: a report waits until every
   * publish accepted before it has been passed on.
   */
  #accepted = 0;
  #passedOn = 0;
  readonly #waiting: { alias: string; count: number; after: number }[] = [];
  readonly #onChange: () => void;
  readonly #expected: boolean;

  /**
   * `onChange` is called whenever a report is applied or a reporting connection goes away. With `expected`, a
   * connection takes part as soon as something is forwarded (or due) to it, reported or not: PUBACKs, which a client
   * must send, rather than a preload's reports, which it may not.
   */
  constructor(onChange: () => void, options: { expected?: boolean } = {}) {
    this.#onChange = onChange;
    this.#expected = options.expected ?? false;
  }

  /** Whether some connection takes part: the run can be synchronised by these reports. */
  get active(): boolean {
    if (!this.#expected) return this.#handled.size > 0;
    return [...this.#forwarded.values(), ...this.#retainedDue.values()].some(
      (n) => n > 0,
    );
  }

  /** The broker forwards a PUBLISH packet to `alias` (`retained`: sent because it subscribed). */
  forwarded(alias: string, retained: boolean): void {
    this.#forwarded.set(alias, (this.#forwarded.get(alias) ?? 0) + 1);
    if (retained) {
      this.#retainedDue.set(alias, (this.#retainedDue.get(alias) ?? 0) - 1);
    }
  }

  /** `alias` subscribed to `filter`: count the retained messages it will be sent (the query aedes runs too). */
  subscribed(
    alias: string,
    filter: string,
    store: RetainedSource,
    counts: (topic: string) => boolean = () => true,
  ): void {
    const stream = store.createRetainedStreamCombi([filter]);
    const counted = new Promise<void>((resolve) => {
      let count = 0;
      stream.on("data", (packet) => {
        if (counts(packet.topic)) count++;
      });
      stream.on("error", () => resolve());
      stream.on("end", () => {
        this.#retainedDue.set(
          alias,
          (this.#retainedDue.get(alias) ?? 0) + count,
        );
        resolve();
      });
    }).finally(() => this.#retainedCounts.delete(counted));
    this.#retainedCounts.add(counted);
  }

  /** Resolves once every subscription's retained messages have been counted. */
  async counted(): Promise<void> {
    while (this.#retainedCounts.size > 0) {
      await Promise.all([...this.#retainedCounts]);
    }
  }

  /** The broker accepted a publish of the controller; returns how many it has accepted so far. */
  accepted(): number {
    return ++this.#accepted;
  }

  /** How many of the controller's publishes the broker accepted so far (stamped on each report). */
  get acceptedSoFar(): number {
    return this.#accepted;
  }

  /** The bus passed one of the controller's publishes on. */
  passedOn(): void {
    this.#passedOn++;
    if (this.#waiting.length > 0) {
      // After the other subscribers (the tank) have had this message too.
      setImmediate(() => this.#release());
    }
  }

  /** A report as the bus passes it on: `count` handled, stamped with the publishes accepted before it. */
  report(alias: string, count: number, after: number): void {
    if (!Number.isSafeInteger(count) || count < 0) return;
    this.#waiting.push({
      alias,
      count,
      after: Number.isFinite(after) ? after : 0,
    });
    this.#release();
  }

  /** The connection is gone: it has nothing left to handle. */
  closed(alias: string): void {
    const had = this.#handled.delete(alias) || this.#forwarded.has(alias);
    this.#forwarded.delete(alias);
    this.#retainedDue.delete(alias);
    if (had) this.#onChange();
  }

  /** Whether every reporting connection has handled all that was forwarded to it. */
  allHandled(): boolean {
    const aliases = this.#expected
      ? new Set([...this.#forwarded.keys(), ...this.#retainedDue.keys()])
      : this.#handled.keys();
    for (const alias of aliases) {
      if ((this.#retainedDue.get(alias) ?? 0) > 0) return false;
      if ((this.#handled.get(alias) ?? 0) < (this.#forwarded.get(alias) ?? 0)) {
        return false;
      }
    }
    return true;
  }

  /** Applies the reports whose preceding publishes have all been passed on, in order. */
  #release(): void {
    let changed = false;
    while (
      this.#waiting.length > 0 && this.#waiting[0]!.after <= this.#passedOn
    ) {
      const { alias, count } = this.#waiting.shift()!;
      // The highest count seen: a program that publishes from several threads may send reports out of order.
      this.#handled.set(alias, Math.max(count, this.#handled.get(alias) ?? 0));
      changed = true;
    }
    if (changed) this.#onChange();
  }
}
