/**
 * The narrow publish/subscribe interface the tank simulator talks through, and its implementations: {@linkcode
 * AedesBus} (in process, on the embedded broker), {@linkcode MqttBus} (an MQTT client, for any broker) and
 * {@linkcode FakeBus} (in memory, for unit tests of pure code).
 *
 * All three follow MQTT delivery rules: a message published while a subscription exists arrives with `retain: false`
 * whatever its publisher asked; retained messages replayed on subscribing arrive with `retain: true`; publishing an
 * empty retained payload clears the retained message for that topic.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Aedes, AedesPublishPacket } from "aedes";
import mqtt from "mqtt";
import { withDefaults } from "../../lib/mod.ts";

/** One message as a subscriber sees it. */
export interface BusMessage {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

/** Options for {@linkcode Bus.publish}. */
export interface BusPublishOptions {
  /** Keep the message for later subscribers (default false); an empty payload clears it. */
  retain?: boolean;
  /** 0: at most once (default); 1: at least once. */
  qos?: 0 | 1;
}

/** Publish/subscribe, as the tank simulator needs it. */
export interface Bus {
  /** Publishes to `topic` (no wildcards); resolves once the broker has it. Strings are sent as UTF-8. */
  publish(
    topic: string,
    payload: string | Uint8Array,
    options?: BusPublishOptions,
  ): Promise<void>;
  /** Handler is called for every message matching the MQTT filter (+ and # wildcards), including retained ones already stored when subscribing. */
  subscribe(
    filter: string,
    handler: (message: BusMessage) => void,
  ): Promise<void>;
  /** Stops deliveries and releases the connection. */
  close(): Promise<void>;
}

/** A bus operation failed: cannot connect, publish or subscribe. */
export class BusError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusError";
  }
}

/**
 * Whether `topic` matches the MQTT subscription `filter`: `+` matches one level, `#` (last) the rest including the
 * parent (`a/#` matches `a`), and topics starting with `$` are not matched by a wildcard in the first level.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  if (
    topic.startsWith("$") &&
    (filterLevels[0] === "+" || filterLevels[0] === "#")
  ) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === "#") return true;
    if (i >= topicLevels.length) return false;
    if (level !== "+" && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/**
 * The bus for tests of pure code: in memory, synchronous. Handlers run before `publish()` and `subscribe()` resolve,
 * and a handler that throws makes that call reject.
 */
export class FakeBus implements Bus {
  /** Every message published, in order, as published (`retain` as requested). */
  readonly published: BusMessage[] = [];
  readonly #retained = new Map<string, Uint8Array>();
  #subscriptions: { filter: string; handler: (message: BusMessage) => void }[] =
    [];

  publish(
    topic: string,
    payload: string | Uint8Array,
    options: BusPublishOptions = {},
  ): Promise<void> {
    try {
      _checkTopic(topic);
      const bytes = _bytes(payload);
      const retain = options.retain ?? false;
      this.published.push({ topic, payload: bytes.slice(), retain });
      if (retain && bytes.length === 0) this.#retained.delete(topic);
      else if (retain) this.#retained.set(topic, bytes.slice());
      for (const { filter, handler } of this.#subscriptions) {
        if (topicMatches(filter, topic)) {
          handler({ topic, payload: bytes.slice(), retain: false });
        }
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  subscribe(
    filter: string,
    handler: (message: BusMessage) => void,
  ): Promise<void> {
    try {
      _checkFilter(filter);
      this.#subscriptions.push({ filter, handler });
      for (const [topic, payload] of this.#retained) {
        if (topicMatches(filter, topic)) {
          handler({ topic, payload: payload.slice(), retain: true });
        }
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.#subscriptions = [];
    return Promise.resolve();
  }
}

/** What AedesBus needs of aedes's persistence, which the aedes typings leave out. */
interface _RetainedStore {
  createRetainedStream(pattern: string): AsyncIterable<AedesPublishPacket>;
}

/**
 * The bus in the broker's own process: publishes and subscribes on aedes directly, without a socket. Retained messages
 * go to aedes's store, so TCP and WebSocket clients subscribing later get them too. A handler that throws does not
 * stop deliveries; its error is reported as uncaught (`reportError`), like an event listener's.
 */
export class AedesBus implements Bus {
  readonly #aedes: Aedes;
  readonly #subscriptions: {
    filter: string;
    deliver: (packet: AedesPublishPacket, done: () => void) => void;
  }[] = [];
  #closed = false;
  #tail: Promise<void> = Promise.resolve();

  constructor(aedes: Aedes) {
    this.#aedes = aedes;
  }

  publish(
    topic: string,
    payload: string | Uint8Array,
    options: BusPublishOptions = {},
  ): Promise<void> {
    _checkTopic(topic);
    this.#checkOpen();
    const packet = {
      cmd: "publish" as const,
      topic,
      payload: Buffer.from(_bytes(payload)),
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      dup: false,
    };
    // One publish at a time, in order. aedes numbers a packet when it accepts it, but a retained or QoS 1 packet is
    // emitted only after the store has it; a QoS 0 packet accepted meanwhile overtakes it, and each client's dedupe
    // (a counter lower than the last one seen is a duplicate) then drops the older one. TCP clients never see this
    // because aedes handles one packet per connection at a time; this does the same for the in-process publisher.
    const send = () =>
      new Promise<void>((resolve, reject) => {
        this.#aedes.publish(packet, (error) => {
          if (error) {
            reject(
              new BusError(`Cannot publish to "${topic}": ${error.message}`, {
                cause: error,
              }),
            );
          } else resolve();
        });
      });
    const result = this.#tail.then(send, send);
    this.#tail = result.catch(() => {});
    return result;
  }

  async subscribe(
    filter: string,
    handler: (message: BusMessage) => void,
  ): Promise<void> {
    _checkFilter(filter);
    this.#checkOpen();
    const deliver = (packet: AedesPublishPacket, done: () => void) => {
      // mqemitter also hands `#` subscribers the broker's own $SYS messages.
      if (topicMatches(filter, packet.topic)) _call(handler, packet, false);
      done();
    };
    // Live first, then the store, as aedes does for clients: a message published in between may arrive twice, but
    // none is lost.
    await new Promise<void>((resolve) =>
      this.#aedes.subscribe(filter, deliver, resolve)
    );
    this.#subscriptions.push({ filter, deliver });
    const store =
      (this.#aedes as unknown as { persistence: _RetainedStore }).persistence;
    for await (const packet of store.createRetainedStream(filter)) {
      if (topicMatches(filter, packet.topic)) _call(handler, packet, true);
    }
  }

  /**
   * Removes every retained message whose topic matches `filter` (publishes an empty retained payload on each), so a
   * new run on a shared broker starts from a clean slate.
   */
  async clearRetained(filter: string): Promise<number> {
    _checkFilter(filter);
    const store =
      (this.#aedes as unknown as { persistence: _RetainedStore }).persistence;
    const topics: string[] = [];
    for await (const packet of store.createRetainedStream(filter)) {
      if (topicMatches(filter, packet.topic)) topics.push(packet.topic);
    }
    await Promise.all(
      topics.map((topic) =>
        this.publish(topic, new Uint8Array(), { retain: true })
      ),
    );
    return topics.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscriptions = this.#subscriptions.splice(0);
    if (this.#aedes.closed) return;
    await Promise.all(
      subscriptions.map(({ filter, deliver }) =>
        new Promise<void>((resolve) =>
          this.#aedes.unsubscribe(filter, deliver, resolve)
        )
      ),
    );
  }

  #checkOpen(): void {
    if (this.#closed) throw new BusError("This AedesBus is closed");
  }
}

/** Options for {@linkcode MqttBus.connect}. */
export interface MqttBusOptions {
  /** Client id; by default mqtt.js makes one up. */
  clientId?: string;
  /** Last will, published by the broker if this client vanishes without closing (e.g. a tank's "offline" status). */
  will?: {
    topic: string;
    payload: string | Uint8Array;
    retain?: boolean;
    qos?: 0 | 1;
  };
  /** Milliseconds to wait for the broker's CONNACK. */
  connectTimeout?: number;
}

const mqttBusDefaults = {
  connectTimeout: 5_000,
} satisfies Omit<MqttBusOptions, "clientId" | "will">;

/**
 * The bus over a real MQTT connection (MQTT 3.1.1, QoS 1 subscriptions), for any broker URL: `mqtt://`, `ws://`.
 * After the first connection it reconnects by itself and mqtt.js renews the subscriptions.
 *
 * One connection carries every subscription, so deliveries are routed by topic: where two filters overlap, a handler
 * may also see the retained messages replayed for the other filter's subscription, and, on brokers that send one copy
 * per matching subscription, a message twice. A handler that throws is reported as uncaught (`reportError`).
 */
export class MqttBus implements Bus {
  readonly #client: mqtt.MqttClient;
  readonly #url: string;
  readonly #handlers: {
    filter: string;
    handler: (message: BusMessage) => void;
  }[] = [];

  private constructor(client: mqtt.MqttClient, url: string) {
    this.#client = client;
    this.#url = url;
    client.on("message", (topic, payload, packet) => {
      for (const { filter, handler } of this.#handlers) {
        if (topicMatches(filter, topic)) {
          _call(handler, { topic, payload }, packet.retain);
        }
      }
    });
    // Later connection errors end in reconnect attempts; without a listener they would be thrown.
    client.on("error", () => {});
  }

  /** Connects to `url`; throws {@linkcode BusError} (`Cannot connect to mqtt://host:port: …`) when that fails. */
  static async connect(
    url: string,
    options: MqttBusOptions = {},
  ): Promise<MqttBus> {
    const { clientId, will, connectTimeout } = withDefaults<
      MqttBusOptions & typeof mqttBusDefaults
    >(mqttBusDefaults, options);
    const clientOptions: mqtt.IClientOptions = {
      protocolVersion: 4,
      connectTimeout,
      reconnectPeriod: 1_000,
    };
    if (clientId !== undefined) clientOptions.clientId = clientId;
    if (will) {
      clientOptions.will = {
        topic: will.topic,
        payload: Buffer.from(_bytes(will.payload)),
        retain: will.retain ?? false,
        qos: will.qos ?? 0,
      };
    }
    try {
      return new MqttBus(
        await mqtt.connectAsync(url, clientOptions, false),
        url,
      );
    } catch (error) {
      throw new BusError(
        `Cannot connect to ${url}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async publish(
    topic: string,
    payload: string | Uint8Array,
    options: BusPublishOptions = {},
  ): Promise<void> {
    _checkTopic(topic);
    try {
      await this.#client.publishAsync(topic, Buffer.from(_bytes(payload)), {
        qos: options.qos ?? 0,
        retain: options.retain ?? false,
      });
    } catch (error) {
      throw new BusError(
        `Cannot publish to "${topic}" on ${this.#url}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }

  async subscribe(
    filter: string,
    handler: (message: BusMessage) => void,
  ): Promise<void> {
    _checkFilter(filter);
    // Registered before SUBSCRIBE is sent: retained messages may arrive right behind the SUBACK.
    const entry = { filter, handler };
    this.#handlers.push(entry);
    let granted: mqtt.ISubscriptionGrant[];
    try {
      granted = await this.#client.subscribeAsync(filter, { qos: 1 });
    } catch (error) {
      this.#handlers.splice(this.#handlers.indexOf(entry), 1);
      throw new BusError(
        `Cannot subscribe to "${filter}" on ${this.#url}: ${
          (error as Error).message
        }`,
        {
          cause: error,
        },
      );
    }
    if (granted.some((g) => g.qos === 128)) {
      this.#handlers.splice(this.#handlers.indexOf(entry), 1);
      throw new BusError(
        `Cannot subscribe to "${filter}" on ${this.#url}: the broker refused it`,
      );
    }
  }

  async close(): Promise<void> {
    this.#handlers.length = 0;
    await this.#client.endAsync();
  }
}

function _bytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === "string"
    ? new TextEncoder().encode(payload)
    : payload;
}

/** Calls a subscriber with its own copy of the payload; a throwing handler must not break the broker or client. */
function _call(
  handler: (message: BusMessage) => void,
  packet: { topic: string; payload: string | Uint8Array },
  retain: boolean,
): void {
  const payload = typeof packet.payload === "string"
    ? _bytes(packet.payload)
    : new Uint8Array(packet.payload);
  try {
    handler({ topic: packet.topic, payload, retain });
  } catch (error) {
    reportError(error);
  }
}

function _checkTopic(topic: string): void {
  if (topic === "" || topic.includes("+") || topic.includes("#")) {
    throw new TypeError(
      `Cannot publish to "${topic}": expected a topic name without wildcards (+, #)`,
    );
  }
}

function _checkFilter(filter: string): void {
  const levels = filter.split("/");
  const bad = filter === "" ||
    levels.some((level, i) =>
      (level.includes("#") && (level !== "#" || i !== levels.length - 1)) ||
      (level.includes("+") && level !== "+")
    );
  if (bad) {
    throw new TypeError(
      `Cannot subscribe to "${filter}": expected a topic filter where + fills a whole level and # only the last one`,
    );
  }
}
