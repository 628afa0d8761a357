/**
 * Bounds on what the broker keeps for persistent sessions (clean session 0, or MQTT 5 with a session expiry) while
 * their clients are away. aedes's memory persistence keeps every QoS 1 message for every offline session for ever, so
 * 300 clients that subscribe to `fishtank/#` and leave make the broker grow without end. Here each offline session's
 * queue holds at most `maxQueuedPerSession` messages (the oldest dropped: MQTT lets a server drop QoS 1 messages for an
 * offline session when it runs out of resources, and a controller coming back wants the latest readings rather than
 * an hour-old backlog), at most `maxOfflineSessions` offline sessions are kept (the one offline longest is removed
 * first), and an offline session expires after `sessionExpiry`. A client online keeps at most `maxQueuedPerSession`
 * messages unacknowledged: past it new ones are neither queued nor sent until it acknowledges some (mosquitto 2.0
 * keeps 20 in flight and `max_queued_messages`, 1000, waiting, and drops new ones past that too). aedes keeps nothing
 * for a clean session's client, so one that never acknowledges costs the broker nothing beyond its socket.
 *
 * It takes over the outgoing queues from aedes-persistence (memory), whose queues are private, by replacing its
 * `outgoing*` methods on the instance; subscriptions, retained messages and wills stay where they were.
 *
 * @module
 */

import { Readable } from "node:stream";

/** Limits for {@linkcode SessionBounds}; all required (the broker resolves its defaults). */
export interface SessionBoundsOptions {
  /** Messages kept for one offline session; past it the oldest is dropped. */
  maxQueuedPerSession: number;
  /** Offline sessions kept; past it the one offline longest is removed. */
  maxOfflineSessions: number;
  /** Milliseconds an offline session is kept (and the most an MQTT 5 client may ask for); Infinity keeps it. */
  sessionExpiry: number;
  /** Milliseconds since the epoch: the clock sessions expire by. */
  now: () => number;
  /** A session was cut (messages dropped, session removed), for logs; must not throw. */
  onEvent: (clientId: string, message: string) => void;
  /**
   * A persistent session ended (clean session or clean start, expiry, too many offline sessions), for what is kept
   * about it elsewhere (the MQTT 5 options of its subscriptions); must not throw.
   */
  onSessionEnd?: (clientId: string) => void;
}

/** The fields of an aedes packet the queue copies (as `aedes-packet`'s constructor does). */
interface _Packet {
  cmd: string;
  topic?: string;
  payload?: unknown;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  nl?: boolean;
  properties?: unknown;
  messageExpiry?: number;
}

interface _ClientRef {
  id: string;
}

/** What this replaces and calls on aedes-persistence's memory persistence (promise style, as aedes 1.2 calls it). */
export interface SessionPersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: _Packet): Promise<void>;
  outgoingEnqueueCombi(
    subs: { clientId: string; qos?: number }[],
    packet: _Packet,
  ): Promise<void>;
  outgoingUpdate(client: _ClientRef, packet: _Packet): Promise<void>;
  outgoingClearMessageId(
    client: _ClientRef,
    packet: _Packet,
  ): Promise<_Packet | undefined>;
  outgoingStream(client: _ClientRef): Readable;
  subscriptionsByClient(client: _ClientRef): Promise<unknown[]>;
  cleanSubscriptions(client: _ClientRef): Promise<unknown>;
  cleanIncoming?(client: _ClientRef): Promise<unknown>;
}

/** One persistent session: online (`offlineSince` null) or offline since a time. */
interface _Session {
  offlineSince: number | null;
  /** Milliseconds it outlives its connection. */
  expiry: number;
  /** Whether dropping messages has been reported during this offline spell or connection. */
  dropReported: boolean;
  /**
   * Messages not queued for the online client because it had `maxQueuedPerSession` unacknowledged: aedes must not
   * send them either (see {@linkcode SessionBounds.forward}). By broker id and counter; emptied as aedes asks.
   */
  unsent: Set<string>;
}

/** Figures for logs and tests. */
export interface SessionStats {
  /** Persistent sessions whose client is away. */
  offline: number;
  /** Messages queued for all sessions (offline ones, and QoS 1 messages not yet acknowledged by online ones). */
  queued: number;
}

/**
 * Keeps persistent sessions bounded: install it on aedes's persistence, tell it when clients connect and leave, and
 * close it with the broker.
 */
export class SessionBounds {
  readonly #options: SessionBoundsOptions;
  readonly #queues = new Map<string, _Packet[]>();
  /** Persistent sessions, those offline in the order they went offline (a session going offline moves to the end). */
  readonly #sessions = new Map<string, _Session>();
  #offline = 0;
  #cleanSubscriptions: ((client: _ClientRef) => Promise<unknown>) | null = null;
  #cleanIncoming: ((client: _ClientRef) => Promise<unknown>) | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: SessionBoundsOptions) {
    this.#options = options;
  }

  /** Takes over `persistence`'s outgoing queues and starts the expiry sweep. */
  install(persistence: SessionPersistence): void {
    const subscriptionsByClient = persistence.subscriptionsByClient.bind(
      persistence,
    );
    this.#cleanSubscriptions = persistence.cleanSubscriptions.bind(persistence);
    this.#cleanIncoming = persistence.cleanIncoming?.bind(persistence) ?? null;
    persistence.outgoingEnqueue = (sub, packet) => {
      this.#enqueue(sub.clientId, _copy(packet));
      return Promise.resolve();
    };
    // One copy per QoS, shared by the sessions: a queue makes its own only when aedes numbers the packet for its
    // client. A session gets the message at the QoS its subscription grants, never above the publish QoS, and once
    // when several of its subscriptions match, at the highest they grant ([MQTT-3.8.4-6], [MQTT-3.3.5-1]): as online.
    persistence.outgoingEnqueueCombi = (subs, packet) => {
      const copies: (_Packet | undefined)[] = [];
      for (const sub of subs) {
        const qos = Math.min(sub.qos ?? 2, packet.qos ?? 0);
        // QoS 0 is not queued for an offline session (aedes sends it only to those online).
        if (qos === 0) continue;
        this.#enqueue(sub.clientId, copies[qos] ??= _copy(packet, qos));
      }
      return Promise.resolve();
    };
    persistence.outgoingUpdate = (client, packet) =>
      Promise.resolve().then(() => this.#update(client.id, packet));
    persistence.outgoingClearMessageId = (client, packet) =>
      Promise.resolve(this.#clear(client.id, packet));
    // A copy: aedes streams it while new messages may arrive.
    persistence.outgoingStream = (client) =>
      Readable.from([...(this.#queues.get(client.id) ?? [])]);
    // Called on a CONNECT that resumes a session: an expired one is gone before aedes looks at it.
    persistence.subscriptionsByClient = async (client) => {
      const session = this.#sessions.get(client.id);
      if (session && this.#expired(session)) {
        await this.#remove(client.id, "offline session expired");
      }
      return await subscriptionsByClient(client);
    };
    // Called on a CONNECT with a clean session: the old session and its queue end (aedes-persistence keeps the queue).
    persistence.cleanSubscriptions = (client) => {
      this.#forget(client.id);
      return this.#cleanSubscriptions!(client);
    };
    const every = Math.min(60_000, Math.max(100, this.#options.sessionExpiry));
    this.#timer = setInterval(() => void this.sweep(), every);
  }

  /** A client was let in; `expiry` is what it asked for (MQTT 5), in milliseconds, if anything. */
  connected(clientId: string, clean: boolean, expiry?: number): void {
    if (clean) return this.#forget(clientId);
    // A resumed session keeps its queue: aedes delivers it after this.
    if (this.#sessions.get(clientId)?.offlineSince != null) this.#offline--;
    const limit = this.#options.sessionExpiry;
    this.#sessions.set(clientId, {
      offlineSince: null,
      expiry: expiry === undefined ? limit : Math.min(expiry, limit),
      dropReported: false,
      unsent: new Set(),
    });
  }

  /**
   * A client left; its session, if persistent, is kept offline within the bounds. `expiry`, in milliseconds, is the
   * session expiry its connection ends with (an MQTT 5 DISCONNECT may change the one CONNECT asked for).
   */
  disconnected(clientId: string, expiry?: number): void {
    const session = this.#sessions.get(clientId);
    if (!session || session.offlineSince !== null) return;
    if (expiry !== undefined) {
      session.expiry = Math.min(expiry, this.#options.sessionExpiry);
    }
    this.#sessions.delete(clientId);
    session.offlineSince = this.#options.now();
    session.dropReported = false;
    session.unsent.clear();
    this.#sessions.set(clientId, session);
    this.#offline++;
    for (const [id, other] of this.#sessions) {
      if (this.#offline <= this.#options.maxOfflineSessions) break;
      if (other.offlineSince === null) continue;
      void this.#remove(
        id,
        `offline session removed: more than ${this.#options.maxOfflineSessions} offline sessions`,
      );
    }
  }

  /**
   * Whether aedes may send `packet` to the online client `clientId` (its `authorizeForward`): not when the message was
   * left out of the client's full queue, so that what is neither queued nor sent is dropped, as mosquitto drops.
   */
  forward(clientId: string, packet: _Packet): boolean {
    const unsent = this.#sessions.get(clientId)?.unsent;
    if (unsent === undefined || unsent.size === 0) return true;
    return !unsent.delete(_key(packet));
  }

  /** Removes every offline session past its expiry; runs by itself at intervals. */
  async sweep(): Promise<void> {
    const expired = [...this.#sessions].filter(([, s]) => this.#expired(s));
    for (const [id] of expired) {
      await this.#remove(id, "offline session expired");
    }
  }

  /** How many sessions are offline and how many messages are queued. */
  stats(): SessionStats {
    let queued = 0;
    for (const queue of this.#queues.values()) queued += queue.length;
    return { offline: this.#offline, queued };
  }

  /** Stops the sweep. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #expired(session: _Session): boolean {
    return session.offlineSince !== null &&
      this.#options.now() - session.offlineSince >= session.expiry;
  }

  #enqueue(clientId: string, packet: _Packet): void {
    const session = this.#sessions.get(clientId);
    // Every persistent session is known from its CONNECT on; one that is not is being removed.
    if (session === undefined) return;
    if (this.#expired(session)) {
      void this.#remove(clientId, "offline session expired");
      return;
    }
    const offline = session.offlineSince !== null;
    let queue = this.#queues.get(clientId);
    if (queue === undefined) this.#queues.set(clientId, queue = []);
    const last = queue.at(-1);
    if (
      last !== undefined && last.brokerId === packet.brokerId &&
      last.brokerCounter === packet.brokerCounter
    ) {
      // A second subscription of this session matched the message just queued: one copy, at the higher QoS.
      if ((last.qos ?? 0) < (packet.qos ?? 0)) queue[queue.length - 1] = packet;
      return;
    }
    if (!offline && queue.length >= this.#options.maxQueuedPerSession) {
      // An online client with that many messages unacknowledged gets no more until it acknowledges some: the newest
      // are dropped, as mosquitto drops past max_queued_messages. Not taken out of the queue, as for an offline
      // session: those went out already, and aedes fails a client whose packet vanishes between enqueue and send.
      session.unsent.add(_key(packet));
      if (!session.dropReported) {
        session.dropReported = true;
        this.#report(
          clientId,
          `${this.#options.maxQueuedPerSession} messages unacknowledged: dropping new ones until the client acknowledges`,
        );
      }
      return;
    }
    queue.push(packet);
    if (offline && queue.length > this.#options.maxQueuedPerSession) {
      queue.shift();
      if (!session.dropReported) {
        session.dropReported = true;
        this.#report(
          clientId,
          `offline queue full (${this.#options.maxQueuedPerSession} messages): dropping the oldest`,
        );
      }
    }
  }

  /**
   * aedes-persistence's `outgoingUpdate`: the packet, now numbered for sending, is recorded with its number (in a copy
   * of its own: queued packets are shared between sessions).
   */
  #update(clientId: string, packet: _Packet): void {
    const queue = this.#queues.get(clientId) ?? [];
    for (let i = 0; i < queue.length; i++) {
      const queued = queue[i]!;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          // Sent at QoS 0 (a subscription to the exact topic granted 0): nothing will acknowledge it, so it is done.
          if (packet.cmd === "publish" && packet.qos === 0) {
            queue.splice(i, 1);
            if (queue.length === 0) this.#queues.delete(clientId);
            return;
          }
          // Kept with the QoS it went out at (aedes may have lowered it to the subscription's), if it is sent again.
          queue[i] = {
            ...queued,
            messageId: packet.messageId,
            qos: packet.qos ?? queued.qos,
          };
          return;
        }
        // Packet ids wrap at 65535: the broker counter tells packets with one id apart, so keep looking.
      } else if (queued.messageId === packet.messageId) {
        queue[i] = packet;
        return;
      }
    }
    throw new Error("no such packet");
  }

  /** aedes-persistence's `outgoingClearMessageId`: removes and returns the packet acknowledged. */
  #clear(clientId: string, packet: _Packet): _Packet | undefined {
    const queue = this.#queues.get(clientId);
    // aedes also calls this for a packet it never numbered (a second subscription of the client matched it and
    // aedes sent it once): it must not take a queued packet that is not numbered yet either.
    if (queue === undefined || packet.messageId === undefined) return undefined;
    const i = queue.findIndex((p) => p.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [removed] = queue.splice(i, 1);
    if (queue.length === 0) this.#queues.delete(clientId);
    return removed;
  }

  /** Drops what this keeps about a session (not aedes's subscriptions). */
  #forget(clientId: string): void {
    const session = this.#sessions.get(clientId);
    if (session?.offlineSince !== null && session !== undefined) {
      this.#offline--;
    }
    this.#sessions.delete(clientId);
    this.#queues.delete(clientId);
    this.#options.onSessionEnd?.(clientId);
  }

  /** Ends an offline session: its queue, its subscriptions, its unfinished QoS 2 messages. */
  async #remove(clientId: string, reason: string): Promise<void> {
    const session = this.#sessions.get(clientId);
    if (session?.offlineSince === null || session === undefined) return;
    this.#forget(clientId);
    this.#report(clientId, reason);
    try {
      await this.#cleanSubscriptions?.({ id: clientId });
      await this.#cleanIncoming?.({ id: clientId });
    } catch (error) {
      this.#report(
        clientId,
        `cannot remove session: ${(error as Error).message}`,
      );
    }
  }

  #report(clientId: string, message: string): void {
    try {
      this.#options.onEvent(clientId, message);
    } catch (error) {
      console.error("SessionBounds onEvent handler threw:", error);
    }
  }
}

/** A message's identity across the copies aedes makes of it. */
function _key(packet: _Packet): string {
  return `${packet.brokerId}/${packet.brokerCounter}`;
}

/** A copy of a packet as aedes-persistence stores it (aedes goes on using the original), sharing the payload. */
function _copy(original: _Packet, qos = original.qos ?? 0): _Packet {
  const packet: _Packet = {
    cmd: original.cmd || "publish",
    brokerId: original.brokerId,
    brokerCounter: original.brokerCounter ?? 0,
    topic: original.topic,
    payload: original.payload,
    qos,
    retain: original.retain ?? false,
    dup: original.dup ?? false,
  };
  for (
    const key of ["clientId", "nl", "properties", "messageExpiry"] as const
  ) {
    if (Object.hasOwn(original, key)) {
      (packet as unknown as Record<string, unknown>)[key] = original[key];
    }
  }
  if ((packet.qos ?? 0) > 0 || packet.cmd !== "publish") {
    packet.messageId = undefined;
  }
  return packet;
}
