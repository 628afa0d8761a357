import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { ByteDuplex, readEverything } from "./_byte_duplex.ts";

function threeChunks<T extends Readable>(stream: T): T {
  for (const text of ["aa", "bb", "cc"]) stream.push(Buffer.from(text));
  return stream;
}

Deno.test("ByteDuplex.read() without a size returns every buffered chunk at once, as aedes expects", () => {
  const stream = threeChunks(
    new ByteDuplex({
      read() {},
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  assert.equal(String(stream.read(null)), "aabbcc");
  assert.equal(stream.read(), null);
  threeChunks(stream);
  assert.equal(String(stream.read()), "aabbcc");
  assert.equal(String(threeChunks(stream).read(3)), "aab"); // an explicit size is still honoured
});

Deno.test("readEverything() gives a plain Readable the same read()", () => {
  const stream = readEverything(threeChunks(new Readable({ read() {} })));
  assert.equal(String(stream.read()), "aabbcc");
});

Deno.test("a reader that reads once per 'readable' event, like aedes, gets data pushed in several chunks", async () => {
  const stream = new ByteDuplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  const seen: string[] = [];
  stream.on("readable", () => {
    const chunk = stream.read(null);
    if (chunk) seen.push(String(chunk));
  });
  threeChunks(stream);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(seen.join(""), "aabbcc");
  stream.destroy();
});
