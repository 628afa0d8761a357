// Loaded before a Node.js (or Deno) controller's own code when the fish tank
// harness runs it: the harness adds `--require <this file>` to NODE_OPTIONS,
// which both Node.js and Deno honour.
//
// It turns off Nagle's algorithm (setNoDelay(true)) on every TCP connection
// the program opens. Why: a controller that publishes two small messages in a
// row with QoS 0 has the second one held back by the kernel until the broker
// acknowledges the first, and the broker's kernel delays that acknowledgement
// by up to 40 ms, so each step of a lockstep run takes 40 ms. mqtt.js does not
// set it. Nothing else changes: Unix sockets and pipes are left alone.
"use strict";

const net = require("node:net");

const proto = net.Socket.prototype;
if (!proto.connect.fishtankNoDelay) {
  const original = proto.connect;
  // Before connecting: Node keeps the setting and applies it when the socket
  // gets its handle. tls.connect() sockets come through here too.
  const patched = function connect(...args) {
    try {
      this.setNoDelay(true);
    } catch {
      // Not a TCP socket, or an old runtime: leave it as it is.
    }
    return Reflect.apply(original, this, args);
  };
  patched.fishtankNoDelay = true;
  proto.connect = patched;
}
