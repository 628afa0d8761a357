/**
 * Byte streams that aedes can read under Deno.
 *
 * aedes reads its connection with `conn.read(null)` once per `readable` event and once after each batch of packets,
 * relying on Node's rule that `read()` without a size returns everything buffered. Deno 2.9's `node:stream` returns
 * only the first buffered chunk, so the rest waits until more bytes arrive, and a packet split over chunks can stall a
 * connection indefinitely. Asking for `readableLength` bytes returns all of them on both runtimes, so the fix is a
 * `read()` that does that: {@linkcode ByteDuplex} for our own streams, {@linkcode readEverything} for sockets we do not
 * construct (`net.Socket`). Both are no-ops in behaviour on Node.
 *
 * @module
 */

import { Duplex, type Readable } from "node:stream";

/** Size to ask `read()` for: everything buffered when no size was given (`undefined` or `null`). */
function _sizeFor(
  stream: Readable,
  size: number | null | undefined,
): number | undefined {
  if (size !== undefined && size !== null) return size;
  if (stream.readableObjectMode || stream.readableLength === 0) {
    return undefined;
  }
  return stream.readableLength;
}

/** Makes `stream.read()` without a size return every buffered byte, as on Node. Returns the same stream. */
export function readEverything<T extends Readable>(stream: T): T {
  const read = stream.read;
  // deno-lint-ignore no-explicit-any
  stream.read = function (this: T, size?: number | null): any {
    return read.call(this, _sizeFor(this, size));
  };
  return stream;
}

/**
 * A `Duplex` whose `read()` without a size returns every buffered byte. Subclasses implement `_read`, `_write` (and
 * preferably `_writev`, so that a packet written in pieces under `cork()` leaves as one chunk) like any `Duplex`.
 */
export class ByteDuplex extends Duplex {
  // deno-lint-ignore no-explicit-any
  override read(size?: number | null): any {
    return super.read(_sizeFor(this, size));
  }
}
