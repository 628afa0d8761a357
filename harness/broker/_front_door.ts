/**
 * The front door of every broker connection: reads the first packet, which must be a CONNECT no larger than a set
 * size, and routes the connection by protocol level. MQTT 3.1 and 3.1.1 go straight to aedes with the CONNECT bytes
 * put back in front of the stream (no cost afterwards); MQTT 5 goes through `bridgeMqtt5`. Anything else is closed.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import mqttPacket from "mqtt-packet";
import type { IConnectPacket } from "mqtt-packet";
import { ByteDuplex, readEverything } from "./_byte_duplex.ts";
import { bridgeMqtt5 } from "./_mqtt5_bridge.ts";

/** Limits applied before a connection reaches the broker. */
export interface FrontDoorOptions {
  /** Largest first packet accepted, in bytes; a longer one is refused as soon as its length header is read. */
  maxConnectPacket: number;
  /** Milliseconds a client has to send its whole CONNECT. */
  connectTimeout: number;
}

/** What the front door tells its owner. */
export interface FrontDoorHooks {
  /** Hand a stream speaking MQTT 3.1/3.1.1 to the broker (`aedes.handle`). */
  handle(stream: Duplex): void;
  /** The connection was let in; `stream` is what the broker sees (the connection itself, or the MQTT 5 bridge). */
  admitted(stream: Duplex, protocolVersion: 3 | 4 | 5): void;
  /**
   * The connection was closed before reaching the broker, or the MQTT 5 adapter refused it or closed it for a protocol
   * error (then `clientId` is known).
   */
  refused(reason: string, clientId?: string): void;
  /** An MQTT 5 client's DISCONNECT set its session expiry interval to `seconds`; `stream` is as in `admitted`. */
  sessionExpiry?(stream: Duplex, seconds: number): void;
}

/** How far the first packet has arrived: its total length once known and buffered. */
export type FirstPacket =
  | { status: "incomplete" }
  | { status: "invalid"; reason: string }
  | { status: "complete"; length: number };

/** CONNACK with return code 1, "unacceptable protocol version", in the 3.1.1 format every version understands. */
const _UNSUPPORTED_VERSION = Uint8Array.of(0x20, 0x02, 0x00, 0x01);

/**
 * Frames the first packet of a connection from its fixed header alone, so that a client claiming a huge packet is
 * refused before it is buffered.
 */
export function frameFirstPacket(
  bytes: Uint8Array,
  maxBytes: number,
): FirstPacket {
  if (bytes.length === 0) return { status: "incomplete" };
  if (bytes[0] !== 0x10) {
    return {
      status: "invalid",
      reason: `expected a CONNECT packet (0x10) first, got 0x${
        _hex(bytes[0]!)
      }`,
    };
  }
  let remaining = 0;
  for (let i = 1, multiplier = 1; i <= 4; i++, multiplier *= 128) {
    const byte = bytes[i];
    if (byte === undefined) return { status: "incomplete" };
    remaining += (byte & 0x7f) * multiplier;
    const total = 1 + i + remaining;
    if (total > maxBytes) {
      return {
        status: "invalid",
        reason: `CONNECT packet larger than ${maxBytes} bytes`,
      };
    }
    if ((byte & 0x80) === 0) {
      return total <= bytes.length
        ? { status: "complete", length: total }
        : { status: "incomplete" };
    }
  }
  return { status: "invalid", reason: "malformed CONNECT length" };
}

/** Parses a complete first packet; `unsupportedVersion` when only the protocol level is wrong. */
export function parseConnect(
  bytes: Uint8Array,
): { packet: IConnectPacket } | {
  reason: string;
  unsupportedVersion: boolean;
} {
  const parser = mqttPacket.parser();
  let packet: IConnectPacket | null = null;
  let error: Error | null = null;
  parser.on("packet", (p) => packet ??= p.cmd === "connect" ? p : null);
  parser.on("error", (e) => error ??= e);
  parser.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (packet) return { packet };
  const message = (error as Error | null)?.message ??
    "unreadable CONNECT packet";
  return {
    reason: `bad CONNECT packet: ${message}`,
    unsupportedVersion: message === "Invalid protocol version",
  };
}

/** Takes `stream` through the front door; the hooks say what happened. Never throws. */
export function frontDoor(
  stream: Duplex,
  options: FrontDoorOptions,
  hooks: FrontDoorHooks,
): void {
  let head: Buffer = Buffer.alloc(0);
  let done = false;

  const timer = setTimeout(
    () => refuse(`no CONNECT within ${options.connectTimeout} ms`),
    options.connectTimeout,
  );

  function finish(): void {
    done = true;
    clearTimeout(timer);
    stream.off("data", onData);
    stream.off("close", onClose);
  }

  function refuse(reason: string, reply?: Uint8Array): void {
    if (done) return;
    finish();
    if (reply && !stream.destroyed) stream.end(reply, () => stream.destroy());
    else stream.destroy();
    hooks.refused(reason);
  }

  function onClose(): void {
    refuse("closed before CONNECT");
  }

  function onData(chunk: Buffer): void {
    // At most maxConnectPacket bytes are ever gathered here, so copying is cheap.
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const framed = frameFirstPacket(head, options.maxConnectPacket);
    if (framed.status === "incomplete") return;
    if (framed.status === "invalid") return refuse(framed.reason);
    const parsed = parseConnect(head.subarray(0, framed.length));
    if ("reason" in parsed) {
      return refuse(
        parsed.reason,
        parsed.unsupportedVersion ? _UNSUPPORTED_VERSION : undefined,
      );
    }
    admit(head, parsed.packet.protocolVersion ?? 4);
  }

  function admit(head: Buffer, protocolVersion: 3 | 4 | 5): void {
    finish();
    stream.pause();
    if (protocolVersion === 5) {
      bridgeMqtt5(stream, head, (broker) => {
        hooks.admitted(broker, 5);
        hooks.handle(broker);
      }, {
        onError: (reason, clientId) =>
          hooks.refused(reason, clientId ?? undefined),
        onSessionExpiry: (broker, seconds) =>
          hooks.sessionExpiry?.(broker, seconds),
      });
      stream.resume();
      return;
    }
    if (!(stream instanceof ByteDuplex)) readEverything(stream);
    stream.unshift(head);
    hooks.admitted(stream, protocolVersion);
    hooks.handle(stream);
  }

  stream.on("error", () => {}); // reported by whoever owns the stream next; unhandled it would crash the process
  stream.on("close", onClose);
  stream.on("data", onData);
}

function _hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
