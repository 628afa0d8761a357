/**
 * The tank as it was at any simulated time of a stored run, for the replay page: the run's recorded `publish` records
 * folded through the terminal display's reducer (`applyMessage`, the one the live page uses) and turned into the live
 * card's {@linkcode TankView}. Times the card compares (`wallAt`, `now`) are simulated milliseconds, so "last reading
 * 10 s ago" speaks of the tank's clock. One pass over a finished run keeps a keyframe every few hundred records, so a
 * jump anywhere folds at most that many.
 *
 * @module
 */

import {
  applyMessage,
  type DisplayState,
  initialDisplayState,
} from "../harness/display/mod.ts";
import type { RunMeta, RunStore } from "../store/mod.ts";
import { toView } from "./live_relay.ts";
import type { TankView } from "./live_view.ts";

/** The tank at one simulated time. */
export interface ReplayFrame {
  /** Simulated seconds asked for. */
  t: number;
  /** The card's clock: simulated milliseconds (`t × 1000`). */
  now: number;
  view: TankView;
  /** Recorded publishes folded in, up to this time. */
  messages: number;
}

interface Keyframe {
  /** Simulated time of the last record folded in (−∞ for none). */
  t: number;
  /** The first seq not folded in yet. */
  nextSeq: number;
  state: DisplayState;
}

/** Publish records between two keyframes. */
const KEYFRAME_EVERY = 256;

function emptyState(meta: RunMeta): DisplayState {
  return initialDisplayState(
    { broker: "replay", root: meta.root, tank: meta.tank },
    0,
  );
}

async function fold(
  store: RunStore,
  runId: string,
  from: Keyframe,
  until: number,
): Promise<Keyframe> {
  let { state, nextSeq, t } = from;
  for await (
    const record of store.messages(runId, {
      fromSeq: nextSeq,
      kinds: ["publish"],
    })
  ) {
    if (record.t > until) break;
    state = applyMessage(state, record.topic, record.payload, record.t * 1000);
    nextSeq = record.seq + 1;
    t = record.t;
  }
  return { state, nextSeq, t };
}

/** Keyframes of one run, to answer {@linkcode ReplayIndex.frameAt} without reading the run from the start. */
export class ReplayIndex {
  readonly meta: RunMeta;
  readonly #store: RunStore;
  readonly #keyframes: Keyframe[];

  private constructor(store: RunStore, meta: RunMeta, keyframes: Keyframe[]) {
    this.#store = store;
    this.meta = meta;
    this.#keyframes = keyframes;
  }

  /** Reads the whole run once. */
  static async build(store: RunStore, meta: RunMeta): Promise<ReplayIndex> {
    const start: Keyframe = {
      t: -Infinity,
      nextSeq: 0,
      state: emptyState(meta),
    };
    const keyframes = [start];
    let state = start.state;
    let count = 0;
    for await (
      const record of store.messages(meta.runId, { kinds: ["publish"] })
    ) {
      state = applyMessage(
        state,
        record.topic,
        record.payload,
        record.t * 1000,
      );
      if (++count % KEYFRAME_EVERY === 0) {
        keyframes.push({ t: record.t, nextSeq: record.seq + 1, state });
      }
    }
    return new ReplayIndex(store, meta, keyframes);
  }

  /** The tank after every record at or before simulated time `t`. */
  async frameAt(t: number): Promise<ReplayFrame> {
    // The last keyframe at or before t (keyframes are in time order).
    let low = 0;
    let high = this.#keyframes.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.#keyframes[middle]!.t <= t) low = middle;
      else high = middle - 1;
    }
    const key = await fold(
      this.#store,
      this.meta.runId,
      this.#keyframes[low]!,
      t,
    );
    return toFrame(key, t);
  }
}

function toFrame(key: Keyframe, t: number): ReplayFrame {
  return {
    t,
    now: t * 1000,
    view: toView(key.state),
    messages: key.state.messages,
  };
}

/** The tank at `t`, folded from the start of the run: for a run still being written, or a first paint. */
export async function frameFromStart(
  store: RunStore,
  meta: RunMeta,
  t: number,
): Promise<ReplayFrame> {
  const key = await fold(store, meta.runId, {
    t: -Infinity,
    nextSeq: 0,
    state: emptyState(meta),
  }, t);
  return toFrame(key, t);
}

const CACHED_RUNS = 4;
const perStore = new WeakMap<RunStore, Map<string, Promise<ReplayIndex>>>();

/**
 * The index of a finished run, built once and kept for the last few runs asked for (a run still being written is not
 * indexed: `undefined`, fold from the start instead).
 */
export function replayIndex(
  store: RunStore,
  meta: RunMeta,
): Promise<ReplayIndex> | undefined {
  if (meta.outcome === "running") return undefined;
  let cache = perStore.get(store);
  if (cache === undefined) {
    cache = new Map();
    perStore.set(store, cache);
  }
  let index = cache.get(meta.runId);
  if (index !== undefined) {
    cache.delete(meta.runId);
  } else {
    index = ReplayIndex.build(store, meta);
    index.catch(() => cache.delete(meta.runId));
  }
  cache.set(meta.runId, index);
  while (cache.size > CACHED_RUNS) cache.delete(cache.keys().next().value!);
  return index;
}

/** The tank at `t`: through the run's index when it has one, else folded from the start. */
export async function replayFrame(
  store: RunStore,
  meta: RunMeta,
  t: number,
): Promise<ReplayFrame> {
  const index = replayIndex(store, meta);
  return index === undefined
    ? await frameFromStart(store, meta, t)
    : await (await index).frameAt(t);
}
