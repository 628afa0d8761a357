/**
 * One kind of answer the lockstep barrier counts: what the broker forwarded to each of a run's connections, against
 * what each connection says it has handled (its preload's reports, or its PUBACKs). A kind is answered when every
 * taking-part connection has handled all that was forwarded to it, retained messages of new subscriptions included.
 * The ordering of reports behind the publishes before them, and the counting of retained messages, are the step
 * barrier's (`_step_barrier.ts`): it feeds both kinds from one ledger.
 *
 * @module
 */

/** Counts forwarded, retained-due and handled messages per connection (by alias), and applies reports in order. */
export class HandledReports {
  /** PUBLISH packets the broker forwarded to each connection. */
  readonly #forwarded = new Map<string, number>();
  /** What each connection last reported handled (connections without a report are absent). */
  readonly #handled = new Map<string, number>();
  /**
   * Retained messages each connection's subscriptions will still be sent (counted from the broker's store when it
   * subscribes, less those forwarded since): aedes streams them after the SUBACK, so they may come after a report.
   */
  readonly #retainedDue = new Map<string, number>();
  /** Reports not applied yet: each waits until the publishes accepted before it have been passed on. */
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

  /** Whether some connection will still be sent retained messages of its subscriptions. */
  get retainedDue(): boolean {
    return [...this.#retainedDue.values()].some((n) => n > 0);
  }

  /** Whether some report waits for publishes to be passed on. */
  get pending(): boolean {
    return this.#waiting.length > 0;
  }

  /** The broker forwards a PUBLISH packet to `alias` (`retained`: sent because it subscribed). */
  forwarded(alias: string, retained: boolean): void {
    this.#forwarded.set(alias, (this.#forwarded.get(alias) ?? 0) + 1);
    if (retained) this.due(alias, -1);
  }

  /** `count` more retained messages will be sent to `alias` (negative: fewer). */
  due(alias: string, count: number): void {
    this.#retainedDue.set(alias, (this.#retainedDue.get(alias) ?? 0) + count);
  }

  /** `alias` has handled `count` messages, said after the controller's first `after` accepted publishes. */
  report(alias: string, count: number, after: number): void {
    if (!Number.isSafeInteger(count) || count < 0) return;
    this.#waiting.push({
      alias,
      count,
      after: Number.isFinite(after) ? after : 0,
    });
  }

  /** Applies, in order, the reports whose preceding publishes are among the `passedOn` ones. */
  release(passedOn: number): void {
    let changed = false;
    while (this.#waiting.length > 0 && this.#waiting[0]!.after <= passedOn) {
      const { alias, count } = this.#waiting.shift()!;
      // The highest count seen: a program that publishes from several threads may send reports out of order.
      this.#handled.set(alias, Math.max(count, this.#handled.get(alias) ?? 0));
      changed = true;
    }
    if (changed) this.#onChange();
  }

  /** The connection is gone: it has nothing left to handle. */
  closed(alias: string): void {
    const had = this.#handled.delete(alias) || this.#forwarded.has(alias);
    this.#forwarded.delete(alias);
    this.#retainedDue.delete(alias);
    if (had) this.#onChange();
  }

  /** Whether every taking-part connection has handled all that was forwarded to it. */
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
}
