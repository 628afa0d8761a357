/**
 * `mqtt-packet` as the MQTT 5 bridge uses it: a parser whose packets are collected per call, and `generate()` with an
 * error that names the packet.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";

/** An mqtt-packet parser whose events are collected per call. */
export function packetParser(
  protocolVersion: 4 | 5,
): { parse(bytes: Uint8Array): { packets: Packet[]; error: Error | null } } {
  const parser = mqttPacket.parser({ protocolVersion });
  let packets: Packet[] = [];
  let error: Error | null = null;
  parser.on("packet", (packet) => packets.push(packet));
  parser.on(
    "error",
    (e) => error ??= e instanceof Error ? e : new Error(String(e)),
  );
  return {
    parse(bytes) {
      packets = [];
      error = null;
      parser.parse(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
      return { packets, error };
    },
  };
}

/** mqtt-packet reports bad input by destroying its sink, which throws for `generate()`; this names the packet. */
export function generatePacket(packet: Packet, protocolVersion: 4 | 5): Buffer {
  try {
    return mqttPacket.generate(packet, { protocolVersion });
  } catch (e) {
    throw new Error(
      `cannot encode ${packet.cmd.toUpperCase()} as MQTT ${
        protocolVersion === 5 ? "5" : "3.1.1"
      }`,
      {
        cause: e,
      },
    );
  }
}
