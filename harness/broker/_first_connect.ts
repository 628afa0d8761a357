/**
 * Reads what the broker needs from a connection's CONNECT beside the front door, which hands aedes an MQTT 3.1.1
 * CONNECT: the session expiry interval an MQTT 5 client asked for (the MQTT 5 adapter keeps only "a session or not").
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { frameFirstPacket, parseConnect } from "./_front_door.ts";

/**
 * Watches `stream` until its first packet is complete; the function returned then gives the session expiry interval
 * its CONNECT carried, in milliseconds (undefined before and for MQTT 3.1/3.1.1; 0 without the property). Call it
 * before the front door takes the stream, so that it has read the CONNECT by the time the front door lets it in.
 */
export function firstConnect(
  stream: Duplex,
  maxConnectPacket: number,
): () => number | undefined {
  let head: Buffer = Buffer.alloc(0);
  let expiry: number | undefined;
  const stop = () => {
    stream.off("data", onData);
    stream.off("close", stop);
  };
  function onData(chunk: Buffer): void {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const framed = frameFirstPacket(head, maxConnectPacket);
    if (framed.status === "incomplete") return;
    stop();
    if (framed.status === "invalid") return;
    const parsed = parseConnect(head.subarray(0, framed.length));
    if (!("packet" in parsed) || parsed.packet.protocolVersion !== 5) return;
    // Absent means 0 in MQTT 5: the session ends with the connection.
    expiry = (parsed.packet.properties?.sessionExpiryInterval ?? 0) * 1000;
  }
  stream.on("data", onData);
  stream.on("close", stop);
  return () => expiry;
}
