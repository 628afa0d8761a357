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
    willProperties: null,
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
      subscriptionIdentifiersAvailable: true,
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

Deno.test("SUBACK: granted QoS stays 0..2; a refused filter gets 0x87 not authorized, a malformed shared one 0x8F", () => {
  const adapter = connected();
  adapter.fromClient(v5({
    cmd: "subscribe",
    messageId: 5,
    subscriptions: ["a", "b", "c", "d", "$share/+/e"].map((topic) => ({
      topic,
      qos: 1 as const,
    })),
  }));
  onlyClient(
    adapter.fromBroker(
      v4({ cmd: "suback", messageId: 5, granted: [0, 1, 2, 128, 128] }),
    ),
    { cmd: "suback", messageId: 5, granted: [0, 1, 2, 0x87, 0x8f] },
  );
});

Deno.test("SUBSCRIBE with an invalid topic filter: DISCONNECT 0x81, as mosquitto does", () => {
  for (const topic of ["a/#/b", "a+/b", "#/"]) {
    const out = connected().fromClient(v5({
      cmd: "subscribe",
      messageId: 5,
      subscriptions: [{ topic: "ok/+", qos: 0 }, { topic, qos: 0 }],
    }));
    assert.deepEqual(out.toBroker, [], topic);
    assert.equal(out.close, "abort");
    assert.deepEqual(parse(out.toClient, 5), [
      ...parse([v5({ cmd: "disconnect", reasonCode: 0x81 })], 5),
    ]);
  }
});

Deno.test("subscription identifiers: every matching subscription's id goes out on the PUBLISH, none for one without", () => {
  const adapter = connected();
  for (
    const [messageId, topic, id] of [
      [1, "tank/#", 7],
      [2, "tank/+/temp", 9],
      [3, "tank/a/level", undefined],
      [4, "$share/g/tank/a/temp", 11],
    ] as const
  ) {
    adapter.fromClient(v5({
      cmd: "subscribe",
      messageId,
      subscriptions: [{ topic, qos: 0 }],
      ...(id !== undefined
        ? { properties: { subscriptionIdentifier: id } }
        : {}),
    }));
  }
  const deliver = (topic: string) => {
    const [publish] = parse(
      adapter.fromBroker(
        v4({
          cmd: "publish",
          topic,
          payload: "x",
          qos: 0,
          retain: false,
          dup: false,
        }),
      ).toClient,
      5,
    );
    assert.ok(publish?.cmd === "publish");
    return publish.properties?.subscriptionIdentifier;
  };
  assert.deepEqual(deliver("tank/a/temp"), [7, 9, 11]);
  assert.deepEqual(deliver("tank/a/level"), 7);
  adapter.fromClient(
    v5({ cmd: "unsubscribe", messageId: 5, unsubscriptions: ["tank/#"] }),
  );
  assert.equal(deliver("tank/a/level"), undefined);
});

Deno.test("PUBACK and PUBREC carry the reason code the broker's rules give; PUBCOMP stays 0", () => {
  const reasons = new Map([[3, 0x10], [4, 0x87]]);
  const adapter = new Mqtt5Adapter({ ackReason: (id) => reasons.get(id) });
  adapter.fromClient(v5({ cmd: "connect", protocolVersion: 5, clientId: "c" }));
  adapter.fromBroker(
    v4({ cmd: "connack", returnCode: 0, sessionPresent: false }),
  );
  onlyClient(adapter.fromBroker(v4({ cmd: "puback", messageId: 3 })), {
    cmd: "puback",
    messageId: 3,
    reasonCode: 0x10,
  });
  onlyClient(adapter.fromBroker(v4({ cmd: "pubrec", messageId: 4 })), {
    cmd: "pubrec",
    messageId: 4,
    reasonCode: 0x87,
  });
  onlyClient(adapter.fromBroker(v4({ cmd: "puback", messageId: 5 })), {
    cmd: "puback",
    messageId: 5,
    reasonCode: 0,
  });
});

Deno.test("Receive Maximum: at most that many QoS 1/2 PUBLISHes unacknowledged; the rest wait in order, QoS 0 does not", () => {
  const adapter = connected({ receiveMaximum: 2 });
  const publish = (messageId: number, qos: 0 | 1 | 2) =>
    v4({
      cmd: "publish",
      topic: "t",
      payload: String(messageId),
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 ? { messageId } : {}),
    });
  const payloads = (out: Mqtt5Output) =>
    parse(out.toClient, 5).map((p) =>
      p.cmd === "publish" ? String(p.payload) : p.cmd
    );
  const first = adapter.fromBroker(
    Buffer.concat([publish(1, 1), publish(2, 2), publish(3, 1), publish(4, 2)]),
  );
  assert.deepEqual(payloads(first), ["1", "2"]);
  assert.deepEqual(payloads(adapter.fromBroker(publish(0, 0))), ["0"]);
  // PUBREC is not the end of a QoS 2 flow: nothing moves until PUBCOMP.
  assert.deepEqual(
    payloads(adapter.fromClient(v5({ cmd: "pubrec", messageId: 2 }))),
    [],
  );
  assert.deepEqual(
    payloads(adapter.fromClient(v5({ cmd: "puback", messageId: 1 }))),
    ["3"],
  );
  assert.deepEqual(payloads(adapter.fromBroker(publish(5, 1))), []);
  assert.deepEqual(
    payloads(adapter.fromClient(v5({ cmd: "pubcomp", messageId: 2 }))),
    ["4"],
  );
  assert.deepEqual(
    payloads(adapter.fromClient(v5({ cmd: "puback", messageId: 3 }))),
    ["5"],
  );
});

Deno.test("CONNECT: the will's properties are left for the bridge, without the will delay", () => {
  const adapter = new Mqtt5Adapter();
  adapter.fromClient(v5({
    cmd: "connect",
    protocolVersion: 5,
    clientId: "c",
    will: {
      topic: "w",
      payload: Buffer.from("gone"),
      properties: {
        willDelayInterval: 0,
        contentType: "text/plain",
        userProperties: { a: "1" },
      },
    },
  }));
  const { contentType, userProperties, ...rest } = adapter.connect
    ?.willProperties ?? {};
  assert.deepEqual([contentType, { ...userProperties }, rest], [
    "text/plain",
    { a: "1" },
    {},
  ]);
});

Deno.test("DISCONNECT with a session expiry: passed on in the output; a protocol error (0x82) when CONNECT asked for none", () => {
  const adapter = connected({ sessionExpiryInterval: 60 });
  const out = adapter.fromClient(
    v5({
      cmd: "disconnect",
      reasonCode: 0,
      properties: { sessionExpiryInterval: 0 },
    }),
  );
  assert.equal(out.close, "graceful");
  assert.equal(out.sessionExpiry, 0);
  assert.equal(adapter.connect?.sessionExpiry, 0);
  const none = connected();
  const refused = none.fromClient(
    v5({
      cmd: "disconnect",
      reasonCode: 0,
      properties: { sessionExpiryInterval: 30 },
    }),
  );
  assert.equal(refused.close, "abort");
  assert.deepEqual(refused.toBroker, []);
  assert.deepEqual(
    parse(refused.toClient, 5),
    parse([v5({ cmd: "disconnect", reasonCode: 0x82 })], 5),
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

Deno.test("topic aliases to a client that takes them: set on first use while there is room, then sent instead of the topic", () => {
  const adapter = connected({ topicAliasMaximum: 2, receiveMaximum: 1 });
  const publish = (topic: string, qos: 0 | 1, messageId?: number) =>
    parse(
      adapter.fromBroker(v4({
        cmd: "publish",
        topic,
        payload: "x",
        qos,
        retain: false,
        dup: false,
        ...(messageId !== undefined ? { messageId } : {}),
      })).toClient,
      5,
    ).map((p) =>
      p.cmd === "publish" ? `${p.topic}=${p.properties?.topicAlias}` : p.cmd
    );
  assert.deepEqual(publish("t/a", 1, 1), ["t/a=1"]);
  // Held back by Receive Maximum 1: the QoS 0 one after it goes first, and so it is the one that sets the alias.
  assert.deepEqual(publish("t/b", 1, 2), []);
  assert.deepEqual(publish("t/b", 0), ["t/b=2"]);
  assert.deepEqual(publish("t/c", 0), ["t/c=undefined"]);
  assert.deepEqual(
    parse(adapter.fromClient(v5({ cmd: "puback", messageId: 1 })).toClient, 5)
      .map((p) =>
        p.cmd === "publish" ? `${p.topic}=${p.properties?.topicAlias}` : p.cmd
      ),
    ["=2"],
  );
  assert.deepEqual(publish("t/a", 0), ["=1"]);
});

Deno.test("no topic aliases to a client that did not ask for them", () => {
  const adapter = connected();
  for (let i = 0; i < 2; i++) {
    const [p] = parse(
      adapter.fromBroker(v4({
        cmd: "publish",
        topic: "t/a",
        payload: "x",
        qos: 0,
        retain: false,
        dup: false,
      })).toClient,
      5,
    );
    assert.ok(p?.cmd === "publish");
    assert.equal(p.topic, "t/a");
    assert.equal(p.properties?.topicAlias, undefined);
  }
});

Deno.test("Receive Maximum: past maxWaiting a QoS 1/2 PUBLISH is dropped and acknowledged to the broker", () => {
  const adapter = new Mqtt5Adapter({ maxWaiting: 1 });
  adapter.fromClient(
    v5({
      cmd: "connect",
      protocolVersion: 5,
      clientId: "c",
      properties: { receiveMaximum: 1 },
    }),
  );
  adapter.fromBroker(
    v4({ cmd: "connack", returnCode: 0, sessionPresent: false }),
  );
  const publish = (messageId: number, qos: 1 | 2) =>
    adapter.fromBroker(v4({
      cmd: "publish",
      topic: "t",
      payload: "x",
      qos,
      messageId,
      retain: false,
      dup: false,
    }));
  assert.equal(parse(publish(1, 1).toClient, 5).length, 1);
  assert.deepEqual(publish(2, 1).toClient, []); // waits
  onlyBroker(publish(3, 1), { cmd: "puback", messageId: 3 });
  onlyBroker(publish(4, 2), { cmd: "pubrec", messageId: 4 });
});
