/**
 * MQTT rules aedes 1.2 does not keep by itself, kept by wrapping its hooks:
 *
 * - a message goes to a subscriber at the lower of its publish QoS and the subscription's granted QoS
 *   [MQTT-3.8.4-6] (aedes looks the granted QoS up by exact topic only, so a QoS 2 publish reached a QoS 1 wildcard
 *   subscription at QoS 2). With several matching subscriptions the client gets one copy at the highest QoS they
 *   grant [MQTT-3.3.5-1], unless one of them is to the exact topic and grants less: aedes then lowers it to that
 *   one's (never above the highest either way; mosquitto 2.0 sends MQTT 3.1.1 clients one copy at the QoS of the
 *   first subscription in its tree, MQTT 5 clients one copy per subscription);
 * - an MQTT 3.1.1 client with an empty client id must ask for a clean session: otherwise it gets CONNACK 2,
 *   "identifier rejected" [MQTT-3.1.3-8] (aedes made up an id and kept a session nobody could resume);
 * - the properties of a PUBLISH from an MQTT 5 client are kept for its subscribers (see `_publish_properties.ts`), and
 *   a message past its expiry interval is not forwarded [MQTT-3.3.2-5];
 * - shared subscriptions, `$share/g/t` (see `_shared_subscriptions.ts`);
 * - a message the broker's session bounds left out of a full queue is not sent either
 *   ({@linkcode MqttRulesOptions.forward});
 * - an MQTT 5 client's QoS 1 or 2 PUBLISH that the access rules refuse gets PUBACK/PUBREC 0x87 not authorized, and a
 *   QoS 1 one that matches no subscription PUBACK 0x10 no matching subscribers, as mosquitto 2.0 answers (see
 *   `_publish_acks.ts`). The access rules (`acl.ts`, the lockstep harness) refuse a publish by sending it on to
 *   `$fishtank/refused`, where nobody else may read, and that stays so: only the reason code is new.
 *
 * The hooks (`preConnect`, `authenticate`, `authorizePublish`, `authorizeSubscribe`, `authorizeForward`) become accessors: whatever the broker's users set
 * later (the lockstep harness, the live ACL) is kept and called inside the rule, so that a rule cannot be replaced by
 * accident and those hooks see the packet as it will be sent.
 *
 * @module
 */

import type { Aedes, AuthenticateError, Client } from "aedes";
import { topicMatches } from "./bus.ts";
import { publishExpired, publishReceived } from "./_publish_properties.ts";
import { SharedSubscriptions } from "./_shared_subscriptions.ts";
import {
  NO_MATCHING_SUBSCRIBERS,
  NOT_AUTHORIZED,
  noteAckReason,
  wantsAckReasons,
} from "./_publish_acks.ts";

/** Where the access rules (`acl.ts`, the lockstep harness) send a publish they refuse. */
const _REFUSED_TOPIC = "$fishtank/refused";

type _Hooks = Pick<
  Aedes,
  | "preConnect"
  | "authenticate"
  | "authorizePublish"
  | "authorizeSubscribe"
  | "authorizeForward"
>;
type _Packet = Parameters<Aedes["authorizeForward"]>[1];

/** What aedes keeps on a client, beyond its typings: its subscriptions and the functions that deliver to it. */
interface _ClientInternals {
  subscriptions: Record<string, { qos: number } | undefined>;
  deliver0: (packet: _Packet, callback: () => void) => void;
  deliverQoS: (packet: _Packet, callback: () => void) => void;
}

/**
 * The highest QoS granted to `client` by a subscription matching `topic`, or -1 when none does. A shared
 * subscription (`$share/group/filter`) matches by its filter.
 */
export function grantedQos(
  subscriptions: Record<string, { qos: number } | undefined>,
  topic: string,
): number {
  let granted = -1;
  for (const [filter, subscription] of Object.entries(subscriptions)) {
    if (subscription === undefined) continue;
    const bare = filter.startsWith("$share/")
      ? filter.split("/").slice(2).join("/")
      : filter;
    if (topicMatches(bare, topic)) {
      granted = Math.max(granted, subscription.qos ?? 0);
    }
  }
  return granted;
}

/** Options for {@linkcode installMqttRules}. */
export interface MqttRulesOptions {
  /** Whether a message may go to `client` at all (the broker's session bounds drop past a full queue). */
  forward?: (client: Client, packet: _Packet) => boolean;
}

/** Installs the rules on `aedes`; call once, before the broker takes connections. */
export function installMqttRules(
  aedes: Aedes,
  options: MqttRulesOptions = {},
): void {
  /** Clients whose CONNECT had an empty id and no clean session. */
  const emptyPersistentId = new WeakSet<Client>();

  _compose(aedes, "preConnect", (inner) => (client, packet, callback) => {
    if (packet.clientId === "" && packet.clean === false) {
      emptyPersistentId.add(client);
    }
    _deliverAtGrantedQos(client);
    inner(client, packet, callback);
  });

  _compose(
    aedes,
    "authenticate",
    (inner) => (client, username, password, callback) => {
      if (emptyPersistentId.has(client)) {
        const error = Object.assign(
          new Error(
            "identifier rejected: a client with an empty client id must ask for a clean session [MQTT-3.1.3-8]",
          ),
          { returnCode: 2 as const },
        );
        return callback(error as AuthenticateError, false);
      }
      inner(client, username, password, callback);
    },
  );

  /** MQTT 5 connection → the last of its publishes still being judged: the next one waits for it, to keep order. */
  const judging = new WeakMap<object, Promise<void>>();
  _compose(aedes, "authorizePublish", (inner) => (client, packet, callback) => {
    // Synchronous, in the order aedes read the packets, as the notes were taken.
    publishReceived(client?.conn, packet, Date.now());
    const conn = client?.conn;
    if (
      !wantsAckReasons(conn) || packet.qos === 0 ||
      packet === (client as { will?: unknown } | null)?.will
    ) {
      return inner(client, packet, callback);
    }
    const { topic, messageId } = packet;
    inner(client, packet, (error) => {
      if (error) return callback(error);
      if (packet.topic === _REFUSED_TOPIC && topic !== _REFUSED_TOPIC) {
        noteAckReason(conn!, messageId!, NOT_AUTHORIZED);
      }
      // Only a QoS 1 PUBACK says so: mosquitto routes a QoS 2 message at PUBREL, after its PUBREC.
      const live = packet.qos !== 1 || packet.topic === _REFUSED_TOPIC ||
        _hasLiveSubscribers(aedes, packet.topic);
      const before = judging.get(conn!);
      if (live && before === undefined) return callback(null);
      const judged = (before ?? Promise.resolve()).then(async () => {
        if (!live && !(await _hasStoredSubscribers(aedes, packet.topic))) {
          noteAckReason(conn!, messageId!, NO_MATCHING_SUBSCRIBERS);
        }
      }).catch(() => {}).then(() => {
        if (judging.get(conn!) === judged) judging.delete(conn!);
        callback(null);
      });
      judging.set(conn!, judged);
      // What the callback throws is aedes's to report; the next publish must not wait on it.
      judged.catch(() => {});
    });
  });

  const shared = new SharedSubscriptions(aedes);
  _compose(
    aedes,
    "authorizeSubscribe",
    (inner) => shared.authorizeSubscribe(inner),
  );

  _compose(aedes, "authorizeForward", (inner) => (client, packet) => {
    // First: it forgets the message as it answers, which it must do for every one it was asked to hold back.
    if (client && options.forward && !options.forward(client, packet)) {
      return null;
    }
    if (publishExpired(packet.payload, Date.now())) return null;
    if (client && !shared.forward(client, packet)) return null;
    if (!client || packet.qos === 0) return inner(client, packet);
    const subscriptions = (client as unknown as _ClientInternals).subscriptions;
    const granted = grantedQos(subscriptions, packet.topic);
    if (granted < 0 || granted >= packet.qos) return inner(client, packet);
    // A copy: aedes hands the same packet to every subscriber.
    const copy = Object.assign(
      Object.create(Object.getPrototypeOf(packet)),
      packet,
      { qos: granted },
    ) as _Packet;
    return inner(client, copy);
  });
}

/** Whether a connected client (or the broker's own bus) has a subscription matching `topic`: aedes's topic tree. */
function _hasLiveSubscribers(aedes: Aedes, topic: string): boolean {
  const mq = (aedes as unknown as {
    mq: { _matcher?: { match(topic: string): unknown[] } };
  }).mq;
  // Unknown internals: say yes, so that no PUBACK claims "no subscribers" by mistake.
  return mq._matcher?.match(topic).length !== 0;
}

/** Whether an offline persistent session has a subscription matching `topic`. */
async function _hasStoredSubscribers(
  aedes: Aedes,
  topic: string,
): Promise<boolean> {
  const { persistence } = aedes as unknown as {
    persistence: { subscriptionsByTopic(topic: string): Promise<unknown[]> };
  };
  return (await persistence.subscriptionsByTopic(topic)).length > 0;
}

/**
 * aedes picks a client's delivery function when it subscribes: `deliver0`, always QoS 0, for a QoS 0 subscription.
 * A message matching that and a QoS 1 or 2 wildcard subscription of the same client went out once, by whichever aedes
 * ran first, so at QoS 0 or 1 by chance; here `deliver0` hands a message that another subscription grants QoS 1 or 2
 * to `deliverQoS`, which sends it at the QoS `authorizeForward` sets.
 */
function _deliverAtGrantedQos(client: Client): void {
  const internals = client as unknown as _ClientInternals;
  const deliver0 = internals.deliver0;
  internals.deliver0 = (packet, callback) => {
    if (
      packet.qos > 0 && grantedQos(internals.subscriptions, packet.topic) > 0
    ) {
      // deliverQoS calls client.deliver0 (this) only for a QoS 0 packet, which goes straight on below.
      return internals.deliverQoS(packet, callback);
    }
    deliver0(packet, callback);
  };
}

/**
 * Turns `aedes[name]` into an accessor: setting it stores the hook, reading it gives `rule(hook)`, the rule wrapped
 * around the latest hook set.
 */
function _compose<K extends keyof _Hooks>(
  aedes: Aedes,
  name: K,
  rule: (inner: _Hooks[K]) => _Hooks[K],
): void {
  let inner: _Hooks[K] = aedes[name];
  let composed = rule(inner);
  Object.defineProperty(aedes, name, {
    configurable: true,
    enumerable: true,
    get: () => composed,
    set: (hook: _Hooks[K]) => {
      inner = hook;
      composed = rule(hook);
    },
  });
}
