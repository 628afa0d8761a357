/**
 * Test helper for the replay: what a run's records say the tank published, read straight from the store, to check
 * replays against.
 *
 * @module
 */

import type { RunStore } from "./run_store.ts";

/** A `…/sensors/all` batch as the tank published it. */
export interface PublishedBatch {
  t: number;
  time: string;
  temperature: number;
}

/** The last `…/sensors/all` batch published at or before simulated time `t`. @throws {RangeError} if none */
export async function lastBatch(
  store: RunStore,
  runId: string,
  t: number,
): Promise<PublishedBatch> {
  let found: PublishedBatch | undefined;
  for await (const r of store.messages(runId, { kinds: ["publish"] })) {
    if (r.t > t) break;
    if (r.topic.endsWith("/sensors/all")) {
      found = JSON.parse(new TextDecoder().decode(r.payload));
    }
  }
  if (found === undefined) {
    throw new RangeError(`run ${runId}: no batch at or before t = ${t}`);
  }
  return found;
}
