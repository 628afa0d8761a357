// Fish tank harness: tells the broker when an mqtt.js controller has finished
// handling each message it received ("done markers"). Loaded before the
// controller's own code through NODE_OPTIONS="--require <this file>", which
// Node.js and Deno (also for `npm:mqtt` imported from a .ts file) honour.
//
// After the client's `message` listeners for one incoming PUBLISH have
// returned, and after the microtasks and one setImmediate turn that follow
// (so that async listeners whose awaits settle without I/O are caught too,
// e.g. `async (t, m) => { await client.publishAsync(...) }`), a marker
// PUBLISH is written straight to the client's stream:
//
//   topic   $fishtank/handled
//   QoS 0, retain 0, no properties (MQTT 5: property length 0)
//   payload decimal count of PUBLISH packets received on this connection
//           and fully handled so far (ASCII digits)
//
// It is also sent with the current count right after each `connect` event
// (so after the SUBSCRIBEs the program sends in its connect listener) and
// after each SUBSCRIBE. The count restarts at 0 on each connection.
//
// The bytes go to client.stream directly, so mqtt.js emits no `packetsend`,
// calls no publish callback and allocates no message id. mqtt.js writes its
// own packets to the same stream synchronously, in order, so every command
// the listeners published is ahead of the marker.
//
// mqtt.js is patched when its client module is first required (hook on
// Module._load); if its internals are not as expected nothing changes, and no
// error of this file ever reaches the program.
// FISHTANK_DONE_DEFER=sync sends the marker right after the listeners return
// (no setImmediate) - for measurements only.
"use strict";

(() => {
  let Module;
  try {
    Module = require("node:module");
  } catch {
    return;
  }
  if (
    !Module || typeof Module._load !== "function" || Module._load.fishtankDone
  ) {
    return;
  }
  const TOPIC = Buffer.from("$fishtank/handled");
  const defer = (process.env.FISHTANK_DONE_DEFER || "immediate").toLowerCase();
  const kCount = Symbol("fishtankHandled");
  const kConn = Symbol("fishtankConnection");
  let patched = false;

  function markerBytes(count, v5) {
    const payload = Buffer.from(String(count));
    const bodyLength = 2 + TOPIC.length + (v5 ? 1 : 0) + payload.length;
    const header = [0x30];
    let n = bodyLength;
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      header.push(byte);
    } while (n > 0);
    const parts = [
      Buffer.from(header),
      Buffer.from([TOPIC.length >> 8, TOPIC.length & 0xff]),
      TOPIC,
    ];
    if (v5) parts.push(Buffer.from([0]));
    parts.push(payload);
    return Buffer.concat(parts);
  }

  function sendMarker(client, conn) {
    try {
      const stream = client.stream;
      // Only on the connection the count belongs to, and only while it is up.
      if (
        !client.connected || !stream || stream !== conn || stream.destroyed ||
        stream.writable === false
      ) {
        return;
      }
      const v5 = client.options && client.options.protocolVersion === 5;
      stream.write(markerBytes(client[kCount] || 0, v5));
    } catch {
      // never disturb the program
    }
  }

  function handled(client, conn) {
    if (client.stream !== conn) return; // reconnected meanwhile: stale
    client[kCount] = (client[kCount] || 0) + 1;
    sendMarker(client, conn);
  }

  function patch(MqttClient) {
    const proto = MqttClient && MqttClient.prototype;
    if (!proto || proto.emit.fishtankDone) return;
    if (
      typeof proto.emit !== "function" ||
      typeof proto._writePacket !== "function" ||
      typeof proto._sendPacket !== "function" ||
      typeof proto.publish !== "function"
    ) {
      return;
    }
    const originalEmit = proto.emit;
    const emit = function emit(event, ...args) {
      let before;
      try {
        if (event === "connect") {
          this[kCount] = 0;
          this[kConn] = this.stream;
        } else if (event === "message") {
          before = this.stream;
        } else if (
          event === "packetsend" && args[0] && args[0].cmd === "subscribe"
        ) {
          // emitted just before the SUBSCRIBE is written: send after it
          const conn = this.stream;
          queueMicrotask(() => sendMarker(this, conn));
        }
      } catch {
        // ignore
      }
      // The program's listeners: their exceptions propagate as usual, and
      // the message still counts as handled.
      try {
        return Reflect.apply(originalEmit, this, [event, ...args]);
      } finally {
        try {
          if (event === "connect") {
            sendMarker(this, this.stream);
          } else if (event === "message") {
            const conn = before;
            if (defer === "sync") {
              handled(this, conn);
            } else {
              setImmediate(() => handled(this, conn));
            }
          }
        } catch {
          // ignore
        }
      }
    };
    emit.fishtankDone = true;
    Object.defineProperty(proto, "emit", {
      value: emit,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    patched = true;
  }

  function looksLikeMqttClient(fn) {
    return typeof fn === "function" && fn.name === "MqttClient" &&
      fn.prototype &&
      typeof fn.prototype.handleMessage === "function" &&
      typeof fn.prototype._sendPacket === "function";
  }

  // Only own properties are read (never through the prototype), so that
  // Node's warning proxy on half-loaded circular exports stays silent.
  const own = (obj, key) => {
    const d = Object.getOwnPropertyDescriptor(obj, key);
    return d && "value" in d ? d.value : undefined;
  };
  const originalLoad = Module._load;
  const load = function _load(request, _parent, _isMain) {
    const exported = Reflect.apply(originalLoad, this, arguments);
    if (
      !patched && typeof request === "string" &&
      /(^|[\\/])(client|mqtt|index)(\.js)?$/.test(request)
    ) {
      try {
        if (
          exported &&
          (typeof exported === "object" || typeof exported === "function")
        ) {
          const a = own(exported, "default");
          const b = own(exported, "MqttClient");
          const candidate = looksLikeMqttClient(a)
            ? a
            : looksLikeMqttClient(b)
            ? b
            : null;
          if (candidate) patch(candidate);
        }
      } catch {
        // ignore
      }
    }
    return exported;
  };
  load.fishtankDone = true;
  try {
    Module._load = load;
  } catch {
    // read-only: do nothing
  }
})();
