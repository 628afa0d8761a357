// Fish tank harness: tells the broker when an mqtt.js controller has finished
// handling each message it received ("done markers"). Loaded before the
// controller's own code through NODE_OPTIONS="--require <this file>", which
// Node.js and Deno (also for `npm:mqtt` imported from a .ts file) honour.
//
// After the client's `message` listeners for one incoming PUBLISH have
// returned, and then the program's microtasks and setImmediate callbacks have
// run out (so that async listeners whose awaits settle without I/O are caught,
// e.g. `async (t, m) => { await client.publishAsync(...) }`, and so are
// Node-RED flows, which pass each message on in a setImmediate), a marker
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
// FISHTANK_DONE_DEFER=sync sends the marker right after the listeners return,
// =immediate after one setImmediate turn (both for measurements only); the
// default, idle, waits until no setImmediate of the program is pending (at
// most 1000 turns or 50 ms). Timers (setTimeout) and I/O are never waited for.
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
  const defer = (process.env.FISHTANK_DONE_DEFER || "idle").toLowerCase();
  const originalSetImmediate = globalThis.setImmediate;

  // "idle" mode: count the program's pending setImmediate callbacks, so the
  // marker can wait until the work a message started has stopped scheduling
  // more (Node-RED passes each message from node to node in a setImmediate).
  let pendingImmediates = 0;
  const IDLE_MAX_TURNS = 1000;
  const IDLE_MAX_MS = 50;
  if (defer === "idle" && typeof originalSetImmediate === "function") {
    try {
      const counted = new WeakSet();
      const originalClear = globalThis.clearImmediate;
      const wrapSet = (orig) => {
        const setImmediate = function setImmediate(callback, ...args) {
          if (typeof callback !== "function") {
            return Reflect.apply(orig, this, [callback, ...args]);
          }
          const run = function () {
            if (handle && counted.has(handle)) {
              counted.delete(handle);
              pendingImmediates--;
            }
            return Reflect.apply(callback, this, args);
          };
          const handle = Reflect.apply(orig, this, [run]);
          if (handle && typeof handle === "object") {
            counted.add(handle);
            pendingImmediates++;
          }
          return handle;
        };
        for (const key of Reflect.ownKeys(orig)) {
          if (key === "length" || key === "name" || key === "prototype") {
            continue;
          }
          try {
            Object.defineProperty(
              setImmediate,
              key,
              Object.getOwnPropertyDescriptor(orig, key),
            );
          } catch { /* ignore */ }
        }
        return setImmediate;
      };
      const wrapClear = (orig) =>
        function clearImmediate(handle) {
          if (handle && counted.has(handle)) {
            counted.delete(handle);
            pendingImmediates--;
          }
          return Reflect.apply(orig, this, [handle]);
        };
      const timers = require("node:timers");
      const newSet = wrapSet(originalSetImmediate);
      const newClear = typeof originalClear === "function"
        ? wrapClear(originalClear)
        : null;
      globalThis.setImmediate = newSet;
      if (newClear) globalThis.clearImmediate = newClear;
      try {
        if (timers.setImmediate === originalSetImmediate) {
          timers.setImmediate = newSet;
        }
        if (newClear && timers.clearImmediate === originalClear) {
          timers.clearImmediate = newClear;
        }
      } catch { /* read-only in some runtimes */ }
    } catch {
      // leave timers alone
    }
  }

  // Calls done() once the program has no setImmediate callback pending
  // (checked from an immediate of our own, so microtasks and the immediates
  // queued before it have run), or after IDLE_MAX_TURNS / IDLE_MAX_MS.
  function whenIdle(done) {
    const start = Date.now();
    let turns = 0;
    const check = () => {
      turns++;
      if (
        pendingImmediates <= 0 || turns >= IDLE_MAX_TURNS ||
        Date.now() - start >= IDLE_MAX_MS
      ) {
        done();
      } else {
        originalSetImmediate(check);
      }
    };
    originalSetImmediate(check);
  }
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
            } else if (defer === "idle") {
              whenIdle(() => handled(this, conn));
            } else {
              originalSetImmediate(() => handled(this, conn));
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
