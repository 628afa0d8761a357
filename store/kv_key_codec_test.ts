/**
 * The key encoding of the PostgreSQL store: random keys decode to themselves, and their byte order is the order in
 * which Deno KV itself lists them (checked against a Deno KV file).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeKey, encodeKey } from "./_kv_key_codec.ts";

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

const keyPart = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("", "\0", "a\0b", "ä"),
  fc.double({ noNaN: true }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 4 }),
);
const key = fc.array(keyPart, { minLength: 1, maxLength: 3 });

Deno.test("key encoding: decodes to the key, and byte order is Deno KV's list order", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/order.kv`);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, {
          minLength: 2,
          maxLength: 12,
          selector: (k) =>
            JSON.stringify(k.map(String)) + k.map((p) => typeof p).join(),
        }),
        async (keys) => {
          for (const k of keys) {
            assert.deepEqual(
              decodeKey(encodeKey(k)),
              k.map((p) => Object.is(p, -0) ? 0 : p),
            );
          }
          const prefix = ["p", crypto.randomUUID()];
          let op = kv.atomic();
          for (const k of keys) op = op.set([...prefix, ...k], 1);
          await op.commit();
          const listed: Deno.KvKey[] = [];
          for await (const e of kv.list({ prefix })) {
            listed.push(e.key.slice(2));
          }
          const sorted = [
            ...new Set(keys.map((k) => JSON.stringify([...encodeKey(k)]))),
          ]
            .map((s) => new Uint8Array(JSON.parse(s)))
            .sort(compareBytes);
          assert.deepEqual(
            listed.map((k) => [...encodeKey(k)]),
            sorted.map((b) => [...b]),
          );
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
