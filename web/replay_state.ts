/**
 * The tank as it was at any simulated time of a stored run, for the replay page: the run's recorded `publish` records
 * folded through the terminal display's reducer (`applyMessage`, the one the live page uses) and turned into the live
 * card's {@linkcode TankView}. Times the card compares (`wallAt`, `now`) are simulated milliseconds, so "last reading
 * 10 s ago" speaks of the tank's clock. One pass over a run keeps a keyframe every few hundred records, so a jump
 * anywhere folds at most that many; a run still being written is indexed as far as it is stored and extended with
 * what came since, so its replay never reads it from the start again.
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
import { RECORDS_PER_SLICE, yieldToEventLoop } from "./_load_shed.ts";
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

/** How long a running run's index is used before the records stored since are folded in. */
const RUNNING_REFRESH_MS = 2_000;

/**
 * Keyframes of one run, to answer {@linkcode ReplayIndex.frameAt} without reading the run from the start. A run still
 * being written is indexed as far as it goes and {@linkcode ReplayIndex.extend}ed with what was stored since, so
 * every request of a running run reads only the records since the last keyframe.
 */
export class ReplayIndex {
  readonly meta: RunMeta;
  readonly #store: RunStore;
  readonly #keyframes: Keyframe[];
  /** Every record folded in so far. */
  #tail: Keyframe;
  #count = 0;
  #extending: Promise<void> | undefined;
  #extendedAt = -Infinity;
  #complete = false;

  private constructor(store: RunStore, meta: RunMeta) {
    this.#store = store;
    this.meta = meta;
    this.#tail = { t: -Infinity, nextSeq: 0, state: emptyState(meta) };
    this.#keyframes = [this.#tail];
  }

  /** Reads the run as far as it is stored. */
  static async build(store: RunStore, meta: RunMeta): Promise<ReplayIndex> {
    const index = new ReplayIndex(store, meta);
    await index.extend();
    if (meta.outcome !== "running") index.#complete = true;
    return index;
  }

  /** Folds in the records stored since the last call (one pass at a time; callers meanwhile share it). */
  extend(): Promise<void> {
    this.#extending ??= this.#foldNew().finally(() => {
      this.#extending = undefined;
      this.#extendedAt = performance.now();
    });
    return this.#extending;
  }

  async #foldNew(): Promise<void> {
    let { state, nextSeq, t } = this.#tail;
    for await (
      const record of this.#store.messages(this.meta.runId, {
        fromSeq: nextSeq,
        kinds: ["publish"],
      })
    ) {
      state = applyMessage(
        state,
        record.topic,
        record.payload,
        record.t * 1000,
      );
      nextSeq = record.seq + 1;
      t = record.t;
      if (++this.#count % KEYFRAME_EVERY === 0) {
        this.#keyframes.push({ t, nextSeq, state });
      }
      // Short synchronous slices: the live simulation's clock shares this event loop.
      if (this.#count % RECORDS_PER_SLICE === 0) await yieldToEventLoop();
    }
    this.#tail = { t, nextSeq, state };
  }

  /**
   * The index up to date for `meta`: a running run's is extended when older than a couple of seconds; once the run
   * has finished, it is extended one last time.
   */
  async current(meta: RunMeta): Promise<this> {
    if (this.#complete) return this;
    if (meta.outcome !== "running") {
      await this.#extending;
      await this.extend();
      this.#complete = true;
    } else if (
      this.#extending !== undefined ||
      performance.now() - this.#extendedAt > RUNNING_REFRESH_MS
    ) await this.extend();
    return this;
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

/** The tank at `t`, folded from the start of the run (what the index must agree with). */
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
 * The run's index, built once and kept for the last few runs asked for; a running run's is brought up to date (see
 * {@linkcode ReplayIndex.current}).
 */
export function replayIndex(
  store: RunStore,
  meta: RunMeta,
): Promise<ReplayIndex> {
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
  return index.then((built) => built.current(meta));
}

/** The tank at `t`, through the run's index. */
export async function replayFrame(
  store: RunStore,
  meta: RunMeta,
  t: number,
): Promise<ReplayFrame> {
  return await (await replayIndex(store, meta)).frameAt(t);
}
