/**
 * MQTT 5 will delay on a broker that has none (aedes speaks 3.1.1): the bridge keeps a delayed will out of the
 * CONNECT it hands aedes and tells {@linkcode DelayedWills} when the connection is accepted and when it ends. The will
 * is published when its delay ends, unless a connection with the same client id came in meanwhile; one with clean
 * start ends the session, and so publishes the will at once (3.1.2.5, 3.1.3.2.2). It goes through the broker's
 * `authorizePublish` with the client it belongs to, as aedes's own wills do.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import type { Mqtt5Will, PublishProperties } from "./mqtt5_adapter.ts";
import { willProperties } from "./_publish_properties.ts";

/** The will as aedes publishes it. */
interface _WillPacket {
  cmd: "publish";
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
}

/** What this uses of an aedes client (aedes sets it as `conn.client` on the stream it reads). */
export interface DelayedWillClient {
  id: string;
  clean: boolean;
  broker: DelayedWillBroker;
}

/** What this uses of aedes. */
export interface DelayedWillBroker {
  closed: boolean;
  authorizePublish(
    client: DelayedWillClient,
    packet: _WillPacket,
    callback: (error?: Error | null) => void,
  ): void;
  publish(
    packet: _WillPacket,
    client: DelayedWillClient,
    done: (error?: Error) => void,
  ): void;
  once(event: "closed", listener: () => void): unknown;
  on(event: "client", listener: (client: DelayedWillClient) => void): unknown;
}

/** One accepted connection's will, waiting for its connection to end and then for its delay. */
interface _Pending {
  /** The connection it belongs to; null once that connection has ended and the delay runs. */
  owner: object | null;
  client: DelayedWillClient;
  will: Mqtt5Will;
  /** Seconds. */
  delay: number;
  /** The will's PUBLISH properties (null: none). */
  properties?: PublishProperties | null;
  timer: ReturnType<typeof setTimeout> | null;
}

/** setTimeout's longest wait (about 24.8 days); a longer will delay is cut to it. */
const _MAX_TIMEOUT = 2 ** 31 - 1;

const _byBroker = new WeakMap<DelayedWillBroker, DelayedWills>();

/** The delayed wills of one broker, by client id. */
export class DelayedWills {
  readonly #broker: DelayedWillBroker;
  readonly #pending = new Map<string, _Pending>();
  /** Clients of the MQTT 5 bridge, which says itself when they are accepted. */
  readonly #bridged = new WeakSet<DelayedWillClient>();

  private constructor(broker: DelayedWillBroker) {
    this.#broker = broker;
    // A client coming back over MQTT 3.1/3.1.1 is a new connection to the session too.
    broker.on("client", (client) => {
      if (!this.#bridged.has(client)) this.#arrived(client.id, client.clean);
    });
    broker.once("closed", () => {
      for (const pending of this.#pending.values()) {
        if (pending.timer !== null) clearTimeout(pending.timer);
      }
      this.#pending.clear();
    });
  }

  /** The one instance for `broker`. */
  static of(broker: DelayedWillBroker): DelayedWills {
    let wills = _byBroker.get(broker);
    if (wills === undefined) {
      _byBroker.set(broker, wills = new DelayedWills(broker));
    }
    return wills;
  }

  /** `client` is one of the MQTT 5 bridge's: it calls {@linkcode connected} itself, knowing its clean start. */
  bridged(client: DelayedWillClient): void {
    this.#bridged.add(client);
  }

  /**
   * The broker accepted connection `owner` of `client`; `will` is its delayed will, if any. A will still waiting for
   * this client id is dropped, or published now when the new connection starts clean (its session has ended).
   */
  connected(
    owner: object,
    client: DelayedWillClient,
    cleanStart: boolean,
    will: {
      will: Mqtt5Will;
      delay: number;
      properties?: PublishProperties | null;
    } | null,
  ): void {
    this.#arrived(client.id, cleanStart);
    if (will !== null) {
      this.#pending.set(client.id, { owner, client, ...will, timer: null });
    }
  }

  /**
   * Connection `owner` of `clientId` ended; `graceful` when the client sent DISCONNECT with reason 0, which discards
   * the will. A connection already taken over by a newer one changes nothing: the newer one decided.
   */
  ended(owner: object, clientId: string, graceful: boolean): void {
    const pending = this.#pending.get(clientId);
    if (pending?.owner !== owner) return;
    if (graceful || this.#broker.closed) {
      this.#pending.delete(clientId);
      return;
    }
    pending.owner = null;
    pending.timer = setTimeout(() => {
      if (this.#pending.get(clientId) !== pending) return;
      this.#pending.delete(clientId);
      this.#publish(pending);
    }, Math.min(pending.delay * 1000, _MAX_TIMEOUT));
  }

  /**
   * Connection `owner` of `clientId` set its session expiry to `seconds` at DISCONNECT: its will waits no longer
   * than the session lasts (3.1.3.2.2).
   */
  sessionExpiry(owner: object, clientId: string, seconds: number): void {
    const pending = this.#pending.get(clientId);
    if (pending?.owner === owner) {
      pending.delay = Math.min(pending.delay, seconds);
    }
  }

  /** A connection with `clientId` came in: a will waiting for it is dropped, or published now if the session ends. */
  #arrived(clientId: string, cleanStart: boolean): void {
    const previous = this.#pending.get(clientId);
    if (previous === undefined) return;
    this.#pending.delete(clientId);
    if (previous.timer !== null) clearTimeout(previous.timer);
    if (cleanStart) this.#publish(previous);
  }

  /** Publishes a will the way aedes publishes its own: authorized for its client first. */
  #publish({ client, will, properties }: _Pending): void {
    const broker = this.#broker;
    if (broker.closed) return;
    const packet: _WillPacket = { cmd: "publish", ...will, dup: false };
    willProperties(packet, properties ?? null);
    try {
      broker.authorizePublish(client, packet, (error) => {
        if (error || broker.closed) return;
        broker.publish(packet, client, () => {});
      });
    } catch {
      // An authorizer that throws refuses the will; the broker goes on.
    }
  }
}
