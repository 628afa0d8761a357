/**
 * A server-side WebSocket (from `Deno.upgradeWebSocket`) seen as a byte stream, so that the front door and aedes can
 * treat MQTT over WebSocket exactly like MQTT over TCP.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { ByteDuplex } from "./_byte_duplex.ts";

/** Close code sent when the peer breaks the MQTT-over-WebSocket rules (text frames). */
const _POLICY_VIOLATION = 1008;

/**
 * Binary WebSocket messages in, `write()`s out as binary messages. MQTT packets may span messages and a message may
 * hold several packets, so no framing is needed here. A text message closes the connection, as the MQTT spec requires
 * (section 6).
 */
export class WebSocketDuplex extends ByteDuplex {
  readonly #socket: WebSocket;

  constructor(socket: WebSocket) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        socket.close(_POLICY_VIOLATION, "MQTT needs binary frames");
        this.destroy();
        return;
      }
      // The WebSocket API offers no way to pause the peer, so there is no backpressure to apply here.
      this.push(Buffer.from(event.data as ArrayBuffer));
    });
    socket.addEventListener("close", () => {
      this.push(null);
      this.destroy();
    });
    // An "error" event is always followed by "close", which does the cleanup.
    socket.addEventListener("error", () => {});
  }

  override _read(): void {}

  override _write(
    chunk: Buffer,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#send([chunk], callback);
  }

  override _writev(
    chunks: { chunk: Buffer }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.#send(chunks.map((c) => c.chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close();
    callback();
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    this.#close();
    callback(error);
  }

  #send(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      callback(new Error("WebSocket is closed"));
      return;
    }
    this.#socket.send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    callback();
  }

  #close(): void {
    const socket = this.#socket;
    // Deno ignores close() before the upgrade completes, so a stream destroyed that early closes on "open".
    if (socket.readyState === WebSocket.CONNECTING) {
      socket.addEventListener("open", () => socket.close(1000), { once: true });
    } else if (socket.readyState === WebSocket.OPEN) {
      socket.close(1000);
    }
  }
}
