/**
 * Translates one MQTT 5 connection to MQTT 3.1.1 and back, so that aedes (which speaks 3.1 and 3.1.1 only) can serve
 * MQTT 5 clients. Pure and synchronous: bytes in, bytes out; the stream wiring lives in `_mqtt5_bridge.ts`.
 *
 * Client → broker packets are parsed as v5 and generated as v4; broker → client packets the other way. What v4 cannot
 * carry is dropped, except PUBLISH properties: the properties of each PUBLISH from the client are listed in
 * {@linkcode Mqtt5Output.published} and those of a PUBLISH to the client can be handed to
 * {@linkcode Mqtt5Adapter.fromBroker}, for the bridge to carry beside aedes (see `_publish_properties.ts`). The
 * subscription options no local, retain as published and retain handling are kept here
 * ({@linkcode Mqtt5Adapter.subscriptions}, `_subscription_options.ts`) and applied to what the broker sends, and so
 * are subscription identifiers, which go out on each PUBLISH their subscription matches; the bridge puts them back
 * when a session resumes (aedes restores its subscriptions with 3.1.1 defaults). SUBACK reason codes say
 * why a filter was refused (0x87 not authorized; 0x8F for a malformed shared subscription); the reason code of a
 * PUBACK or PUBREC comes from the broker's rules ({@linkcode Mqtt5AdapterOptions.ackReason}). The client's Receive
 * Maximum is kept here: QoS 1 and 2 PUBLISHes beyond it wait, in order, for an acknowledgement. Reason strings are
 * dropped. Topic aliases set by the client are resolved here, and a client that takes them (Topic Alias Maximum in
 * its CONNECT) gets aliases for the topics it receives, as many as it takes (Receive Maximum and aliases to the
 * client: `_outbound_flow.ts`). Enhanced authentication (AUTH) is not
 * available, and CONNACK says so.
 *
 * Clean start goes to the broker as the 3.1.1 clean-session flag, so that clean start 0 resumes a stored session;
 * what the session expiry and the will delay ask for is left in {@linkcode Mqtt5Adapter.connect} for the bridge to
 * apply (a will to publish after a delay is taken out of the 3.1.1 CONNECT).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type {
  IConnackPacket,
  IConnectPacket,
  IPublishPacket,
  Packet,
} from "mqtt-packet";
import { withDefaults } from "../../lib/mod.ts";
import {
  generatePacket as _generate,
  packetParser as _parser,
} from "./_mqtt5_codec.ts";
import { OutboundFlow } from "./_outbound_flow.ts";
import { type Mqtt5Connect, translateConnect } from "./_mqtt5_connect.ts";

export type { Mqtt5Connect, Mqtt5Will } from "./_mqtt5_connect.ts";
import { parseShare } from "./_shared_subscriptions.ts";
import { SubscriptionTable } from "./_subscription_options.ts";

/** Options for {@linkcode Mqtt5Adapter}. */
export interface Mqtt5AdapterOptions {
  /** Highest topic alias a client may set on PUBLISH, advertised in CONNACK; 0 turns aliases off. */
  topicAliasMaximum?: number;
  /** Prefix of the client id assigned to a client that connects with an empty one. */
  assignedIdPrefix?: string;
  /**
   * The MQTT 5 reason code of the broker's PUBACK or PUBREC for the client's PUBLISH `messageId` (0x10 no matching
   * subscribers, 0x87 not authorized); undefined for 0, success. Asked once per acknowledgement.
   */
  ackReason?: (messageId: number) => number | undefined;
  /**
   * QoS 1 and 2 PUBLISHes that may wait for room under the client's Receive Maximum; more are dropped (acknowledged
   * to the broker), as mosquitto drops past its `max_queued_messages` (1000 by default).
   */
  maxWaiting?: number;
  /**
   * The broker accepted the client (CONNACK 0), with `sessionPresent` when it resumed a stored session; called before
   * any later packet from the broker is translated, so that a resumed session's subscription options can be put back
   * into {@linkcode Mqtt5Adapter.subscriptions} first.
   */
  onAccepted?: (sessionPresent: boolean) => void;
}

const defaults = {
  topicAliasMaximum: 100,
  assignedIdPrefix: "mqtt5-",
  ackReason: () => undefined,
  maxWaiting: 1000,
  onAccepted: () => {},
} satisfies Required<Mqtt5AdapterOptions>;

/**
 * What one call produced, in order: bytes for the broker (v4), bytes for the client (v5), and whether the connection
 * must close once they are flushed. `"graceful"`: the broker has been sent a DISCONNECT, so it drops the will.
 * `"abort"`: close without telling the broker, which then publishes the will, as MQTT 5 requires after a protocol
 * error or a DISCONNECT with a reason code other than 0.
 */
export interface Mqtt5Output {
  toBroker: Buffer[];
  toClient: Buffer[];
  close: "graceful" | "abort" | null;
  /** Why the adapter refused the client or closed its connection, for logs; null when all went well. */
  error: string | null;
  /** Each PUBLISH in `toBroker`, in order, with the MQTT 5 properties its 3.1.1 form lost (null: none). */
  published: { topic: string; properties: PublishProperties | null }[];
  /** The session expiry interval a DISCONNECT set, in seconds; undefined when none did. */
  sessionExpiry?: number;
}

/** PUBLISH properties, as `mqtt-packet` reads and writes them. */
export type PublishProperties = NonNullable<IPublishPacket["properties"]>;

/** What the broker knows of a PUBLISH it sends, beyond its 3.1.1 bytes (see {@linkcode Mqtt5Adapter.fromBroker}). */
export interface Mqtt5DeliveryOptions {
  /** MQTT 5 properties for the PUBLISH completed by these bytes. */
  properties?: PublishProperties;
  /** The PUBLISH completed by these bytes has expired: it is acknowledged to the broker, not sent. */
  expired?: boolean;
  /** This client published it (for no local). */
  ownMessage?: boolean;
  /** It was published with RETAIN set (for retain as published; aedes clears the flag on live messages). */
  publishedRetained?: boolean;
}

/** MQTT 3.1.1 CONNACK return codes 0..5 as MQTT 5 reason codes; aedes's own 6 (keepalive limit) → 0x80. */
const _CONNACK_REASON = [0x00, 0x84, 0x85, 0x88, 0x86, 0x87];

/** MQTT 5 reason codes used here. */
const _MALFORMED = 0x81;
const _PROTOCOL_ERROR = 0x82;
const _BAD_AUTHENTICATION_METHOD = 0x8c;
const _NOT_AUTHORIZED = 0x87;
const _TOPIC_FILTER_INVALID = 0x8f;
/** A 3.1.1 SUBACK's failure return code. */
const _SUBACK_FAILURE = 0x80;
const _TOPIC_ALIAS_INVALID = 0x94;

/** Raised inside a translation to close the connection with a v5 reason code. */
class _Refusal extends Error {
  constructor(readonly reasonCode: number, message: string) {
    super(message);
  }
}

/**
 * The translation state of one MQTT 5 connection: topic aliases set by the client, UNSUBSCRIBE topic counts (MQTT 5
 * UNSUBACK carries one reason code per topic, MQTT 3.1.1 UNSUBACK none), and the client's maximum packet size.
 *
 * @example
 * ```ts
 * const adapter = new Mqtt5Adapter();
 * const out = adapter.fromClient(v5ConnectBytes); // out.toBroker holds the v4 CONNECT
 * ```
 */
export class Mqtt5Adapter {
  /** The client id the broker sees (assigned here if the client sent none); null before CONNECT. */
  clientId: string | null = null;
  /** What the CONNECT asked of its session and will; null before CONNECT. */
  connect: Mqtt5Connect | null = null;
  /** Whether the broker accepted the client (CONNACK with return code 0). */
  accepted = false;
  readonly #options: Required<Mqtt5AdapterOptions>;
  readonly #fromClient = _parser(5);
  readonly #fromBroker = _parser(4);
  readonly #aliases = new Map<number, string>();
  readonly #unsubscribeCounts = new Map<number, number>();
  /**
   * The MQTT 5 options of the client's subscriptions: those made on this connection and, once the broker resumed a
   * session, those put back for it (see `_subscription_options.ts`).
   */
  readonly subscriptions: SubscriptionTable = new SubscriptionTable();
  /** QoS 2 messages dropped as too large for the client: their PUBREL is answered here. */
  readonly #droppedQos2 = new Set<number>();
  /** SUBSCRIBE packet id → its filters, to give each refused one its reason code in the SUBACK. */
  readonly #subscribeFilters = new Map<number, string[]>();
  /** Receive Maximum and topic aliases on the way to the client; set up by CONNECT. */
  #flow = new OutboundFlow();
  #assignedId: string | null = null;
  #maximumPacketSize = Infinity;
  #connectSeen = false;
  #connackSent = false;
  #closed = false;

  constructor(options: Mqtt5AdapterOptions = {}) {
    this.#options = withDefaults<Required<Mqtt5AdapterOptions>>(
      defaults,
      options,
    );
  }

  /** Translates bytes from the MQTT 5 client (any chunking) into MQTT 3.1.1 bytes for the broker. */
  fromClient(bytes: Uint8Array): Mqtt5Output {
    const out = _output();
    if (this.#closed) return out;
    const { packets, error } = this.#fromClient.parse(bytes);
    try {
      for (const packet of packets) {
        this.#clientPacket(packet, out);
        if (out.close) return out;
      }
      if (error) {
        throw new _Refusal(
          _MALFORMED,
          `malformed MQTT 5 packet from the client: ${error.message}`,
        );
      }
    } catch (e) {
      this.#refuse(e, out);
    }
    return out;
  }

  /**
   * Translates bytes from the broker (MQTT 3.1.1, any chunking) into MQTT 5 bytes for the client; `options` apply to
   * the last PUBLISH these bytes complete (a payload, which `mqtt-packet` writes last and on its own).
   */
  fromBroker(
    bytes: Uint8Array,
    options: Mqtt5DeliveryOptions = {},
  ): Mqtt5Output {
    const out = _output();
    if (this.#closed) return out;
    const { packets, error } = this.#fromBroker.parse(bytes);
    const last = packets.findLastIndex((p) => p.cmd === "publish");
    try {
      for (const [i, packet] of packets.entries()) {
        this.#brokerPacket(packet, out, i === last ? options : {});
      }
      if (error) {
        throw new Error(
          `malformed MQTT 3.1.1 packet from the broker: ${error.message}`,
        );
      }
    } catch (e) {
      this.#refuse(e, out);
    }
    return out;
  }

  #clientPacket(packet: Packet, out: Mqtt5Output): void {
    if (packet.cmd !== "connect" && !this.#connectSeen) {
      throw new _Refusal(
        _PROTOCOL_ERROR,
        `expected CONNECT first, got ${packet.cmd.toUpperCase()}`,
      );
    }
    switch (packet.cmd) {
      case "connect":
        return this.#connect(packet, out);
      case "publish": {
        const v4 = this.#publish(packet);
        out.published.push({
          topic: v4.topic,
          properties: packet.properties ?? null,
        });
        return void out.toBroker.push(_generate(v4, 4));
      }
      case "subscribe": {
        // nl, rap, rh and the subscription identifier have no 3.1.1 encoding: kept here and applied to what the broker
        // sends.
        const identifier = _identifier(
          packet.properties?.subscriptionIdentifier,
        );
        for (const { topic } of packet.subscriptions) {
          if (!_validFilter(topic)) {
            // As mosquitto does: aedes would close the connection without a word.
            throw new _Refusal(_MALFORMED, `invalid topic filter "${topic}"`);
          }
        }
        this.subscriptions.subscribe(packet.subscriptions, identifier);
        this.#subscribeFilters.set(
          packet.messageId!,
          packet.subscriptions.map((s) => s.topic),
        );
        const subscriptions = packet.subscriptions.map(({ topic, qos }) => ({
          topic,
          qos,
        }));
        return void out.toBroker.push(
          _generate({
            cmd: "subscribe",
            messageId: packet.messageId,
            subscriptions,
          }, 4),
        );
      }
      case "unsubscribe":
        for (const topic of packet.unsubscriptions) {
          this.subscriptions.delete(topic);
        }
        this.#unsubscribeCounts.set(
          packet.messageId!,
          packet.unsubscriptions.length,
        );
        return void out.toBroker.push(
          _generate({
            cmd: "unsubscribe",
            messageId: packet.messageId,
            unsubscriptions: packet.unsubscriptions,
          }, 4),
        );
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        out.toBroker.push(
          _generate({ cmd: packet.cmd, messageId: packet.messageId }, 4),
        );
        // A PUBREC with an error reason code ends a QoS 2 flow as PUBCOMP does (4.3.3).
        if (
          packet.cmd === "puback" || packet.cmd === "pubcomp" ||
          (packet.cmd === "pubrec" && (packet.reasonCode ?? 0) >= 0x80)
        ) {
          this.#flow.acknowledged(packet.messageId!, out.toClient);
        }
        return;
      case "pingreq":
        return void out.toBroker.push(_generate({ cmd: "pingreq" }, 4));
      case "disconnect": {
        const expiry = packet.properties?.sessionExpiryInterval;
        if (expiry !== undefined && this.connect) {
          if (this.connect.sessionExpiry === 0 && expiry !== 0) {
            throw new _Refusal(
              _PROTOCOL_ERROR,
              "DISCONNECT sets a session expiry, but CONNECT asked for none [MQTT-3.14.2-2]",
            );
          }
          this.connect.sessionExpiry = out.sessionExpiry = expiry;
        }
        this.#closed = true;
        if ((packet.reasonCode ?? 0) === 0) {
          out.toBroker.push(_generate({ cmd: "disconnect" }, 4));
          out.close = "graceful";
        } else {
          // Any other reason code, 0x04 "disconnect with will" included, asks for the will to be published.
          out.close = "abort";
        }
        return;
      }
      case "auth":
        throw new _Refusal(
          _PROTOCOL_ERROR,
          "AUTH (enhanced authentication) is not supported",
        );
      default:
        throw new _Refusal(
          _PROTOCOL_ERROR,
          `a client must not send ${packet.cmd.toUpperCase()}`,
        );
    }
  }

  #connect(packet: IConnectPacket, out: Mqtt5Output): void {
    if (this.#connectSeen) {
      throw new _Refusal(_PROTOCOL_ERROR, "second CONNECT on one connection");
    }
    this.#connectSeen = true;
    const properties = packet.properties ?? {};
    if (properties.authenticationMethod !== undefined) {
      this.#closed = true;
      out.toClient.push(
        _generate({
          cmd: "connack",
          reasonCode: _BAD_AUTHENTICATION_METHOD,
          sessionPresent: false,
        }, 5),
      );
      out.close = "abort";
      out.error =
        `enhanced authentication ("${properties.authenticationMethod}") is not supported`;
      return;
    }
    let clientId = packet.clientId;
    if (clientId === "") {
      clientId = this.#assignedId = this.#options.assignedIdPrefix +
        _randomHex(8);
    }
    this.clientId = clientId;
    this.#maximumPacketSize = properties.maximumPacketSize ?? Infinity;
    this.#flow = new OutboundFlow({
      receiveMaximum: properties.receiveMaximum ?? 65_535,
      topicAliasMaximum: properties.topicAliasMaximum ?? 0,
      maximumPacketSize: this.#maximumPacketSize,
      maxWaiting: this.#options.maxWaiting,
    });
    const { v4, connect } = translateConnect(packet, clientId);
    this.connect = connect;
    out.toBroker.push(_generate(v4, 4));
  }

  #publish(packet: IPublishPacket): IPublishPacket {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.#options.topicAliasMaximum) {
        throw new _Refusal(
          _TOPIC_ALIAS_INVALID,
          `topic alias ${alias} is outside 1..${this.#options.topicAliasMaximum}`,
        );
      }
      if (topic) this.#aliases.set(alias, topic);
      else topic = this.#aliases.get(alias) ?? "";
      if (!topic) {
        throw new _Refusal(
          _PROTOCOL_ERROR,
          `topic alias ${alias} was never set`,
        );
      }
    }
    if (!topic) throw new _Refusal(_PROTOCOL_ERROR, "PUBLISH without a topic");
    const v4: IPublishPacket = {
      cmd: "publish",
      topic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
    };
    if (packet.qos > 0) v4.messageId = packet.messageId!;
    return v4;
  }

  #brokerPacket(
    packet: Packet,
    out: Mqtt5Output,
    options: Mqtt5DeliveryOptions,
  ): void {
    switch (packet.cmd) {
      case "connack": {
        const reasonCode = _CONNACK_REASON[packet.returnCode ?? 0] ?? 0x80;
        const connack: IConnackPacket = {
          cmd: "connack",
          reasonCode,
          sessionPresent: packet.sessionPresent,
        };
        if (reasonCode === 0) {
          connack.properties = {
            topicAliasMaximum: this.#options.topicAliasMaximum,
            subscriptionIdentifiersAvailable: true,
            sharedSubscriptionAvailable: true,
          };
          if (this.#options.topicAliasMaximum === 0) {
            delete connack.properties.topicAliasMaximum;
          }
          if (this.#assignedId !== null) {
            connack.properties.assignedClientIdentifier = this.#assignedId;
          }
        }
        this.#connackSent = true;
        this.accepted = reasonCode === 0;
        if (this.accepted) this.#options.onAccepted(packet.sessionPresent);
        return void out.toClient.push(_generate(connack, 5));
      }
      case "publish":
        return this.#deliver(packet, out, options);
      case "puback":
      case "pubrec":
        return void out.toClient.push(
          _generate({
            cmd: packet.cmd,
            messageId: packet.messageId,
            reasonCode: this.#options.ackReason(packet.messageId!) ?? 0,
          }, 5),
        );
      case "pubcomp":
        return void out.toClient.push(
          _generate({
            cmd: packet.cmd,
            messageId: packet.messageId,
            reasonCode: 0,
          }, 5),
        );
      case "pubrel":
        if (this.#droppedQos2.delete(packet.messageId!)) {
          return void out.toBroker.push(
            _generate({ cmd: "pubcomp", messageId: packet.messageId }, 4),
          );
        }
        return void out.toClient.push(
          _generate({
            cmd: "pubrel",
            messageId: packet.messageId,
            reasonCode: 0,
          }, 5),
        );
      case "suback": {
        // 3.1.1 return codes 0, 1 and 2 are also the MQTT 5 reason codes; a refused filter (0x80) gets its reason.
        const filters = this.#subscribeFilters.get(packet.messageId!) ?? [];
        this.#subscribeFilters.delete(packet.messageId!);
        const granted = (packet.granted as number[]).map((code, i) => {
          if (code !== _SUBACK_FAILURE) return code;
          const filter = filters[i];
          if (filter !== undefined) this.subscriptions.delete(filter);
          return filter !== undefined && parseShare(filter) === null
            ? _TOPIC_FILTER_INVALID
            : _NOT_AUTHORIZED;
        });
        return void out.toClient.push(
          _generate({ cmd: "suback", messageId: packet.messageId, granted }, 5),
        );
      }
      case "unsuback": {
        const count = this.#unsubscribeCounts.get(packet.messageId!) ?? 1;
        this.#unsubscribeCounts.delete(packet.messageId!);
        const granted = new Array<number>(count).fill(0);
        return void out.toClient.push(
          _generate(
            { cmd: "unsuback", messageId: packet.messageId, granted },
            5,
          ),
        );
      }
      case "pingresp":
        return void out.toClient.push(_generate({ cmd: "pingresp" }, 5));
      default:
        throw new Error(
          `unexpected ${packet.cmd.toUpperCase()} from the broker`,
        );
    }
  }

  /**
   * A PUBLISH larger than the client accepts is dropped (MQTT-3.1.2-25) and acknowledged to the broker here, and so
   * is one that expired, the client's own under no local, a retained one its subscription's retain handling
   * holds back, and a QoS 1 or 2 one with no room to wait under Receive Maximum.
   */
  #deliver(
    packet: IPublishPacket,
    out: Mqtt5Output,
    options: Mqtt5DeliveryOptions,
  ): void {
    const v5: IPublishPacket = {
      cmd: "publish",
      topic: packet.topic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
    };
    if (packet.qos > 0) v5.messageId = packet.messageId!;
    const matching = this.subscriptions.matching(packet.topic);
    const identifiers = matching.flatMap((o) =>
      o.identifier === undefined ? [] : [o.identifier]
    );
    const properties: PublishProperties = {
      ...options.properties,
      ...(identifiers.length > 0
        ? {
          subscriptionIdentifier: identifiers.length === 1
            ? identifiers[0]!
            : identifiers,
        }
        : {}),
    };
    if (Object.keys(properties).length > 0) v5.properties = properties;
    // aedes clears RETAIN on live messages: one with RETAIN set comes from the retained store, sent on SUBSCRIBE.
    const unwanted = options.expired ||
      (options.ownMessage && matching.length > 0 &&
        matching.every((o) => o.noLocal)) ||
      (packet.retain && matching.length > 0 &&
        matching.every((o) => !o.sendRetained));
    if (
      !packet.retain && options.publishedRetained &&
      matching.some((o) => o.retainAsPublished)
    ) {
      v5.retain = true;
    }
    const bytes = unwanted ? null : _generate(v5, 5);
    if (
      bytes !== null && bytes.length <= this.#maximumPacketSize &&
      this.#flow.send(v5, bytes, out.toClient)
    ) return;
    if (packet.qos === 1) {
      out.toBroker.push(
        _generate({ cmd: "puback", messageId: packet.messageId }, 4),
      );
    }
    if (packet.qos === 2) {
      this.#droppedQos2.add(packet.messageId!);
      out.toBroker.push(
        _generate({ cmd: "pubrec", messageId: packet.messageId }, 4),
      );
    }
  }

  #refuse(error: unknown, out: Mqtt5Output): void {
    this.#closed = true;
    out.close = "abort";
    out.error = error instanceof Error ? error.message : String(error);
    // MQTT 5 forbids DISCONNECT before CONNACK; before it, the connection just closes.
    if (this.#connackSent) {
      const reasonCode = error instanceof _Refusal ? error.reasonCode : 0x80;
      out.toClient.push(_generate({ cmd: "disconnect", reasonCode }, 5));
    }
  }
}

function _output(): Mqtt5Output {
  return {
    toBroker: [],
    toClient: [],
    close: null,
    error: null,
    published: [],
  };
}

/** A SUBSCRIBE's subscription identifier (mqtt-packet reads it as a number; an array only on PUBLISH). */
function _identifier(value: number | number[] | undefined): number | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A topic filter as 4.7.1 allows: not empty, `#` alone and last, `+` alone in its level, no NUL. */
function _validFilter(filter: string): boolean {
  if (filter === "" || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every((level, i) =>
    (level === "#" ? i === levels.length - 1 : !level.includes("#")) &&
    (level === "+" || !level.includes("+"))
  );
}

function _randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
