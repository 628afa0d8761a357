/**
 * The CONNECT of an MQTT 5 client as the 3.1.1 CONNECT aedes gets, and what it asked for that 3.1.1 cannot say (its
 * session expiry, a will's delay and properties), for `Mqtt5Adapter` and the bridge to keep.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { IConnectPacket, IPublishPacket } from "mqtt-packet";

type _PublishProperties = NonNullable<IPublishPacket["properties"]>;

/** What an MQTT 5 CONNECT asked for that the 3.1.1 CONNECT sent to the broker cannot say. */
export interface Mqtt5Connect {
  /** Clean start: any existing session is discarded (sent to the broker as a clean session). */
  cleanStart: boolean;
  /** Session expiry interval in seconds (0 when absent: the session ends with the connection); DISCONNECT may change it. */
  sessionExpiry: number;
  /** The will's PUBLISH properties (user properties, content type, message expiry, …), for the bridge to carry. */
  willProperties: _PublishProperties | null;
  /**
   * The will, when it must wait: its delay in seconds (the will delay interval, or the session expiry if shorter) is
   * above 0.
   * It is not in the CONNECT sent to the broker. Null when there is no will or it goes out at once (then the broker
   * has it).
   */
  delayedWill: { will: Mqtt5Will; delay: number } | null;
}

/** A will message as the broker publishes it. */
export interface Mqtt5Will {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/**
 * The 3.1.1 CONNECT for the broker, with `clientId` (the client's, or one assigned for an empty one), and what the
 * MQTT 5 `packet` asked for beyond it. A will that must wait is left out of the 3.1.1 CONNECT.
 */
export function translateConnect(
  packet: IConnectPacket,
  clientId: string,
): { v4: IConnectPacket; connect: Mqtt5Connect } {
  const properties = packet.properties ?? {};
  const v4: IConnectPacket = {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clientId,
    // Clean start 0 resumes a stored session whatever the expiry; the bridge ends one with expiry 0 at disconnect.
    clean: packet.clean ?? true,
    keepalive: packet.keepalive ?? 0,
  };
  if (packet.username !== undefined) v4.username = packet.username;
  if (packet.password !== undefined) {
    v4.password = packet.password;
    // MQTT 5 allows a password without a user name; 3.1.1 does not.
    v4.username ??= "";
  }
  const sessionExpiry = properties.sessionExpiryInterval ?? 0;
  const connect: Mqtt5Connect = {
    cleanStart: packet.clean ?? true,
    sessionExpiry,
    delayedWill: null,
    willProperties: null,
  };
  if (packet.will) {
    const { topic, payload, qos, retain } = packet.will;
    const will: Mqtt5Will = {
      topic,
      payload: Buffer.from(payload),
      qos: qos ?? 0,
      retain: retain ?? false,
    };
    const { willDelayInterval: _delay, ...willProperties } =
      packet.will.properties ?? {};
    if (Object.keys(willProperties).length > 0) {
      connect.willProperties = willProperties as _PublishProperties;
    }
    // The will goes out when its delay ends or the session does, whichever is first (3.1.3.2.2).
    const delay = Math.min(
      packet.will.properties?.willDelayInterval ?? 0,
      sessionExpiry,
    );
    if (delay > 0) connect.delayedWill = { will, delay };
    else v4.will = will;
  }
  return { v4, connect };
}
