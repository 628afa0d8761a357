/**
 * Reason codes for the broker's PUBACK and PUBREC to an MQTT 5 client, which 3.1.1 has no room for: aedes decides
 * about a PUBLISH in `authorizePublish` and sends its acknowledgement later, by packet id, on the connection's stream.
 * The broker's rules note a reason against that stream and packet id ({@linkcode noteAckReason}); the MQTT 5 bridge
 * takes it when the acknowledgement passes ({@linkcode takeAckReason}). Only streams the bridge registered
 * ({@linkcode expectAckReasons}) get notes, and a note is taken once, so the table holds at most the publishes in
 * flight; it goes with the stream (a `WeakMap`).
 *
 * @module
 */

/** No matching subscribers: the message was accepted and reached nobody. */
export const NO_MATCHING_SUBSCRIBERS = 0x10;
/** Not authorized: the access rules refused the message. */
export const NOT_AUTHORIZED = 0x87;

const _reasons = new WeakMap<object, Map<number, number>>();

/** The bridge will ask for reason codes of acknowledgements on `conn` (the stream aedes reads). */
export function expectAckReasons(conn: object): void {
  if (!_reasons.has(conn)) _reasons.set(conn, new Map());
}

/** Whether reason codes are wanted for `conn`: it belongs to an MQTT 5 client. */
export function wantsAckReasons(conn: object | null | undefined): boolean {
  return conn !== null && conn !== undefined && _reasons.has(conn);
}

/** Notes `reasonCode` for the acknowledgement of PUBLISH `messageId` on `conn`. */
export function noteAckReason(
  conn: object,
  messageId: number,
  reasonCode: number,
): void {
  _reasons.get(conn)?.set(messageId, reasonCode);
}

/** The reason code noted for PUBLISH `messageId` on `conn`, once; undefined for success. */
export function takeAckReason(
  conn: object,
  messageId: number,
): number | undefined {
  const reasons = _reasons.get(conn);
  const reasonCode = reasons?.get(messageId);
  reasons?.delete(messageId);
  return reasonCode;
}
