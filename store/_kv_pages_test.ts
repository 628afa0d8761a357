import assert from "node:assert/strict";
import {
  chunks,
  decodePage,
  decodeStandalone,
  encodeStandalone,
  KINDS,
  PAGE_BYTES,
  pageCount,
  type PageEntry,
  PageFormatError,
  type PageRecord,
  PageWriter,
} from "./_kv_pages.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function record(overrides: Partial<PageRecord> = {}): PageRecord {
  return {
    t: 10,
    wall: 1_768_456_800_123,
    kind: "publish",
    client: "$harness",
    topic: "fishtank/tank1/sensors/all",
    payload: bytes('{"t":10,"temperature":24.5}'),
    qos: 1,
    retain: true,
    ...overrides,
  };
}

function records(entries: Iterable<PageEntry>): PageRecord[] {
  return [...entries].map((entry) => {
    assert.ok("record" in entry, "expected an inline record");
    return entry.record;
  });
}

Deno.test("a page gives back every field of every record kind, in order", () => {
  const input = KINDS.map((kind, i) =>
    record({
      kind,
      t: i * 0.1,
      wall: 1e12 + i,
      client: i % 2 ? "controller-1" : "$harness",
      topic: `fishtank/tank1/τopic/${i % 3}`,
      payload: i === 0 ? new Uint8Array(0) : bytes(`payload ${i} ✓`),
      qos: (i % 3) as 0 | 1 | 2,
      retain: i % 2 === 0,
      ...(i % 4 === 0 ? { note: `note ${i} — ünïcode` } : {}),
    })
  );
  const page = new PageWriter();
  for (const r of input) assert.ok(page.append(r));
  const sealed = page.seal();
  assert.equal(pageCount(sealed), input.length);
  assert.deepEqual(records(decodePage(sealed)), input);
});

Deno.test("a topic seen before in the page costs a byte or two, not its length", () => {
  const page = new PageWriter();
  page.append(record());
  const first = page.byteLength;
  page.append(record());
  const second = page.byteLength - first;
  const payload = record().payload.length;
  // 18 fixed bytes, two one-byte references, a one-byte length, the payload.
  assert.equal(second, 18 + 2 + 1 + payload);
});

Deno.test("PageWriter.append() refuses a record that may not fit and keeps the page valid", () => {
  const page = new PageWriter(1024);
  let added = 0;
  while (page.append(record({ payload: new Uint8Array(100).fill(added) }))) {
    added++;
  }
  assert.ok(added >= 7 && added <= 9, `${added} records of 100 bytes`);
  assert.ok(page.byteLength <= 1024);
  const decoded = records(decodePage(page.seal()));
  assert.equal(decoded.length, added);
  assert.deepEqual(
    decoded.at(-1)!.payload,
    new Uint8Array(100).fill(added - 1),
  );
});

Deno.test("snapshot() copies the page so far and the writer goes on", () => {
  const page = new PageWriter();
  page.append(record({ t: 1 }));
  const early = page.snapshot();
  page.append(record({ t: 2 }));
  assert.deepEqual(records(decodePage(early)).map((r) => r.t), [1]);
  assert.deepEqual(records(decodePage(page.seal())).map((r) => r.t), [1, 2]);
});

Deno.test("a record bigger than a page is stored stand-alone and a stub keeps its place", () => {
  const page = new PageWriter();
  const big = record({
    payload: new Uint8Array(PAGE_BYTES * 3).map((_, i) => i % 251),
    note: "big",
  });
  assert.equal(page.fitsEmpty(big), false);
  assert.equal(page.append(big), false);
  const standalone = encodeStandalone(big);
  assert.deepEqual(decodeStandalone(standalone), big);
  page.append(record({ t: 1 }));
  assert.ok(page.appendStub(big, standalone.length));
  page.append(record({ t: 3 }));
  const entries = [...decodePage(page.seal())];
  assert.deepEqual(entries[1], {
    index: 1,
    external: { kind: "publish", length: standalone.length },
  });
  assert.equal(entries.length, 3);
});

Deno.test("decodePage() skips kinds not accepted but keeps positions and later string references", () => {
  const page = new PageWriter();
  page.append(record({ kind: "note", topic: "shared/topic", client: "a" }));
  page.append(record({ kind: "publish", topic: "shared/topic", client: "a" }));
  page.append(record({ kind: "truth", topic: "$truth" }));
  const entries = [...decodePage(page.seal(), (kind) => kind === "publish")];
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.index, 1);
  assert.ok("record" in entries[0]!);
  assert.equal(entries[0].record.topic, "shared/topic");
});

Deno.test("a damaged page throws PageFormatError", () => {
  assert.throws(() => [...decodePage(new Uint8Array([9, 0, 0, 0, 0]))], {
    name: "PageFormatError",
  });
  const page = new PageWriter();
  page.append(record());
  const sealed = page.seal();
  assert.throws(
    () => [...decodePage(sealed.subarray(0, sealed.length - 5))],
    PageFormatError,
  );
});

Deno.test("chunks() cuts bytes into views of at most the given size", () => {
  const parts = chunks(new Uint8Array(10), 4);
  assert.deepEqual(parts.map((p) => p.length), [4, 4, 2]);
  assert.deepEqual(chunks(new Uint8Array(0), 4), []);
});
