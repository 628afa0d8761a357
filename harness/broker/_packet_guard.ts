/**
 * A guard on the bytes a client sends, before any MQTT parser sees them: it follows the packet boundaries from the
 * fixed headers alone and reports the first packet longer than the cap (or with a malformed length) as soon as its
 * header has arrived, so a client claiming a 200 MB packet is cut off instead of buffered. It never copies payloads.
 *
 * @module
 */

import type { Duplex } from "node:stream";

/** Follows MQTT packet framing across chunks; {@linkcode PacketGuard.feed} says when a packet breaks the cap. */
export class PacketGuard {
  readonly maxBytes: number;
  /** Bytes of the fixed header read so far (type byte, then up to four length bytes). */
  #header = 0;
  #length = 0;
  #multiplier = 1;
  /** Body bytes of the current packet not yet seen. */
  #remaining = 0;
  /** Whether the packet being read is the connection's first (checked by the front door, with its own cap). */
  #first: boolean;

  /** `skipFirst`: leave the first packet's size to the front door, which has its own cap for CONNECT. */
  constructor(maxBytes: number, options: { skipFirst?: boolean } = {}) {
    this.maxBytes = maxBytes;
    this.#first = options.skipFirst ?? false;
  }

  /** Takes the next bytes; returns why the connection must close, or undefined while every packet fits. */
  feed(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#header++ === 0) continue; // the packet type
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      const total = this.#header + this.#length;
      if (total > this.maxBytes && !this.#first) {
        const more = (byte & 0x80) !== 0 ? " or more" : "";
        return `packet larger than ${this.maxBytes} bytes (its header claims ${total}${more})`;
      }
      if (byte & 0x80) {
        if (this.#header === 5) return "malformed packet length";
        continue;
      }
      this.#remaining = this.#length;
      this.#first = false;
      this.#header = 0;
      this.#length = 0;
      this.#multiplier = 1;
    }
    return undefined;
  }
}

/**
 * Watches every chunk `transport` receives (whoever reads it, and however: `data` events or `read()`), and calls
 * `onViolation` once, then destroys the transport, when a packet after the first breaks the cap (the first, CONNECT,
 * is the front door's to judge).
 */
export function guardPackets(
  transport: Duplex,
  maxBytes: number,
  onViolation: (reason: string) => void,
): void {
  const guard = new PacketGuard(maxBytes, { skipFirst: true });
  const push = transport.push;
  let broken = false;
  // deno-lint-ignore no-explicit-any
  transport.push = function (this: Duplex, chunk: any, encoding?: any) {
    if (broken) return false;
    if (chunk !== null && chunk !== undefined && typeof chunk !== "string") {
      const reason = guard.feed(chunk as Uint8Array);
      if (reason !== undefined) {
        broken = true;
        onViolation(reason);
        this.destroy();
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
}
