import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import mqttPacket from "mqtt-packet";
import { ByteDuplex } from "./_byte_duplex.ts";
import { frameFirstPacket, frontDoor, parseConnect } from "./_front_door.ts";

const connect = (protocolVersion: 3 | 4 | 5) =>
  mqttPacket.generate({
    cmd: "connect",
    clientId: "c",
    protocolVersion,
    protocolId: protocolVersion === 3 ? "MQIsdp" : "MQTT",
  });

/** A connection as the front door sees it: bytes pushed in by the test, bytes written out collected. */
function connection() {
  const written: Buffer[] = [];
  const stream = new ByteDuplex({
    read() {},
    write(chunk, _encoding, callback) {
      written.push(chunk);
      callback();
    },
  });
  return { stream, written };
}

function hooks() {
  const log = {
    handled: [] as Duplex[],
    admitted: [] as number[],
    refused: [] as string[],
  };
  return {
    log,
    hooks: {
      handle: (s: Duplex) => void log.handled.push(s),
      admitted: (_: Duplex, version: number) => void log.admitted.push(version),
      refused: (reason: string) => void log.refused.push(reason),
    },
  };
}

const options = { maxConnectPacket: 100, connectTimeout: 1_000 };

Deno.test("frameFirstPacket() waits for the whole CONNECT and refuses others from the first byte", () => {
  const bytes = connect(4);
  assert.deepEqual(frameFirstPacket(bytes.subarray(0, 1), 100), {
    status: "incomplete",
  });
  assert.deepEqual(frameFirstPacket(bytes.subarray(0, bytes.length - 1), 100), {
    status: "incomplete",
  });
  assert.deepEqual(frameFirstPacket(bytes, 100), {
    status: "complete",
    length: bytes.length,
  });
  assert.equal(frameFirstPacket(Uint8Array.of(0x30, 0), 100).status, "invalid");
  assert.equal(
    frameFirstPacket(new TextEncoder().encode("GET /"), 100).status,
    "invalid",
  );
});

Deno.test("frameFirstPacket() refuses an oversized CONNECT from its length header alone", () => {
  assert.deepEqual(frameFirstPacket(Uint8Array.of(0x10, 0xff, 0x7f), 1_000), {
    status: "invalid",
    reason: "CONNECT packet larger than 1000 bytes",
  });
  // Already too large after the first length byte, before the others arrive.
  assert.equal(
    frameFirstPacket(Uint8Array.of(0x10, 0xff), 100).status,
    "invalid",
  );
  assert.deepEqual(
    frameFirstPacket(
      Uint8Array.of(0x10, 0x80, 0x80, 0x80, 0x80, 0x01),
      2 ** 30,
    ),
    {
      status: "invalid",
      reason: "malformed CONNECT length",
    },
  );
});

Deno.test("parseConnect() tells an unsupported protocol level apart from garbage", () => {
  const level6 = connect(4);
  level6[8] = 6;
  assert.deepEqual(parseConnect(level6), {
    reason: "bad CONNECT packet: Invalid protocol version",
    unsupportedVersion: true,
  });
  const badName = connect(4);
  badName[4] = "X".charCodeAt(0);
  const bad = parseConnect(badName);
  assert.ok("reason" in bad && !bad.unsupportedVersion, JSON.stringify(bad));
  const parsed = parseConnect(connect(5));
  assert.ok("packet" in parsed && parsed.packet.protocolVersion === 5);
});

/** Lets the stream emit the data pushed into it. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("frontDoor() hands a 3.1.1 connection on with its CONNECT, split over chunks, put back in front", async () => {
  const { stream } = connection();
  const { log, hooks: h } = hooks();
  frontDoor(stream, options, h);
  const bytes = Buffer.concat([
    connect(4),
    mqttPacket.generate({ cmd: "pingreq" }),
  ]);
  stream.push(bytes.subarray(0, 5));
  await settle();
  stream.push(bytes.subarray(5));
  await settle();
  assert.deepEqual(log.admitted, [4]);
  assert.equal(log.handled[0], stream);
  assert.deepEqual(stream.read(), bytes);
  stream.destroy();
});

Deno.test("frontDoor() hands MQTT 3.1 on too, and MQTT 5 through the translating bridge", async () => {
  const v3 = connection();
  const { log, hooks: h } = hooks();
  frontDoor(v3.stream, options, h);
  v3.stream.push(connect(3));
  const v5 = connection();
  frontDoor(v5.stream, options, h);
  v5.stream.push(connect(5));
  await settle();
  assert.deepEqual(log.admitted, [3, 5]);
  assert.notEqual(log.handled[1], v5.stream);
  assert.deepEqual(
    log.handled[1]!.read(),
    mqttPacket.generate({
      cmd: "connect",
      clientId: "c",
      protocolVersion: 4,
      keepalive: 0,
    }),
  );
  v3.stream.destroy();
  v5.stream.destroy();
});

Deno.test("frontDoor() answers a CONNECT with protocol level 6 with return code 1, then closes", async () => {
  const { stream, written } = connection();
  const { log, hooks: h } = hooks();
  frontDoor(stream, options, h);
  const level6 = connect(4);
  level6[8] = 6;
  stream.push(level6);
  await new Promise((resolve) => stream.once("close", resolve));
  assert.deepEqual(
    Buffer.concat(written),
    Buffer.from([0x20, 0x02, 0x00, 0x01]),
  );
  assert.deepEqual(log.handled, []);
  assert.match(log.refused[0] ?? "", /protocol version/);
});

Deno.test("frontDoor() drops a connection that sends no CONNECT in time", async () => {
  const { stream } = connection();
  const { log, hooks: h } = hooks();
  frontDoor(stream, { ...options, connectTimeout: 20 }, h);
  stream.push(connect(4).subarray(0, 3));
  await new Promise((resolve) => stream.once("close", resolve));
  assert.deepEqual(log.refused, ["no CONNECT within 20 ms"]);
});
