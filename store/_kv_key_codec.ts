/**
 * Deno KV keys as bytes whose byte order is the keys' order (as Deno KV orders them: byte arrays, then strings, then
 * numbers, then booleans; within a type by value), so that a database that compares bytes (PostgreSQL's `bytea`)
 * lists them as Deno KV does. Each part is a type byte and its value; byte arrays and strings end with `0x00`, a
 * `0x00` inside them written `0x00 0xFF`; numbers are IEEE 754 big-endian with the sign flipped (negative ones
 * inverted whole). A key's encoding is a proper prefix of every longer key under it, and `0xFF` (never a type byte)
 * ends the range of keys under a prefix.
 *
 * @module
 */

const BYTES = 0x01;
const STRING = 0x02;
const NUMBER = 0x21;
const FALSE = 0x26;
const TRUE = 0x27;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of `key`. @throws {TypeError} for a bigint or any other part Deno KV keys do not hold */
export function encodeKey(key: Deno.KvKey): Uint8Array {
  const out: number[] = [];
  for (const part of key) {
    if (part instanceof Uint8Array) {
      out.push(BYTES);
      escaped(out, part);
    } else if (typeof part === "string") {
      out.push(STRING);
      escaped(out, encoder.encode(part));
    } else if (typeof part === "number") {
      out.push(NUMBER);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, part === 0 ? 0 : part);
      if (bytes[0]! & 0x80) {
        for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i]! & 0xff;
      } else {
        bytes[0] = bytes[0]! | 0x80;
      }
      out.push(...bytes);
    } else if (typeof part === "boolean") {
      out.push(part ? TRUE : FALSE);
    } else {
      throw new TypeError(
        `key part ${
          String(part)
        }: expected a string, number, boolean or Uint8Array`,
      );
    }
  }
  return new Uint8Array(out);
}

/** The key `bytes` encode. @throws {RangeError} when they are not a key's encoding */
export function decodeKey(bytes: Uint8Array): Deno.KvKey {
  const key: Deno.KvKeyPart[] = [];
  let i = 0;
  while (i < bytes.length) {
    const type = bytes[i++];
    if (type === BYTES || type === STRING) {
      const part: number[] = [];
      for (;;) {
        if (i >= bytes.length) throw new RangeError("key: unterminated part");
        const b = bytes[i++]!;
        if (b !== 0) {
          part.push(b);
        } else if (bytes[i] === 0xff) {
          part.push(0);
          i++;
        } else {
          break;
        }
      }
      const raw = new Uint8Array(part);
      key.push(type === BYTES ? raw : decoder.decode(raw));
    } else if (type === NUMBER) {
      // A copy (a Node Buffer's slice would be a view into its pool).
      const raw = new Uint8Array(bytes.subarray(i, i + 8));
      i += 8;
      if (raw[0]! & 0x80) {
        raw[0] = raw[0]! & 0x7f;
      } else {
        for (let j = 0; j < 8; j++) raw[j] = ~raw[j]! & 0xff;
      }
      key.push(new DataView(raw.buffer).getFloat64(0));
    } else if (type === FALSE || type === TRUE) {
      key.push(type === TRUE);
    } else {
      throw new RangeError(`key: unknown part type ${type}`);
    }
  }
  return key;
}

/** The byte after every key under a prefix: `encodeKey(prefix) + 0xFF` ends their range. */
export const PREFIX_END = 0xff;

function escaped(out: number[], bytes: Uint8Array): void {
  for (const b of bytes) {
    out.push(b);
    if (b === 0) out.push(0xff);
  }
  out.push(0);
}
