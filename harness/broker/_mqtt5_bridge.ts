/**
 * Stream wiring around {@linkcode Mqtt5Adapter}: an MQTT 5 client connection on one side, a byte stream speaking
 * MQTT 3.1.1 to aedes on the other.
 *
 * Sessions map onto aedes's clean-session flag as (clean start, session expiry) → (clean session, what happens at
 * disconnect): clean start goes through as the clean-session flag, so that aedes discards an existing session exactly
 * when MQTT 5 does. (0, 0) resumes a stored session and ends it at disconnect: the broker's session bounds expire it
 * after 0 ms. (1, > 0) must discard the old session yet keep the new one, which 3.1.1 cannot say: aedes gets clean
 * session 1 for its CONNECT, and its client then reads as not clean, so that it keeps subscriptions and queues like any
 * persistent one. A delayed will is held here (see `_delayed_wills.ts`). PUBLISH properties, the will's included,
 * travel beside aedes (see `_publish_properties.ts`), and so do the reason codes of PUBACK and PUBREC
 * (`_publish_acks.ts`). A session expiry set by DISCONNECT goes to the broker's session bounds through
 * {@linkcode Mqtt5BridgeOptions.onSessionExpiry}. The MQTT 5 options and identifiers of the client's subscriptions
 * are kept per client id while its session lives, and put back when it resumes (`_subscription_options.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { ByteDuplex } from "./_byte_duplex.ts";
import { type DelayedWillClient, DelayedWills } from "./_delayed_wills.ts";
import {
  propertiesAt,
  publishMeta,
  publishSent,
  willProperties,
} from "./_publish_properties.ts";
import { expectAckReasons, takeAckReason } from "./_publish_acks.ts";
import { SessionSubscriptions } from "./_subscription_options.ts";
import {
  Mqtt5Adapter,
  type Mqtt5AdapterOptions,
  type Mqtt5DeliveryOptions,
  type Mqtt5Output,
} from "./mqtt5_adapter.ts";

/** Options for {@linkcode bridgeMqtt5}. */
export interface Mqtt5BridgeOptions {
  adapter?: Mqtt5AdapterOptions;
  /** Called when the adapter refuses the client or closes its connection for a protocol error. */
  onError?: (message: string, clientId: string | null) => void;
  /**
   * Called when the client's DISCONNECT sets its session expiry interval (`seconds`), before the broker hears of the
   * DISCONNECT; `broker` is the stream aedes reads.
   */
  onSessionExpiry?: (broker: Duplex, seconds: number) => void;
}

/**
 * Starts translating `client`, whose first bytes `head` (at least the whole CONNECT) were already read. Calls `handle`
 * with the broker-side stream before any byte reaches it, unless the CONNECT is refused outright (enhanced
 * authentication), in which case the client gets its CONNACK and the broker never hears of it.
 */
export function bridgeMqtt5(
  client: Duplex,
  head: Uint8Array,
  handle: (broker: Duplex) => void,
  options: Mqtt5BridgeOptions = {},
): void {
  const adapter = new Mqtt5Adapter({
    ...options.adapter,
    ackReason: (messageId) => takeAckReason(broker, messageId),
    onAccepted: (sessionPresent) => {
      const aedesClient = _aedesClient(broker);
      if (aedesClient === undefined) return;
      // aedes put the session's subscriptions back before its CONNACK: they get their MQTT 5 options back too.
      const restored = aedesClient.subscriptions ?? {};
      SessionSubscriptions.of(aedesClient.broker).connected(
        adapter.clientId!,
        broker,
        adapter.subscriptions,
        {
          present: sessionPresent,
          restored: (filter) => Object.hasOwn(restored, filter),
        },
      );
    },
  });
  const first = adapter.fromClient(head);
  if (first.toBroker.length === 0) {
    for (const bytes of first.toClient) client.write(bytes);
    _endClient(client);
    if (first.error) options.onError?.(first.error, adapter.clientId);
    return;
  }

  let graceful = false;
  /** The broker's delayed wills, once it accepted the client. */
  let wills: DelayedWills | null = null;
  const broker = new _BrokerSide({
    read: () => client.isPaused() && client.resume(),
    write: (chunks, done) => {
      let drained = true;
      for (const chunk of chunks) {
        drained = apply(adapter.fromBroker(chunk, _delivery(broker, chunk))) &&
          drained;
      }
      const aedesClient = _aedesClient(broker);
      if (adapter.accepted && wills === null && aedesClient !== undefined) {
        const { cleanStart, delayedWill, willProperties: properties } = adapter
          .connect!;
        // aedes publishes a will without delay itself, this very object.
        if (aedesClient.will) willProperties(aedesClient.will, properties);
        wills = DelayedWills.of(aedesClient.broker);
        wills.connected(
          broker,
          aedesClient,
          cleanStart,
          delayedWill && { ...delayedWill, properties },
        );
      }
      if (drained) done();
      else client.once("drain", () => done());
    },
    destroy: () => _endClient(client),
  });
  expectAckReasons(broker);

  /** Delivers one translation; false when the client's buffer is full and the caller should wait for `drain`. */
  function apply(out: Mqtt5Output): boolean {
    let drained = true;
    if (out.sessionExpiry !== undefined) {
      options.onSessionExpiry?.(broker, out.sessionExpiry);
      wills?.sessionExpiry(broker, adapter.clientId!, out.sessionExpiry);
    }
    for (const bytes of out.toClient) drained = client.write(bytes) && drained;
    for (const { topic, properties } of out.published) {
      publishSent(broker, topic, properties);
    }
    for (const bytes of out.toBroker) {
      if (!broker.push(bytes)) client.pause();
    }
    if (out.close === "graceful") {
      graceful = true;
      broker.push(null);
      _endClient(client);
    } else if (out.close === "abort") {
      broker.destroy();
      _endClient(client);
    }
    if (out.error) options.onError?.(out.error, adapter.clientId);
    return drained || client.destroyed;
  }

  client.on("data", (chunk: Buffer) => apply(adapter.fromClient(chunk)));
  client.on("error", () => {});
  client.on("close", () => {
    // After a DISCONNECT the broker side ends by itself once aedes has read it; destroying it earlier could discard
    // the DISCONNECT and make aedes publish the will.
    if (!graceful) broker.destroy();
    if (wills !== null) wills.ended(broker, adapter.clientId!, graceful);
    const aedesClient = _aedesClient(broker);
    if (adapter.accepted && aedesClient !== undefined) {
      SessionSubscriptions.of(aedesClient.broker).disconnected(
        adapter.clientId!,
        broker,
        adapter.connect!.sessionExpiry === 0,
      );
    }
  });
  handle(broker);
  const aedesClient = _aedesClient(broker);
  if (aedesClient !== undefined) {
    DelayedWills.of(aedesClient.broker).bridged(aedesClient);
  }
  const { cleanStart, sessionExpiry } = adapter.connect!;
  if (cleanStart && sessionExpiry > 0 && aedesClient !== undefined) {
    // aedes sets `clean` from the CONNECT (discarding the old session) and reads it afterwards to decide whether the
    // session outlives the connection: from here on it must say "keep".
    Object.defineProperty(aedesClient, "clean", {
      get: () => false,
      set: () => {},
      configurable: true,
    });
  }
  apply(first);
}

/**
 * What the broker knows of the message whose payload `chunk` may be: `mqtt-packet` writes a PUBLISH's payload buffer
 * as a chunk of its own, the very buffer the broker filed the publisher's properties under.
 */
function _delivery(broker: Duplex, chunk: Buffer): Mqtt5DeliveryOptions {
  const meta = publishMeta(chunk);
  if (meta === undefined) return {};
  const properties = propertiesAt(meta, Date.now());
  if (properties === null) return { expired: true };
  return {
    properties,
    ownMessage: meta.publisher === broker,
    publishedRetained: meta.retain,
  };
}

/** The client aedes made for the stream it reads (aedes sets it as `conn.client` in `handle`). */
function _aedesClient(
  broker: Duplex,
):
  | (DelayedWillClient & {
    will?: object | null;
    subscriptions?: Record<string, unknown>;
  })
  | undefined {
  return (broker as { client?: DelayedWillClient }).client;
}

/** Flushes, then closes: `end()` alone would leave a half-open socket if the peer never closes its side. */
function _endClient(client: Duplex): void {
  if (client.destroyed || client.writableEnded) return;
  client.end(() => client.destroy());
}

interface _BrokerSideHooks {
  read(): void;
  /** Chunks as aedes wrote them (not joined: a payload chunk is looked up by identity). */
  write(chunks: Buffer[], done: () => void): void;
  destroy(): void;
}

/** What aedes reads from (v4 bytes pushed by the bridge) and writes to (v4 bytes handed to the adapter). */
class _BrokerSide extends ByteDuplex {
  readonly #hooks: _BrokerSideHooks;

  constructor(hooks: _BrokerSideHooks) {
    super({ allowHalfOpen: false });
    this.#hooks = hooks;
  }

  override _read(): void {
    this.#hooks.read();
  }

  override _write(
    chunk: Buffer,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#hooks.write([chunk], () => callback());
  }

  override _writev(
    chunks: { chunk: Buffer }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.#hooks.write(chunks.map((c) => c.chunk), () => callback());
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    this.#hooks.destroy();
    callback(error);
  }
}
