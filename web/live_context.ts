/**
 * One {@linkcode LiveRelay} per web app: started when the live routes are registered on an app whose context names a
 * broker, and closed with {@linkcode closeLiveRelay} when the server stops.
 *
 * @module
 */

import type { WebContext } from "./app.ts";
import { LiveRelay, type LiveRelayOptions } from "./live_relay.ts";

const relays = new WeakMap<WebContext, LiveRelay>();

/** The relay of `context`, started on first use; `undefined` when no broker is configured. */
export function liveRelayFor(
  context: WebContext,
  options: Partial<LiveRelayOptions> = {},
): LiveRelay | undefined {
  if (context.broker === undefined) return undefined;
  let relay = relays.get(context);
  if (relay === undefined) {
    relay = LiveRelay.start({ ...options, ...context.broker });
    relays.set(context, relay);
  }
  return relay;
}

/** Closes the relay of `context`, if one was started. */
export async function closeLiveRelay(context: WebContext): Promise<void> {
  const relay = relays.get(context);
  relays.delete(context);
  await relay?.close();
}
