import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import { PacketGuard } from "./_packet_guard.ts";

const publish = (bytes: number) =>
  new Uint8Array(mqttPacket.generate({
    cmd: "publish",
    topic: "t",
    payload: Buffer.alloc(bytes),
    qos: 0,
    retain: false,
    dup: false,
  }));

Deno.test("PacketGuard follows packets split anywhere across chunks and lets those under the cap pass", () => {
  const stream = new Uint8Array([
    ...publish(10),
    ...publish(1000),
    ...publish(0),
    ...publish(60_000),
  ]);
  for (const size of [1, 2, 3, 7, 1000, stream.length]) {
    const guard = new PacketGuard(65_536);
    for (let i = 0; i < stream.length; i += size) {
      assert.equal(
        guard.feed(stream.subarray(i, i + size)),
        undefined,
        `${size}`,
      );
    }
  }
});

Deno.test("PacketGuard refuses a packet over the cap from its header alone, even after good ones", () => {
  const guard = new PacketGuard(65_536);
  assert.equal(guard.feed(publish(100)), undefined);
  // PUBLISH claiming 200 MB: 0x30 then the length; only the header is sent.
  const header = Uint8Array.of(0x30, 0x80, 0x80, 0xe8, 0x5f);
  assert.match(
    guard.feed(header.subarray(0, 4)) ?? "",
    /larger than 65536 bytes/,
  );
  assert.match(
    new PacketGuard(65_536).feed(publish(70_000)) ?? "",
    /claims 70\d{3}/,
  );
  assert.equal(
    new PacketGuard(16).feed(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01)),
    "packet larger than 16 bytes (its header claims 129 or more)",
  );
  assert.equal(
    new PacketGuard(2 ** 30).feed(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff)),
    "malformed packet length",
  );
});

Deno.test("PacketGuard with skipFirst leaves the first packet to the front door, then checks the rest", () => {
  const guard = new PacketGuard(1000, { skipFirst: true });
  assert.equal(guard.feed(publish(5000)), undefined);
  assert.match(guard.feed(publish(5000)) ?? "", /larger than 1000 bytes/);
});
