/**
 * Shared subscriptions, `$share/{group}/{filter}` (MQTT 5 §4.8.2, also offered to MQTT 3.1.1 clients as mosquitto
 * does), which aedes 1.2 treats as an ordinary filter.
 *
 * aedes keeps the subscription under its full name, `$share/g/t`: in the client's table, in a persistent session, in
 * its `subscribe`/`unsubscribe` events, so that UNSUBSCRIBE `$share/g/t` and a resumed session work unchanged, and so
 * that its retained-message lookup on subscribe (by that name) finds nothing, as the rule asks. Three points change:
 *
 * - the access rules judge the filter `t`, and a share name that is empty or holds `+`/`#` is refused (QoS 128);
 * - `aedes.subscribe`/`unsubscribe` put the delivery function under `t` in the topic tree, so messages to `t` reach it;
 * - `authorizeForward` lets a message through to a client whose only matching subscriptions are shared just when it is
 *   the member its shared subscription chose for that message: once per message per shared subscription (group and
 *   filter together identify one, MQTT 5 §4.8.2), round robin over its members that are connected. A client with an ordinary subscription matching too gets its copy either way (aedes sends a
 *   client one copy of a message however many of its subscriptions match).
 *
 * Memory: members leave at disconnect and at UNSUBSCRIBE; the choices are filed under
 * the message's payload buffer in a `WeakMap`, as `_publish_properties.ts` does.
 *
 * @module
 */

import type { Aedes, Client, Subscription } from "aedes";
import { topicMatches } from "./bus.ts";

/** A shared subscription's parts. */
export interface ShareName {
  group: string;
  filter: string;
}

/**
 * The group and filter of `topic` when it is a shared subscription (`$share/g/t`); null when it starts `$share/` but
 * is not a valid one (empty group or filter, or `+`/`#` in the group); undefined for any other filter.
 */
export function parseShare(topic: string): ShareName | null | undefined {
  if (!topic.startsWith("$share/")) return undefined;
  const rest = topic.slice("$share/".length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  if (/[+#]/.test(group) || filter === "") return null;
  return { group, filter };
}

type _AuthorizeSubscribe = Aedes["authorizeSubscribe"];
type _Packet = Parameters<Aedes["authorizeForward"]>[1];
type _Deliver = (packet: _Packet, callback: () => void) => void;

interface _ClientInternals {
  closed?: boolean;
  subscriptions: Record<string, unknown>;
}

/** One shared subscription (a group and a filter): its members in the order they joined, where round robin goes next. */
interface _Group {
  members: Set<Client>;
  next: number;
}

/** Which member each shared subscription chose for one message. */
interface _Choices {
  counter: unknown;
  chosen: Map<string, Client | null>;
}

/** Messages whose payload is not a buffer (in-process publishes of a string) are remembered this many at a time. */
const _MAX_UNKEYED = 1024;

/** The shared subscriptions of one aedes instance. */
export class SharedSubscriptions {
  /** `$share/g/t` → its members: MQTT 5 identifies a shared subscription by its group and filter together. */
  readonly #groups = new Map<string, _Group>();
  /** Client → the shared subscriptions it joined: most clients join none and are let through at once. */
  readonly #joined = new WeakMap<Client, Set<string>>();
  readonly #byPayload = new WeakMap<object, _Choices>();
  readonly #unkeyed = new Map<string, _Choices>();
  /** Delivery functions aedes gave for a `$share` filter → the one in the topic tree. */
  readonly #routed = new WeakMap<_Deliver, _Deliver>();

  /** Routes `$share` subscriptions of `aedes` by their filter and forgets members that disconnect. */
  constructor(aedes: Aedes) {
    const subscribe = aedes.subscribe.bind(aedes);
    const unsubscribe = aedes.unsubscribe.bind(aedes);
    const internal = aedes as unknown as {
      subscribe(topic: string, func: _Deliver, done: () => void): void;
      unsubscribe(topic: string, func: _Deliver, done?: () => void): void;
    };
    internal.subscribe = (topic, func, done) => {
      const share = parseShare(topic);
      if (!share) return subscribe(topic, func as never, done);
      subscribe(share.filter, this.#route(share.filter, func) as never, done);
    };
    internal.unsubscribe = (topic, func, done) => {
      const share = parseShare(topic);
      const routed = share ? this.#routed.get(func) : undefined;
      if (!share || routed === undefined) {
        return unsubscribe(topic, func as never, done as never);
      }
      this.#routed.delete(func);
      unsubscribe(share.filter, routed as never, done as never);
    };
    aedes.on("clientDisconnect", (client) => this.#leaveAll(client));
    aedes.on("unsubscribe", (filters, client) => {
      for (const filter of filters) this.#leave(client, filter);
    });
  }

  /**
   * `authorizeSubscribe` around `inner`: a shared subscription is judged by its filter and, when allowed, kept under
   * its full name with the client joining the group.
   */
  authorizeSubscribe(inner: _AuthorizeSubscribe): _AuthorizeSubscribe {
    return (client, subscription, callback) => {
      const share = parseShare(subscription.topic);
      if (share === undefined) return inner(client, subscription, callback);
      if (share === null) return callback(null, null);
      const bare = { ...subscription, topic: share.filter } as Subscription;
      inner(client, bare, (error, result) => {
        if (error || !result) return callback(error, result);
        if (client) this.#join(client, subscription.topic);
        callback(null, { ...result, topic: subscription.topic });
      });
    };
  }

  /** Whether `packet` may go to `client` as far as shared subscriptions go. */
  forward(client: Client, packet: _Packet): boolean {
    if (!this.#joined.has(client)) return true;
    const subscriptions = (client as unknown as _ClientInternals).subscriptions;
    /** The client's shared subscriptions (full names) matching the topic. */
    const shares: string[] = [];
    for (const [filter, subscription] of Object.entries(subscriptions)) {
      if (subscription === undefined) continue;
      const share = parseShare(filter);
      if (share === undefined) {
        if (topicMatches(filter, packet.topic)) return true;
      } else if (share && topicMatches(share.filter, packet.topic)) {
        shares.push(filter);
      }
    }
    // No shared subscription matches (a retained or queued message): not ours to judge.
    if (shares.length === 0) return true;
    const choices = this.#choicesFor(packet);
    return shares.some((share) => {
      let chosen = choices.chosen.get(share);
      if (chosen === undefined) {
        chosen = this.#choose(share);
        choices.chosen.set(share, chosen);
      }
      return chosen === client;
    });
  }

  /** How many clients share `$share/g/t` (for tests). */
  members(share: string): number {
    return this.#groups.get(share)?.members.size ?? 0;
  }

  /** A function for the topic tree that calls `func`, keeping `$` topics from a filter that starts with a wildcard. */
  #route(filter: string, func: _Deliver): _Deliver {
    // aedes does this itself for ordinary filters [MQTT-4.7.2-1]; it sees this one's full name, which starts with "$".
    const routed: _Deliver = filter.startsWith("+") || filter.startsWith("#")
      ? (packet, callback) =>
        packet.topic.startsWith("$") ? callback() : func(packet, callback)
      : func;
    this.#routed.set(func, routed);
    return routed;
  }

  #join(client: Client, share: string): void {
    let entry = this.#groups.get(share);
    if (entry === undefined) {
      this.#groups.set(share, entry = { members: new Set(), next: 0 });
    }
    entry.members.add(client);
    let joined = this.#joined.get(client);
    if (joined === undefined) this.#joined.set(client, joined = new Set());
    joined.add(share);
  }

  #leave(client: Client, share: string): void {
    const joined = this.#joined.get(client);
    joined?.delete(share);
    if (joined?.size === 0) this.#joined.delete(client);
    const entry = this.#groups.get(share);
    if (entry === undefined) return;
    entry.members.delete(client);
    if (entry.members.size === 0) this.#groups.delete(share);
  }

  #leaveAll(client: Client): void {
    for (const share of [...this.#joined.get(client) ?? []]) {
      this.#leave(client, share);
    }
  }

  /** The next connected member of the shared subscription `share` (that has it by now), round robin; null when none. */
  #choose(share: string): Client | null {
    const entry = this.#groups.get(share);
    if (entry === undefined) return null;
    const candidates: Client[] = [];
    for (const member of entry.members) {
      const internals = member as unknown as _ClientInternals;
      if (internals.closed) this.#leave(member, share);
      else if (internals.subscriptions[share] !== undefined) {
        candidates.push(member);
      }
    }
    if (candidates.length === 0) return null;
    const chosen = candidates[entry.next % candidates.length]!;
    entry.next = (entry.next + 1) % candidates.length;
    return chosen;
  }

  /** The choices made for the message `packet` carries (one entry for all its copies). */
  #choicesFor(packet: _Packet): _Choices {
    const counter = (packet as { brokerCounter?: unknown }).brokerCounter;
    const payload = packet.payload as unknown;
    if (typeof payload === "object" && payload !== null) {
      let choices = this.#byPayload.get(payload);
      // The same buffer published again is another message.
      if (choices === undefined || choices.counter !== counter) {
        this.#byPayload.set(payload, choices = { counter, chosen: new Map() });
      }
      return choices;
    }
    const key = `${(packet as { brokerId?: unknown }).brokerId} ${counter}`;
    let choices = this.#unkeyed.get(key);
    if (choices === undefined) {
      this.#unkeyed.set(key, choices = { counter, chosen: new Map() });
      if (this.#unkeyed.size > _MAX_UNKEYED) {
        this.#unkeyed.delete(this.#unkeyed.keys().next().value!);
      }
    }
    return choices;
  }
}
