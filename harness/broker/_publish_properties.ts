/**
 * MQTT 5 PUBLISH properties (and who published a message, with RETAIN or not) carried past aedes, which speaks 3.1.1 and has nowhere to keep them on the wire.
 *
 * Inbound: the MQTT 5 bridge notes the properties of each PUBLISH it translates, in order, against the stream aedes
 * reads ({@linkcode publishSent}); aedes parses those packets in the same order and calls `authorizePublish` for each
 * synchronously, where the broker's rule takes the oldest note ({@linkcode publishReceived}) and files the properties
 * under the packet's payload buffer. aedes hands that same buffer object along to every copy of the message (live
 * deliveries, offline queues, the retained store, retries) and `mqtt-packet` writes it to the subscriber's stream as a
 * chunk of its own, the last of its PUBLISH; so a subscriber's bridge finds the properties by the chunk it is given
 * ({@linkcode publishMeta}). Both tables are bounded: the notes per connection by a count, the payload table by
 * garbage collection (a `WeakMap`: an entry lives exactly as long as aedes holds the message).
 *
 * A will's properties come with the CONNECT, not with a PUBLISH: the bridge files them under the will packet that
 * will be published ({@linkcode willProperties}), and `authorizePublish` of that packet files them under its payload.
 *
 * @module
 */

import type { PublishProperties } from "./mqtt5_adapter.ts";

/** What the broker keeps about one message from an MQTT 5 publisher. */
export interface PublishMeta {
  /** Properties as the publisher sent them (no topic alias or subscription identifier). */
  properties: PublishProperties;
  /** When the broker received the message, in milliseconds since the epoch: the expiry interval counts from here. */
  receivedAt: number;
  /** The stream aedes read it from (for no local). */
  publisher: object;
  /** Whether it was published with RETAIN set (for retain as published). */
  retain: boolean;
}

/** Notes kept per connection before aedes reads their PUBLISH; far above any read-ahead aedes does. */
const _MAX_NOTES = 4096;

interface _Note {
  topic: string;
  properties: PublishProperties;
}

/** The broker-side stream of an MQTT 5 connection (aedes's `client.conn`) → notes not yet taken, oldest first. */
const _notes = new WeakMap<object, _Note[]>();
/** A message's payload buffer → what its publisher sent with it. */
const _byPayload = new WeakMap<object, PublishMeta>();
/** A will packet, as it will be published → its properties. */
const _wills = new WeakMap<object, PublishProperties>();

/** The will packet `will` (the object aedes or the delayed wills will publish) carries `properties`. */
export function willProperties(
  will: object,
  properties: PublishProperties | null,
): void {
  const carried = _carried(properties);
  if (Object.keys(carried).length > 0) _wills.set(will, carried);
}

/** The bridge translated a PUBLISH for `conn` (the stream aedes reads): note its properties (null: none). */
export function publishSent(
  conn: object,
  topic: string,
  properties: PublishProperties | null,
): void {
  let notes = _notes.get(conn);
  if (notes === undefined) _notes.set(conn, notes = []);
  notes.push({ topic, properties: _carried(properties) });
  if (notes.length > _MAX_NOTES) notes.shift();
}

/**
 * aedes is authorizing a PUBLISH read from `conn`: take its note and file the properties under its payload. A note
 * for another topic is stale (its packet never reached `authorizePublish`) and is dropped.
 */
export function publishReceived(
  conn: object | null | undefined,
  packet: { topic: string; payload: unknown; retain?: boolean },
  now: number,
): void {
  const will = _wills.get(packet);
  if (will !== undefined) {
    // A will is no PUBLISH of the connection's: no note of its own.
    if (typeof packet.payload === "object" && packet.payload !== null) {
      _byPayload.set(packet.payload, {
        properties: will,
        receivedAt: now,
        publisher: conn ?? packet,
        retain: packet.retain ?? false,
      });
    }
    return;
  }
  const notes = conn ? _notes.get(conn) : undefined;
  if (notes === undefined) return;
  let note = notes.shift();
  while (note !== undefined && note.topic !== packet.topic) {
    note = notes.shift();
  }
  if (note !== undefined && typeof packet.payload === "object") {
    _byPayload.set(packet.payload as object, {
      properties: note.properties,
      receivedAt: now,
      publisher: conn!,
      retain: packet.retain ?? false,
    });
  }
}

/** What the publisher of the message whose payload is `payload` sent with it, if it was an MQTT 5 client. */
export function publishMeta(payload: unknown): PublishMeta | undefined {
  return typeof payload === "object" && payload !== null
    ? _byPayload.get(payload)
    : undefined;
}

/**
 * The properties to send on with the message at `now`: the expiry interval lowered by the whole seconds it waited
 * [MQTT-3.3.2-6]; null once it has expired.
 */
export function propertiesAt(
  meta: PublishMeta,
  now: number,
): PublishProperties | null {
  const interval = meta.properties.messageExpiryInterval;
  if (interval === undefined) return meta.properties;
  const waited = Math.max(0, now - meta.receivedAt);
  if (waited >= interval * 1000) return null;
  return {
    ...meta.properties,
    messageExpiryInterval: interval - Math.floor(waited / 1000),
  };
}

/** Whether the message whose payload is `payload` has passed its expiry interval at `now`. */
export function publishExpired(payload: unknown, now: number): boolean {
  const meta = publishMeta(payload);
  return meta !== undefined && propertiesAt(meta, now) === null;
}

/** The properties a subscriber may get: a topic alias belongs to one connection, subscription ids to the broker. */
function _carried(properties: PublishProperties | null): PublishProperties {
  if (!properties) return {};
  const { topicAlias: _a, subscriptionIdentifier: _s, ...rest } = properties;
  return rest;
}
