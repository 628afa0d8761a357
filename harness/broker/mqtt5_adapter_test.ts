import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { Mqtt5Adapter, type Mqtt5Output } from "./mqtt5_adapter.ts";

const v5 = (packet: Packet) =>
  mqttPacket.generate(packet, { protocolVersion: 5 });
const v4 = (packet: Packet) =>
  mqttPacket.generate(packet, { protocolVersion: 4 });

/** Every packet in `chunks`, parsed as `protocolVersion`. */
function parse(chunks: Uint8Array[], protocolVersion: 4 | 5): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: Packet[] = [];
  parser.on("packet", (p) => packets.push(p));
  parser.on("error", (e) => assert.fail(e));
  for (const chunk of chunks) parser.parse(Buffer.from(chunk));
  return packets;
}

/** An adapter past CONNECT and CONNACK. */
function connected(properties: Record<string, unknown> = {}): Mqtt5Adapter {
  const adapter = new Mqtt5Adapter();
  adapter.fromClient(
    v5({ cmd: "connect", protocolVersion: 5, clientId: "c1", properties }),
  );
  adapter.fromBroker(
    v4({ cmd: "connack", returnCode: 0, sessionPresent: false }),
  );
  return adapter;
}

function onlyBroker(out: Mqtt5Output, expected: Packet): void {
  assert.deepEqual(out.toClient, []);
  assert.equal(out.close, null);
  assert.deepEqual(Buffer.concat(out.toBroker), v4(expected));
}

function onlyClient(out: Mqtt5Output, expected: Packet): void {
  assert.deepEqual(out.toBroker, []);
  assert.equal(out.close, null);
  assert.deepEqual(Buffer.concat(out.toClient), v5(expected));
}

Deno.test("CONNECT: properties dropped, clean start 0 stays 0 (resume), a will delayed past a session expiry of 0 goes to the broker", () => {
  const out = new Mqtt5Adapter().fromClient(v5({
    cmd: "connect",
    protocolVersion: 5,
    clientId: "tank-1",
    clean: false,
    keepalive: 30,
    username: "ana",
    password: Buffer.from("secret"),
    will: {
      topic: "tank/status",
      payload: Buffer.from("offline"),
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 10, contentType: "text/plain" },
    },
    properties: { receiveMaximum: 10, userProperties: { a: "b" } },
  }));
  onlyBroker(out, {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clientId: "tank-1",
    clean: false,
    keepalive: 30,
    username: "ana",
    password: Buffer.from("secret"),
    will: {
      topic: "tank/status",
      payload: Buffer.from("offline"),
      qos: 1,
      retain: true,
    },
  });
});

Deno.test("CONNECT: session expiry > 0 without clean start keeps the session (clean = false)", () => {
  const out = new Mqtt5Adapter().fromClient(v5({
    cmd: "connect",
    protocolVersion: 5,
    clientId: "tank-1",
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
  }));
  const [connect] = parse(out.toBroker, 4);
  assert.equal(connect?.cmd === "connect" && connect.clean, false);
});

Deno.test("CONNECT: a will with a delay is kept from the broker and left for the bridge, with the delay cut to the session expiry", () => {
  const adapter = new Mqtt5Adapter();
  const out = adapter.fromClient(v5({
    cmd: "connect",
    protocolVersion: 5,
    clientId: "tank-1",
    clean: true,
    properties: { sessionExpiryInterval: 5 },
    will: {
      topic: "tank/status",
      payload: Buffer.from("offline"),
      qos: 1,
      retain: false,
      properties: { willDelayInterval: 30 },
    },
  }));
  const [connect] = parse(out.toBroker, 4);
  assert.ok(connect?.cmd === "connect");
  assert.equal(connect.will, undefined);
  assert.equal(connect.clean, true);
  assert.deepEqual(adapter.connect, {
    cleanStart: true,
    sessionExpiry: 5,
    delayedWill: {
      will: {
        topic: "tank/status",
        payload: Buffer.from("offline"),
        qos: 1,
        retain: false,
      },
      delay: 5,
    },
  });
  assert.equal(adapter.accepted, false);
  adapter.fromBroker(
    v4({ cmd: "connack", returnCode: 0, sessionPresent: false }),
  );
  assert.equal(adapter.accepted, true);
});

Deno.test("CONNECT: a password without a user name gets an empty user name (3.1.1 needs one)", () => {
  // Written by hand: mqtt-packet will not generate it, although MQTT 5 allows it (3.1.2.9).
  const connect5 = Uint8Array.of(
    ...[0x10, 18, 0, 4, ...Buffer.from("MQTT"), 5, 0x42, 0, 0, 0], // password flag and clean start, keepalive 0
    ...[0, 1, ...Buffer.from("p"), 0, 2, ...Buffer.from("pw")],
  );
  const out = new Mqtt5Adapter().fromClient(connect5);
  const [connect] = parse(out.toBroker, 4);
  assert.ok(connect?.cmd === "connect");
  assert.equal(connect.username, "");
  assert.deepEqual(connect.password, Buffer.from("pw"));
});

Deno.test("CONNECT with an empty client id: one is assigned and announced in CONNACK with the server's limits", () => {
  const adapter = new Mqtt5Adapter({ assignedIdPrefix: "x-" });
  const [connect] = parse(
    adapter.fromClient(v5({ cmd: "connect", protocolVersion: 5, clientId: "" }))
      .toBroker,
    4,
  );
  assert.ok(connect?.cmd === "connect");
  assert.match(connect.clientId, /^x-[0-9a-f]{16}$/);
  assert.equal(adapter.clientId, connect.clientId);
  const out = adapter.fromBroker(
    v4({ cmd: "connack", returnCode: 0, sessionPresent: false }),
  );
  onlyClient(out, {
    cmd: "connack",
    reasonCode: 0,
    sessionPresent: false,
    properties: {
      topicAliasMaximum: 100,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: true,
      assignedClientIdentifier: connect.clientId,
    },
  });
});

Deno.test("CONNACK: 3.1.1 return codes become MQTT 5 reason codes", () => {
  const expected = [[1, 0x84], [2, 0x85], [3, 0x88], [4, 0x86], [5, 0x87], [
    6,
    0x80,
  ]];
  for (const [returnCode, reasonCode] of expected) {
    const adapter = new Mqtt5Adapter();
    adapter.fromClient(
      v5({ cmd: "connect", protocolVersion: 5, clientId: "c" }),
    );
    const out = adapter.fromBroker(
      v4({ cmd: "connack", returnCode: returnCode!, sessionPresent: false }),
    );
    onlyClient(out, {
      cmd: "connack",
      reasonCode: reasonCode!,
      sessionPresent: false,
    });
  }
});

Deno.test("CONNECT with an authentication method is refused with 0x8C and never reaches the broker", () => {
  const out = new Mqtt5Adapter().fromClient(
    v5({
      cmd: "connect",
      protocolVersion: 5,
      clientId: "c",
      properties: { authenticationMethod: "SCRAM-SHA-1" },
    }),
  );
  assert.deepEqual(out.toBroker, []);
  assert.deepEqual(
    Buffer.concat(out.toClient),
    v5({ cmd: "connack", reasonCode: 0x8c, sessionPresent: false }),
  );
  assert.equal(out.close, "abort");
  assert.match(out.error ?? "", /SCRAM-SHA-1.*not supported/);
});

Deno.test("PUBLISH from the client: properties dropped, QoS, retain and message id kept", () => {
  const out = connected().fromClient(v5({
    cmd: "publish",
    topic: "tank/heater/set",
    payload: Buffer.from("on"),
    qos: 1,
    retain: true,
    dup: false,
    messageId: 7,
    properties: {
      contentType: "text/plain",
      userProperties: { k: "v" },
      messageExpiryInterval: 60,
    },
  }));
  onlyBroker(out, {
    cmd: "publish",
    topic: "tank/heater/set",
    payload: Buffer.from("on"),
    qos: 1,
    retain: true,
    dup: false,
    messageId: 7,
  });
});

Deno.test("PUBLISH with topic aliases: the alias set by the client is resolved for later packets", () => {
  const adapter = connected();
  const first = v5({
    cmd: "publish",
    topic: "tank/temp",
    payload: Buffer.from("1"),
    qos: 0,
    retain: false,
    dup: false,
    properties: { topicAlias: 3 },
  });
  const second = v5({
    cmd: "publish",
    topic: "",
    payload: Buffer.from("2"),
    qos: 0,
    retain: false,
    dup: false,
    properties: { topicAlias: 3 },
  });
  const packets = parse(
    adapter.fromClient(Buffer.concat([first, second])).toBroker,
    4,
  );
  assert.deepEqual(
    packets.map((p) => p.cmd === "publish" && [p.topic, String(p.payload)]),
    [
      ["tank/temp", "1"],
      ["tank/temp", "2"],
    ],
  );
});

Deno.test("PUBLISH with an unknown or out-of-range alias: DISCONNECT 0x82 / 0x94, and the will is kept", () => {
  const unknown = connected().fromClient(v5({
    cmd: "publish",
    topic: "",
    payload: Buffer.from("x"),
    qos: 0,
    retain: false,
    dup: false,
    properties: { topicAlias: 9 },
  }));
  assert.deepEqual(unknown.toBroker, []);
  assert.deepEqual(
    Buffer.concat(unknown.toClient),
    v5({ cmd: "disconnect", reasonCode: 0x82 }),
  );
  assert.equal(unknown.close, "abort");

  const tooHigh = connected().fromClient(v5({
    cmd: "publish",
    topic: "a",
    payload: Buffer.from("x"),
    qos: 0,
    retain: false,
    dup: false,
    properties: { topicAlias: 101 },
  }));
  assert.deepEqual(
    Buffer.concat(tooHigh.toClient),
    v5({ cmd: "disconnect", reasonCode: 0x94 }),
  );
  assert.equal(tooHigh.close, "abort");
});

Deno.test("SUBSCRIBE: topic and QoS kept, no local / retain as published / retain handling dropped", () => {
  const out = connected().fromClient(v5({
    cmd: "subscribe",
    messageId: 5,
    subscriptions: [
      { topic: "tank/#", qos: 1, nl: true, rap: true, rh: 2 },
      { topic: "lab/+/temp", qos: 0, nl: false, rap: false, rh: 0 },
    ],
    properties: { subscriptionIdentifier: 4 },
  }));
  onlyBroker(out, {
    cmd: "subscribe",
    messageId: 5,
    subscriptions: [{ topic: "tank/#", qos: 1 }, {
      topic: "lab/+/temp",
      qos: 0,
    }],
  });
});

Deno.test("SUBACK: granted QoS and 128 become reason codes 0..2 and 0x80", () => {
  onlyClient(
    connected().fromBroker(
      v4({ cmd: "suback", messageId: 5, granted: [0, 1, 2, 128] }),
    ),
    { cmd: "suback", messageId: 5, granted: [0, 1, 2, 0x80] },
  );
});

Deno.test("UNSUBACK gets one reason code per topic of the matching UNSUBSCRIBE", () => {
  const adapter = connected();
  onlyBroker(
    adapter.fromClient(
      v5({
        cmd: "unsubscribe",
        messageId: 9,
        unsubscriptions: ["a", "b/+", "c/#"],
      }),
    ),
    { cmd: "unsubscribe", messageId: 9, unsubscriptions: ["a", "b/+", "c/#"] },
  );
  onlyClient(
    adapter.fromBroker(v4({ cmd: "unsuback", messageId: 9, granted: [] })),
    {
      cmd: "unsuback",
      messageId: 9,
      granted: [0, 0, 0],
    },
  );
});

Deno.test("acknowledgements and pings cross in both directions", () => {
  const adapter = connected();
  for (const cmd of ["puback", "pubrec", "pubrel", "pubcomp"] as const) {
    onlyBroker(
      adapter.fromClient(
        v5({
          cmd,
          messageId: 3,
          reasonCode: 0,
          properties: { reasonString: "fine" },
        }),
      ),
      { cmd, messageId: 3 },
    );
    onlyClient(adapter.fromBroker(v4({ cmd, messageId: 4 })), {
      cmd,
      messageId: 4,
      reasonCode: 0,
    });
  }
  onlyBroker(adapter.fromClient(v5({ cmd: "pingreq" })), { cmd: "pingreq" });
  onlyClient(adapter.fromBroker(v4({ cmd: "pingresp" })), { cmd: "pingresp" });
});

Deno.test("PUBLISH from the broker reaches the client as MQTT 5", () => {
  const packet: Packet = {
    cmd: "publish",
    topic: "tank/temp",
    payload: Buffer.from("25.1"),
    qos: 2,
    retain: true,
    dup: false,
    messageId: 12,
  };
  onlyClient(connected().fromBroker(v4(packet)), packet);
});

Deno.test("PUBLISH larger than the client's maximum packet size is dropped and acknowledged to the broker", () => {
  const adapter = connected({ maximumPacketSize: 64 });
  const big = Buffer.alloc(100);
  const qos1 = adapter.fromBroker(
    v4({
      cmd: "publish",
      topic: "t",
      payload: big,
      qos: 1,
      retain: false,
      dup: false,
      messageId: 1,
    }),
  );
  assert.deepEqual(qos1.toClient, []);
  assert.deepEqual(
    Buffer.concat(qos1.toBroker),
    v4({ cmd: "puback", messageId: 1 }),
  );
  const qos2 = adapter.fromBroker(
    v4({
      cmd: "publish",
      topic: "t",
      payload: big,
      qos: 2,
      retain: false,
      dup: false,
      messageId: 2,
    }),
  );
  assert.deepEqual(
    Buffer.concat(qos2.toBroker),
    v4({ cmd: "pubrec", messageId: 2 }),
  );
  const pubrel = adapter.fromBroker(v4({ cmd: "pubrel", messageId: 2 }));
  assert.deepEqual(pubrel.toClient, []);
  assert.deepEqual(
    Buffer.concat(pubrel.toBroker),
    v4({ cmd: "pubcomp", messageId: 2 }),
  );
  const small = adapter.fromBroker(
    v4({
      cmd: "publish",
      topic: "t",
      payload: "ok",
      qos: 0,
      retain: false,
      dup: false,
    }),
  );
  assert.equal(parse(small.toClient, 5).length, 1);
});

Deno.test("DISCONNECT 0x00 is passed on (no will); any other reason code closes without it (will published)", () => {
  const normal = connected().fromClient(
    v5({ cmd: "disconnect", reasonCode: 0 }),
  );
  assert.deepEqual(Buffer.concat(normal.toBroker), v4({ cmd: "disconnect" }));
  assert.equal(normal.close, "graceful");
  assert.equal(normal.error, null);

  const withWill = connected().fromClient(
    v5({ cmd: "disconnect", reasonCode: 0x04 }),
  );
  assert.deepEqual(withWill.toBroker, []);
  assert.deepEqual(withWill.toClient, []);
  assert.equal(withWill.close, "abort");
  assert.equal(withWill.error, null);
});

Deno.test("AUTH after CONNECT is a protocol error: DISCONNECT 0x82", () => {
  const out = connected().fromClient(v5({ cmd: "auth", reasonCode: 0x18 }));
  assert.deepEqual(
    Buffer.concat(out.toClient),
    v5({ cmd: "disconnect", reasonCode: 0x82 }),
  );
  assert.equal(out.close, "abort");
  assert.match(out.error ?? "", /AUTH/);
});

Deno.test("malformed bytes after CONNECT: DISCONNECT 0x81, then nothing more is translated", () => {
  const adapter = connected();
  const out = adapter.fromClient(Uint8Array.of(0x30, 0x02, 0xff, 0xff)); // PUBLISH whose topic overruns it
  assert.deepEqual(
    Buffer.concat(out.toClient),
    v5({ cmd: "disconnect", reasonCode: 0x81 }),
  );
  assert.equal(out.close, "abort");
  const after = adapter.fromClient(v5({ cmd: "pingreq" }));
  assert.deepEqual([after.toBroker, after.toClient, after.close], [
    [],
    [],
    null,
  ]);
});

Deno.test("packets split at every byte are reassembled", () => {
  const adapter = connected();
  const bytes = Buffer.concat([
    v5({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: [{ topic: "a/#", qos: 1 }],
    }),
    v5({
      cmd: "publish",
      topic: "a/b",
      payload: Buffer.from("hi"),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 2,
    }),
  ]);
  const toBroker = [...bytes].flatMap((byte) =>
    adapter.fromClient(Uint8Array.of(byte)).toBroker
  );
  assert.deepEqual(parse(toBroker, 4).map((p) => p.cmd), [
    "subscribe",
    "publish",
  ]);
});
