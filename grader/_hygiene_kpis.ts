/**
 * Protocol hygiene: what the controller published where it should not, what the tank refused, and how promptly the
 * controller answered.
 *
 * @module
 */

import type { RunMeta } from "../store/mod.ts";
import { TankTopics } from "../protocol/mod.ts";
import type { HygieneKpis, TopicCount } from "./kpis.ts";

/** Topics under a tank a controller may publish on: its commands, its alarm and its acks. */
const CONTROLLER_KINDS: ReadonlySet<string> = new Set([
  "control",
  "control_all",
  "alarm",
  "ack",
]);

/** Whether a record's client is (one of the connections of) the controller rather than the harness or broker. */
export function isControllerClient(client: string): boolean {
  return !client.startsWith("$");
}

/** Counts records per topic, most frequent first (then by topic), keeping the first note seen for each. */
export class TopicCounter {
  readonly #counts = new Map<string, { count: number; note?: string }>();

  /** Counts one record on `topic`. */
  add(topic: string, note?: string): void {
    const entry = this.#counts.get(topic);
    if (entry === undefined) {
      this.#counts.set(
        topic,
        note === undefined ? { count: 1 } : {
          count: 1,
          note,
        },
      );
    } else entry.count++;
  }

  /** The total over all topics. */
  get total(): number {
    let total = 0;
    for (const { count } of this.#counts.values()) total += count;
    return total;
  }

  /** Per topic, most frequent first. */
  list(): TopicCount[] {
    return [...this.#counts.entries()]
      .map(([topic, { count, note }]) =>
        note === undefined ? { topic, count } : { topic, count, note }
      )
      .sort((a, b) =>
        b.count - a.count ||
        (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)
      );
  }
}

/** Sorts the controller's publishes into those the contract allows and stray ones, per the run's topic layout. */
export class TopicRules {
  readonly #topics: TankTopics | undefined;
  readonly #base: string;

  constructor(meta: Pick<RunMeta, "root" | "tank">) {
    this.#base = `${meta.root}/${meta.tank}`;
    try {
      this.#topics = new TankTopics(meta.root, meta.tank);
    } catch {
      // A meta with an odd root or tank: only exact alarm topics can be recognised then.
      this.#topics = undefined;
    }
  }

  /** The tank's alarm topic. */
  get alarm(): string {
    return `${this.#base}/alarm`;
  }

  /** Whether a controller may publish on `topic` (its tank's control topics, alarm and ack). */
  allowed(topic: string): boolean {
    const kind = this.#topics?.parse(topic)?.kind;
    return kind !== undefined && CONTROLLER_KINDS.has(kind);
  }
}

/** The hygiene KPIs from the counts gathered while reading the records, and the run's stats. */
export function hygieneKpis(
  meta: RunMeta,
  counts: {
    rejected: TopicCounter;
    stray: TopicCounter;
    connected: boolean;
    commands: number;
  },
): HygieneKpis {
  const { stats } = meta;
  return {
    connected: counts.connected,
    commands: counts.commands,
    rejected: Math.max(counts.rejected.total, stats.rejected),
    rejectedTopics: counts.rejected.list(),
    strayMessages: counts.stray.total,
    strayTopics: counts.stray.list(),
    lateCommands: stats.lateCommands,
    timedOutSteps: stats.timedOutSteps,
    steps: stats.steps,
    ackMode: meta.ackMode,
    medianResponseMs: stats.medianResponseMs,
    p95ResponseMs: stats.p95ResponseMs,
  };
}
