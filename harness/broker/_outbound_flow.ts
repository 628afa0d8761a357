/**
 * The way from the broker to an MQTT 5 client, for {@linkcode Mqtt5Adapter}: the client's Receive Maximum (QoS 1 and
 * 2 PUBLISHes beyond it wait, in order, for an acknowledgement; past `maxWaiting` they are refused) and topic aliases
 * for a client that takes them (Topic Alias Maximum in its CONNECT), chosen as each packet goes out.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import type { IPublishPacket } from "mqtt-packet";
import { generatePacket } from "./_mqtt5_codec.ts";

/** What the client's CONNECT set, and how many PUBLISHes may wait. */
export interface OutboundFlowOptions {
  /** QoS 1 and 2 PUBLISHes the client takes unacknowledged (65535 when it sets none). */
  receiveMaximum: number;
  /** Topic aliases the client takes from the server (0: none). */
  topicAliasMaximum: number;
  /** Largest packet the client takes, in bytes. */
  maximumPacketSize: number;
  /** QoS 1 and 2 PUBLISHes that may wait for room under the Receive Maximum. */
  maxWaiting: number;
}

const defaults = {
  receiveMaximum: 65_535,
  topicAliasMaximum: 0,
  maximumPacketSize: Infinity,
  maxWaiting: 1000,
} satisfies OutboundFlowOptions;

/** Receive Maximum and topic aliases on one MQTT 5 connection, server to client. */
export class OutboundFlow {
  readonly #options: OutboundFlowOptions;
  /** QoS 1 and 2 PUBLISHes sent to the client and not yet acknowledged (PUBACK, PUBCOMP), by packet id. */
  readonly #inflight = new Set<number>();
  /** QoS 1 and 2 PUBLISHes waiting for room under the client's Receive Maximum, oldest first. */
  readonly #waiting: { packet: IPublishPacket; bytes: Buffer }[] = [];
  /** Topic → the alias set for it on the client's connection. */
  readonly #clientAliases = new Map<string, number>();

  constructor(options: Partial<OutboundFlowOptions> = {}) {
    this.#options = { ...defaults, ...options };
  }

  /**
   * Sends a PUBLISH, or holds a QoS 1 or 2 one back while the client has its Receive Maximum of them unacknowledged
   * (3.3.4): the rest wait in order. A resend (same packet id) takes no new room. False when the PUBLISH can neither
   * go nor wait (the queue is full).
   */
  send(packet: IPublishPacket, bytes: Buffer, toClient: Buffer[]): boolean {
    const messageId = packet.messageId!;
    if (
      packet.qos > 0 && !this.#inflight.has(messageId) &&
      (this.#waiting.length > 0 ||
        this.#inflight.size >= this.#options.receiveMaximum)
    ) {
      if (this.#waiting.length >= this.#options.maxWaiting) return false;
      this.#waiting.push({ packet, bytes });
      return true;
    }
    if (packet.qos > 0) this.#inflight.add(messageId);
    toClient.push(this.#aliased(packet, bytes));
    return true;
  }

  /**
   * The bytes of `packet` as they go out now (`bytes`: with its topic), with a topic alias when the client takes
   * them: the first PUBLISH to a topic sets one while there is room, later ones send it instead of the topic (3.3.2.3.4).
   * Chosen at the moment of sending, so that an alias is always set before a packet uses it, whatever waited.
   */
  #aliased(packet: IPublishPacket, bytes: Buffer): Buffer {
    if (this.#options.topicAliasMaximum === 0) return bytes;
    let alias = this.#clientAliases.get(packet.topic);
    const known = alias !== undefined;
    if (alias === undefined) {
      if (this.#clientAliases.size >= this.#options.topicAliasMaximum) {
        return bytes;
      }
      alias = this.#clientAliases.size + 1;
    }
    const aliased = generatePacket({
      ...packet,
      topic: known ? "" : packet.topic,
      properties: { ...packet.properties, topicAlias: alias },
    }, 5);
    // Setting an alias costs three bytes: not worth a packet the client would refuse.
    if (aliased.length > this.#options.maximumPacketSize) return bytes;
    if (!known) this.#clientAliases.set(packet.topic, alias);
    return aliased;
  }

  /** The client acknowledged `messageId` for good: room for the next waiting PUBLISH. */
  acknowledged(messageId: number, toClient: Buffer[]): void {
    if (!this.#inflight.delete(messageId)) return;
    while (
      this.#waiting.length > 0 &&
      this.#inflight.size < this.#options.receiveMaximum
    ) {
      const next = this.#waiting.shift()!;
      this.#inflight.add(next.packet.messageId!);
      toClient.push(this.#aliased(next.packet, next.bytes));
    }
  }
}
