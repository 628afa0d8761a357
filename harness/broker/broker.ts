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
import { withDefaults } from "../../lib/mod.ts";
import { WebSocketDuplex } from "./_websocket_duplex.ts";

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
  /** Open connections allowed from one address (IP); more are closed at once. */
  maxConnectionsPerAddress?: number;
  /** Open connections allowed in all. */
  maxConnections?: number;
  /** Milliseconds a new connection has to send its CONNECT. */
  connectTimeout?: number;
  /** Connections, disconnections and errors, for logs; it must not throw (if it does, the error is only printed). */
  onEvent?: (event: BrokerEvent) => void;
}

const defaults = {
  host: "127.0.0.1",
  port: 1883,
  wsPort: 9001,
  maxConnectPacket: 65_536,
  maxPacketSize: 65_536,
  maxConnectionsPerAddress: 64,
  maxConnections: 1024,
  connectTimeout: 5_000,
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
  readonly #perAddress = new Map<string, number>();
  /** What aedes sees as a client's `conn` → where it came from. */
  readonly #connections = new WeakMap<Duplex, _Connection>();
  /** TCP connections → the client's port. */
  readonly #tcpPorts = new WeakMap<Duplex, number>();
  /** Connections the front door let in → the stream the broker reads (the connection, or the MQTT 5 bridge). */
  readonly #admitted = new WeakMap<Duplex, Duplex>();
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
  }

  /** Starts aedes and the listeners. Throws {@linkcode BrokerError} when a port is taken. */
  static async start(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
    const resolved = withDefaults<Required<BrokerOptions>>(defaults, options);
    const aedes = await Aedes.createBroker();
    let broker: EmbeddedBroker | null = null;
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
    const fromIp = this.#perAddress.get(ip) ?? 0;
    const limit = this.#transports.size >= this.#options.maxConnections
      ? `${this.#options.maxConnections} connections in all`
      : fromIp >= this.#options.maxConnectionsPerAddress
      ? `${this.#options.maxConnectionsPerAddress} connections from ${ip}`
      : undefined;
    if (limit !== undefined) {
      transport.on("error", () => {});
      transport.destroy();
      this.#emit({
        type: "error",
        clientId: null,
        remoteAddress,
        message: `refused: already ${limit}`,
      });
      return;
    }
    this.#perAddress.set(ip, fromIp + 1);
    this.#transports.add(transport);
    transport.once("close", () => {
      this.#transports.delete(transport);
      const left = (this.#perAddress.get(ip) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(ip, left);
      else this.#perAddress.delete(ip);
    });
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
        this.#connections.set(stream, {
          transport: kind,
          remoteAddress,
          protocolVersion,
        });
      },
      refused: (message, clientId) =>
        this.#emit({
          type: "error",
          clientId: clientId ?? null,
          remoteAddress,
          message,
        }),
    });
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
      this.#emit({
        type: "connect",
        clientId: client.id,
        protocol: _PROTOCOL_NAMES[connection?.protocolVersion ?? 4],
        transport: connection?.transport ?? "tcp",
        remoteAddress: connection?.remoteAddress ?? "unknown",
      });
    });
    this.aedes.on("clientDisconnect", (client) => {
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
