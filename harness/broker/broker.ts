/**
 * The embedded MQTT broker students' controllers connect to: aedes, behind a front door that also lets MQTT 5 clients
 * in, over TCP and over WebSocket.
 *
 * @module
 */

import type { EventEmitter } from "node:events";
import net from "node:net";
import type { Duplex } from "node:stream";
import { Aedes, type Client } from "aedes";
import { frontDoor } from "./_front_door.ts";
import { guardPackets } from "./_packet_guard.ts";
import { firstConnect } from "./_first_connect.ts";
import { installMqttRules } from "./_mqtt_rules.ts";
import {
  SessionBounds,
  type SessionPersistence,
  type SessionStats,
} from "./_session_bounds.ts";
import { withDefaults } from "../../lib/mod.ts";
import { WebSocketDuplex } from "./_websocket_duplex.ts";
import { SessionSubscriptions } from "./_subscription_options.ts";

/** Options for {@linkcode EmbeddedBroker.start}. */
export interface BrokerOptions {
  /** Interface to listen on; `"0.0.0.0"` to accept other machines. */
  host?: string;
  /** MQTT over TCP; 0 picks a free port. */
  port?: number;
  /** MQTT over WebSocket (any path, e.g. `/mqtt`); 0 picks a free port, null or false turns it off. */
  wsPort?: number | null | false;
  /** Largest CONNECT packet accepted, in bytes: a client claiming more is dropped before it is buffered. */
  maxConnectPacket?: number;
  /** Largest packet of any kind, in bytes: a client whose packet header claims more is disconnected at once. */
  maxPacketSize?: number;
  /**
   * Open connections allowed from one address (IP). A new one past it closes that address's oldest connection that
   * is not yet an MQTT client (no CONNACK yet); it is refused only when every one is. A class behind one NAT address
   * is one address.
   */
  maxConnectionsPerAddress?: number;
  /** Open connections allowed in all; past it the oldest connection not yet an MQTT client is closed, as above. */
  maxConnections?: number;
  /** Milliseconds a new connection has to send its CONNECT. */
  connectTimeout?: number;
  /**
   * QoS 1 messages kept for one offline persistent session (clean session 0); past it the oldest are dropped. A
   * persistent session's client online has at most this many unacknowledged; past it new ones are dropped.
   */
  maxQueuedPerSession?: number;
  /** Offline persistent sessions kept; past it the one offline longest is removed. */
  maxOfflineSessions?: number;
  /**
   * Milliseconds an offline persistent session is kept: MQTT 3.1.1 sessions get this, MQTT 5 clients their session
   * expiry interval up to this. Infinity keeps sessions until `maxOfflineSessions` pushes them out.
   */
  sessionExpiry?: number;
  /** The clock sessions expire by, in milliseconds since the epoch (for tests). */
  now?: () => number;
  /** Connections, disconnections and errors, for logs; it must not throw (if it does, the error is only printed). */
  onEvent?: (event: BrokerEvent) => void;
}

const defaults = {
  host: "127.0.0.1",
  port: 1883,
  wsPort: 9001,
  maxConnectPacket: 65_536,
  maxPacketSize: 65_536,
  maxConnectionsPerAddress: 256,
  maxConnections: 1024,
  connectTimeout: 5_000,
  maxQueuedPerSession: 1_000,
  maxOfflineSessions: 1_000,
  sessionExpiry: 3_600_000,
  now: () => Date.now(),
  onEvent: () => {},
} satisfies Required<BrokerOptions>;

/** Something worth logging about the broker's clients. */
export type BrokerEvent =
  | {
    type: "connect";
    clientId: string;
    protocol: "3.1" | "3.1.1" | "5";
    transport: "tcp" | "ws";
    remoteAddress: string;
  }
  | { type: "disconnect"; clientId: string; remoteAddress: string }
  | {
    type: "error";
    clientId: string | null;
    remoteAddress: string;
    message: string;
  };

/** The broker could not start (port in use, bad address). */
export class BrokerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokerError";
  }
}

interface _Connection {
  transport: "tcp" | "ws";
  remoteAddress: string;
  protocolVersion: 3 | 4 | 5;
  /** The socket or WebSocket under the stream aedes reads. */
  socket: Duplex;
  /** Milliseconds an MQTT 5 client asked its session to outlive the connection. */
  sessionExpiry?: number;
}

/** The connections from one address: those not yet MQTT clients, oldest first, and how many are. */
interface _Address {
  pending: Set<Duplex>;
  established: number;
}

const _PROTOCOL_NAMES = { 3: "3.1", 4: "3.1.1", 5: "5" } as const;

/**
 * An MQTT broker in this process. MQTT 3.1, 3.1.1 and 5 clients can connect over TCP (`url`) and WebSocket
 * (`wsUrl`) and talk to each other; in-process code can use `aedes` directly (see `AedesBus`).
 *
 * @example
 * ```ts
 * await using broker = await EmbeddedBroker.start({ port: 0, wsPort: 0 });
 * console.log(`controllers connect to ${broker.url} or ${broker.wsUrl}`);
 * ```
 */
export class EmbeddedBroker {
  /** The aedes instance, for in-process publish/subscribe and hooks. */
  readonly aedes: Aedes;
  /** Interface listened on. */
  readonly host: string;
  /** MQTT over TCP port. */
  readonly port: number;
  /** MQTT over WebSocket port, or null when WebSocket is off. */
  readonly wsPort: number | null;
  /** `mqtt://host:port` for clients. */
  readonly url: string;
  /** `ws://host:wsPort/mqtt` for clients (any path works), or null when WebSocket is off. */
  readonly wsUrl: string | null;

  readonly #options: Required<BrokerOptions>;
  readonly #tcp: net.Server;
  readonly #ws: Deno.HttpServer<Deno.NetAddr> | null;
  /** Every live client connection (socket or WebSocket), so that close() can end them. */
  readonly #transports = new Set<Duplex>();
  /** Open connections per remote IP. */
  readonly #perAddress = new Map<string, _Address>();
  /** Connections not yet MQTT clients (no CONNACK), oldest first: the first to go when a limit is reached. */
  readonly #pending = new Set<Duplex>();
  /** Connections that became MQTT clients. */
  readonly #clients = new WeakSet<Duplex>();
  readonly #sessions: SessionBounds;
  /** What aedes sees as a client's `conn` → where it came from. */
  readonly #connections = new WeakMap<Duplex, _Connection>();
  /** TCP connections → the client's port. */
  readonly #tcpPorts = new WeakMap<Duplex, number>();
  /** Connections the front door let in → the stream the broker reads (the connection, or the MQTT 5 bridge). */
  readonly #admitted = new WeakMap<Duplex, Duplex>();
  /** Connections → where they came from. */
  readonly #addresses = new WeakMap<
    Duplex,
    { ip: string; remoteAddress: string }
  >();
  #closing: Promise<void> | null = null;

  private constructor(
    aedes: Aedes,
    options: Required<BrokerOptions>,
    tcp: net.Server,
    ws: Deno.HttpServer<Deno.NetAddr> | null,
  ) {
    this.aedes = aedes;
    this.#options = options;
    this.#tcp = tcp;
    this.#ws = ws;
    this.host = options.host;
    this.port = (tcp.address() as net.AddressInfo).port;
    this.wsPort = ws ? ws.addr.port : null;
    const host = _urlHost(options.host);
    this.url = `mqtt://${host}:${this.port}`;
    this.wsUrl = ws ? `ws://${host}:${this.wsPort}/mqtt` : null;
    this.#sessions = new SessionBounds({
      ...options,
      onEvent: (clientId, message) =>
        this.#emit({
          type: "error",
          clientId,
          remoteAddress: "broker",
          message,
        }),
      onSessionEnd: (clientId) =>
        SessionSubscriptions.of(aedes).ended(clientId),
    });
    this.#sessions.install(
      (aedes as unknown as { persistence: SessionPersistence }).persistence,
    );
  }

  /** Starts aedes and the listeners. Throws {@linkcode BrokerError} when a port is taken. */
  static async start(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
    const resolved = withDefaults<Required<BrokerOptions>>(defaults, options);
    const aedes = await Aedes.createBroker();
    // Before any hook of the broker's users: theirs are then set inside the rules, not over them.
    let broker: EmbeddedBroker | null = null;
    installMqttRules(aedes, {
      forward: (client, packet) =>
        broker === null || broker.#sessions.forward(client.id, packet),
    });
    // No connection can arrive before `broker` is set: listen() resolves and the constructor runs in one task.
    const tcp = net.createServer((socket) =>
      broker ? broker.#acceptSocket(socket) : socket.destroy()
    );
    let ws: Deno.HttpServer<Deno.NetAddr> | null = null;
    try {
      await _listen(tcp, resolved.host, resolved.port);
      if (resolved.wsPort !== null && resolved.wsPort !== false) {
        ws = _serve(
          resolved.host,
          resolved.wsPort,
          (request, info) => broker!.handleWebSocket(request, info),
        );
      }
    } catch (error) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw error;
    }
    broker = new EmbeddedBroker(aedes, resolved, tcp, ws);
    broker.#watch();
    return broker;
  }

  /**
   * Serves one MQTT-over-WebSocket request (subprotocol `mqtt` or `mqttv3.1`), so that a web server can offer MQTT
   * on its own port under a path of its choosing. Other requests get 426 Upgrade Required.
   */
  handleWebSocket(request: Request, info?: Deno.ServeHandlerInfo): Response {
    if (this.#closing) {
      return new Response("The broker is shutting down\n", { status: 503 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        "This endpoint speaks MQTT over WebSocket: point an MQTT client at ws://…/mqtt\n",
        {
          status: 426,
          headers: { upgrade: "websocket" },
        },
      );
    }
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(
      ",",
    ).map((p) => p.trim());
    const protocol = ["mqtt", "mqttv3.1"].find((p) => offered.includes(p));
    if (!protocol && offered.some((p) => p !== "")) {
      return new Response(
        `Expected the WebSocket subprotocol "mqtt", got "${
          offered.join(", ")
        }"\n`,
        { status: 400 },
      );
    }
    // Read before upgrading: afterwards Deno considers the request closed and the getter throws.
    const address = info?.remoteAddr as Deno.NetAddr | undefined;
    const remoteAddress = address
      ? `${address.hostname}:${address.port}`
      : "websocket";
    let upgrade: { socket: WebSocket; response: Response };
    try {
      upgrade = Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    } catch (error) {
      return new Response(
        `Bad WebSocket upgrade: ${(error as Error).message}\n`,
        { status: 400 },
      );
    }
    this.#accept(new WebSocketDuplex(upgrade.socket), "ws", remoteAddress);
    return upgrade.response;
  }

  /**
   * The broker's side of its TCP connections, by the client's port: true while it has work in hand for one (a
   * CONNECT awaited, bytes read and not yet parsed, a packet being handled, bytes not yet handed to the kernel). The
   * lockstep runner's process-level barrier reads this beside the kernel's socket queues.
   */
  tcpWork(): Map<number, boolean> {
    const work = new Map<number, boolean>();
    for (const transport of this.#transports) {
      const port = this.#tcpPorts.get(transport);
      if (port !== undefined) {
        work.set(port, _busy(transport, this.#admitted.get(transport)));
      }
    }
    return work;
  }

  /**
   * The port `client` connected from over TCP (its side of the connection), so that the lockstep runner can find the
   * process holding it; undefined for a client over WebSocket, or one the broker does not know.
   */
  clientTcpPort(client: Client): number | undefined {
    const connection = this.#connections.get(client.conn as Duplex);
    if (connection?.transport !== "tcp") return undefined;
    const port = Number(/:(\d+)$/.exec(connection.remoteAddress)?.[1]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  }

  /** How many persistent sessions are offline and how many messages are queued (see `maxQueuedPerSession`). */
  sessionStats(): SessionStats {
    return this.#sessions.stats();
  }

  /** Ends every client connection and both listeners. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** `await using broker = …` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    const tcpClosed = new Promise<void>((resolve) =>
      this.#tcp.close(() => resolve())
    );
    this.#sessions.close();
    for (const transport of this.#transports) transport.destroy();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await tcpClosed;
    await this.#ws?.shutdown();
  }

  #acceptSocket(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (socket.remotePort !== undefined) {
      this.#tcpPorts.set(socket, socket.remotePort);
    }
    this.#accept(socket, "tcp", `${socket.remoteAddress}:${socket.remotePort}`);
  }

  #accept(transport: Duplex, kind: "tcp" | "ws", remoteAddress: string): void {
    if (this.#closing) return void transport.destroy();
    const ip = remoteAddress.replace(/:\d+$/, "");
    let address = this.#perAddress.get(ip);
    if (address === undefined) {
      this.#perAddress.set(
        ip,
        address = { pending: new Set(), established: 0 },
      );
    }
    const fromIp = address.pending.size + address.established;
    // At a limit, a connection that has not become an MQTT client makes room before anyone is refused.
    const shed = fromIp >= this.#options.maxConnectionsPerAddress
      ? _first(address.pending)
      : this.#transports.size >= this.#options.maxConnections
      ? _first(this.#pending)
      : null;
    const limit = shed !== undefined && shed !== null
      ? undefined
      : fromIp >= this.#options.maxConnectionsPerAddress
      ? `${this.#options.maxConnectionsPerAddress} connections from ${ip}`
      : this.#transports.size >= this.#options.maxConnections
      ? `${this.#options.maxConnections} connections in all`
      : undefined;
    if (limit !== undefined) {
      transport.on("error", () => {});
      transport.destroy();
      if (address.pending.size + address.established === 0) {
        this.#perAddress.delete(ip);
      }
      this.#emit({
        type: "error",
        clientId: null,
        remoteAddress,
        message: `refused: already ${limit}`,
      });
      return;
    }
    if (shed) this.#shed(shed);
    address.pending.add(transport);
    this.#pending.add(transport);
    this.#transports.add(transport);
    this.#addresses.set(transport, { ip, remoteAddress });
    transport.once("close", () => {
      this.#transports.delete(transport);
      this.#pending.delete(transport);
      const here = this.#perAddress.get(ip);
      if (here === undefined) return;
      if (this.#clients.has(transport)) here.established--;
      else here.pending.delete(transport);
      if (here.pending.size + here.established === 0) {
        this.#perAddress.delete(ip);
      }
    });
    const sessionExpiry = firstConnect(
      transport,
      this.#options.maxConnectPacket,
    );
    guardPackets(
      transport,
      this.#options.maxPacketSize,
      (reason) =>
        this.#emit({
          type: "error",
          clientId: this.#clientIdOf(transport),
          remoteAddress,
          message: `${reason}: disconnected`,
        }),
    );
    frontDoor(transport, this.#options, {
      handle: (stream) => this.aedes.handle(stream),
      admitted: (stream, protocolVersion) => {
        this.#admitted.set(transport, stream);
        const expiry = sessionExpiry();
        this.#connections.set(stream, {
          transport: kind,
          remoteAddress,
          protocolVersion,
          socket: transport,
          ...(expiry !== undefined ? { sessionExpiry: expiry } : {}),
        });
      },
      refused: (message, clientId) =>
        this.#emit({
          type: "error",
          clientId: clientId ?? null,
          remoteAddress,
          message,
        }),
      sessionExpiry: (stream, seconds) => {
        const connection = this.#connections.get(stream);
        if (connection) connection.sessionExpiry = seconds * 1000;
      },
    });
  }

  /** Closes a connection that has not become an MQTT client, to make room for a new one. */
  #shed(transport: Duplex): void {
    const where = this.#addresses.get(transport);
    this.#pending.delete(transport);
    if (where) this.#perAddress.get(where.ip)?.pending.delete(transport);
    transport.on("error", () => {});
    transport.destroy();
    this.#emit({
      type: "error",
      clientId: null,
      remoteAddress: where?.remoteAddress ?? "unknown",
      message:
        "closed before its CONNACK to make room for a new connection (connection limit reached)",
    });
  }

  /** A connection became an MQTT client: it no longer goes first when room is needed. */
  #established(transport: Duplex): void {
    if (!this.#pending.delete(transport)) return;
    const where = this.#addresses.get(transport);
    const address = where && this.#perAddress.get(where.ip);
    if (address?.pending.delete(transport)) {
      address.established++;
      this.#clients.add(transport);
    }
  }

  /** The id of the MQTT client on `transport`, null before its CONNECT (or behind the MQTT 5 bridge). */
  #clientIdOf(transport: Duplex): string | null {
    const clients =
      (this.aedes as unknown as { clients: Record<string, Client> })
        .clients;
    return Object.values(clients).find((c) => c.conn === transport)?.id ??
      null;
  }

  /** aedes events become BrokerEvents; listening to `error` also keeps an aedes error from crashing the process. */
  #watch(): void {
    const where = (client: Client) =>
      this.#connections.get(client.conn as Duplex);
    this.aedes.on("client", (client) => {
      const connection = where(client);
      if (connection) this.#established(connection.socket);
      this.#sessions.connected(
        client.id,
        client.clean,
        connection?.sessionExpiry,
      );
      this.#emit({
        type: "connect",
        clientId: client.id,
        protocol: _PROTOCOL_NAMES[connection?.protocolVersion ?? 4],
        transport: connection?.transport ?? "tcp",
        remoteAddress: connection?.remoteAddress ?? "unknown",
      });
    });
    this.aedes.on("clientDisconnect", (client) => {
      if (!client.clean) {
        this.#sessions.disconnected(client.id, where(client)?.sessionExpiry);
      }
      this.#emit({
        type: "disconnect",
        clientId: client.id,
        remoteAddress: where(client)?.remoteAddress ?? "unknown",
      });
    });
    this.aedes.on("clientError", (client, error) => {
      const remoteAddress = where(client)?.remoteAddress ?? "unknown";
      this.#emit({
        type: "error",
        clientId: client.id,
        remoteAddress,
        message: error.message,
      });
    });
    this.aedes.on("connectionError", (client, error) => {
      const remoteAddress = where(client)?.remoteAddress ?? "unknown";
      this.#emit({
        type: "error",
        clientId: null,
        remoteAddress,
        message: error.message,
      });
    });
    // The typings leave out the EventEmitter "error" event, which aedes emits for persistence failures.
    (this.aedes as EventEmitter).on("error", (error: Error) => {
      this.#emit({
        type: "error",
        clientId: null,
        remoteAddress: "broker",
        message: error.message,
      });
    });
    this.#tcp.on("error", (error) => {
      this.#emit({
        type: "error",
        clientId: null,
        remoteAddress: "listener",
        message: error.message,
      });
    });
  }

  #emit(event: BrokerEvent): void {
    try {
      this.#options.onEvent(event);
    } catch (error) {
      console.error("EmbeddedBroker onEvent handler threw:", error);
    }
  }
}

/** The oldest entry of a set kept in arrival order. */
function _first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}

/** Whether the broker has work in hand for a connection `transport`, whose broker-facing stream is `stream`. */
function _busy(transport: Duplex, stream: Duplex | undefined): boolean {
  if (transport.destroyed) return false;
  if (stream === undefined) return true; // the front door awaits the CONNECT
  for (const s of stream === transport ? [stream] : [transport, stream]) {
    if (s.readableLength > 0 || s.writableLength > 0) return true;
  }
  // aedes keeps these on the client it sets as `conn.client`: packets being handled, and those queued before CONNACK.
  const client = (stream as {
    client?: {
      _parsingBatch?: number;
      _parser?: { _queue?: unknown[] | null };
    };
  }).client;
  if (client === undefined) return true; // not yet handed to aedes
  return (client._parsingBatch ?? 0) > 0 ||
    (client._parser?._queue?.length ?? 0) > 0;
}

/** `net.Server.listen` as a promise, with a clear error for a taken port. */
function _listen(
  server: net.Server,
  host: string,
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new BrokerError(
            `Port ${port} is already in use: pass --port 0 for a free one or stop the other broker`,
            { cause: error },
          )
          : new BrokerError(
            `Cannot listen on ${host}:${port}: ${error.message}`,
            { cause: error },
          ),
      );
    };
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve();
    });
  });
}

/** `Deno.serve` without its banner, with a clear error for a taken port. */
function _serve(
  host: string,
  port: number,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname: host, port, onListen: () => {} }, handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new BrokerError(
        `Port ${port} is already in use: pass --ws-port 0 for a free one, --ws-port false to turn WebSocket off, or stop the other broker`,
        { cause: error },
      );
    }
    throw new BrokerError(
      `Cannot listen on ${host}:${port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** How `host` appears in a URL clients can use: a wildcard address becomes loopback, IPv6 gets brackets. */
function _urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
