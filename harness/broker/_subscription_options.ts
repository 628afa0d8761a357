/**
 * MQTT 5 subscription options (no local, retain as published, retain handling) and subscription identifiers, which a
 * 3.1.1 SUBSCRIBE cannot carry to aedes. {@linkcode SubscriptionTable} keeps them for one MQTT 5 connection, beside
 * aedes's own subscriptions; {@linkcode SessionSubscriptions} keeps a table per client id while the session lives, so
 * that a session resumed with clean start 0 gets its subscriptions back with their options and identifiers (aedes
 * restores them with 3.1.1 defaults). A session's table is dropped when the session ends: at the end of a connection
 * whose session expiry is 0, or when the broker's session bounds end it (clean start elsewhere, expiry, too many
 * offline sessions), so there are never more tables than connections plus offline sessions.
 *
 * @module
 */

import { topicMatches } from "./bus.ts";
import { parseShare } from "./_shared_subscriptions.ts";

/** MQTT 5 options of one subscription, which 3.1.1 cannot send to the broker. */
export interface SubscriptionOptions {
  noLocal: boolean;
  retainAsPublished: boolean;
  /** Whether retained messages go out for the SUBSCRIBE that made or replaced it (retain handling 0, or 1 if new). */
  sendRetained: boolean;
  /** The subscription identifier its SUBSCRIBE carried, if any. */
  identifier?: number;
  /** The filter messages are matched against (`t` for the shared subscription `$share/g/t`). */
  matches: string;
}

/** One subscription of an MQTT 5 SUBSCRIBE, as `mqtt-packet` reads it. */
export interface SubscribeRequest {
  topic: string;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
}

/** Topic filter → the MQTT 5 options of its subscription, for one connection. */
export class SubscriptionTable {
  readonly #byFilter = new Map<string, SubscriptionOptions>();

  /** Records the subscriptions of one SUBSCRIBE, replacing those to the same filters (3.8.4). */
  subscribe(requests: readonly SubscribeRequest[], identifier?: number): void {
    for (const { topic, nl, rap, rh } of requests) {
      const isNew = !this.#byFilter.has(topic);
      const share = parseShare(topic);
      this.#byFilter.set(topic, {
        noLocal: nl ?? false,
        retainAsPublished: rap ?? false,
        sendRetained: (rh ?? 0) === 0 || (rh === 1 && isNew),
        ...(identifier !== undefined ? { identifier } : {}),
        matches: share ? share.filter : topic,
      });
    }
  }

  /** Forgets a subscription (UNSUBSCRIBE, or a filter the broker refused). */
  delete(filter: string): void {
    this.#byFilter.delete(filter);
  }

  /** The options of every subscription whose filter matches `topic`. */
  matching(topic: string): SubscriptionOptions[] {
    return [...this.#byFilter.values()].filter((o) =>
      topicMatches(o.matches, topic)
    );
  }

  /** Takes over `other`'s subscriptions to the filters `keep` accepts (a resumed session's, as the broker has them). */
  restore(other: SubscriptionTable, keep: (filter: string) => boolean): void {
    for (const [filter, options] of other.#byFilter) {
      if (keep(filter)) this.#byFilter.set(filter, { ...options });
    }
  }

  /** How many subscriptions it holds. */
  get size(): number {
    return this.#byFilter.size;
  }
}

/** One session's table and the connection that has it now. */
interface _Session {
  owner: object;
  table: SubscriptionTable;
}

const _byBroker = new WeakMap<object, SessionSubscriptions>();

/** The subscription tables of one broker's sessions, by client id. */
export class SessionSubscriptions {
  readonly #sessions = new Map<string, _Session>();

  private constructor() {}

  /** The tables of `broker` (the aedes instance), made on first use. */
  static of(broker: object): SessionSubscriptions {
    let sessions = _byBroker.get(broker);
    if (sessions === undefined) {
      _byBroker.set(broker, sessions = new SessionSubscriptions());
    }
    return sessions;
  }

  /**
   * The connection `owner` was accepted for `clientId` and keeps its subscriptions' options in `table` from now on.
   * When the broker resumed the session (`sessionPresent`), `table` first gets the options of the session's
   * subscriptions that the broker restored (`restored` says which filters it did).
   */
  connected(
    clientId: string,
    owner: object,
    table: SubscriptionTable,
    session: { present: boolean; restored: (filter: string) => boolean },
  ): void {
    const previous = this.#sessions.get(clientId);
    if (session.present && previous !== undefined) {
      table.restore(previous.table, session.restored);
    }
    this.#sessions.set(clientId, { owner, table });
  }

  /** The connection `owner` ended; `sessionEnds` when its session ends with it (session expiry 0). */
  disconnected(clientId: string, owner: object, sessionEnds: boolean): void {
    // A connection taken over by a newer one with the same client id no longer speaks for the session.
    if (sessionEnds && this.#sessions.get(clientId)?.owner === owner) {
      this.#sessions.delete(clientId);
    }
  }

  /** The session of `clientId` ended (clean start, expiry, too many offline sessions): its options go with it. */
  ended(clientId: string): void {
    this.#sessions.delete(clientId);
  }

  /** Whether the options of `clientId`'s session are kept. */
  has(clientId: string): boolean {
    return this.#sessions.has(clientId);
  }

  /** How many sessions' tables are kept (one per MQTT 5 connection and per offline session). */
  get size(): number {
    return this.#sessions.size;
  }
}
