/**
 * What the run pages and the runs API read from the store, shared so both say the same: run summaries, a run's grade
 * and truth (cached for finished runs, which never change), the message log with time jumps, and the parsing of query
 * parameters into clear 400 errors.
 *
 * @module
 */

import {
  DIGEST_POINTS,
  digestStoredRun,
  type RunDigest,
  storedDigest,
} from "../harness/grading/mod.ts";
import type {
  MessageRecord,
  RecordKind,
  RunFilter,
  RunMeta,
  RunOutcome,
  RunStore,
} from "../store/mod.ts";
export { payloadText } from "../store/mod.ts";
import {
  endedEarly,
  readTruth,
  reduceSeries,
  type RunGrade,
  type RunSeries,
  runSeries,
  type RunTruth,
  type SeriesOptions,
} from "../grader/mod.ts";
import { parseScenario } from "../scenarios/mod.ts";
import { RECORDS_PER_SLICE, yieldToEventLoop } from "./_load_shed.ts";

/** A bad request: the status and a message naming the parameter. */
export class RequestError extends Error {
  override name = "RequestError";
  readonly status: 400 | 404;
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** Every outcome a run can have, for filters. */
export const OUTCOMES: readonly RunOutcome[] = [
  "running",
  "completed",
  "crashed",
  "unresponsive",
  "no_connect",
  "no_subscribe",
  "flooding",
  "interrupted",
  "error",
];

/** Every kind of record, for the message log filter. */
export { RECORD_KINDS } from "../store/mod.ts";

/** A query parameter as a number within bounds; `fallback` when absent or empty. */
export function numberParam(
  query: URLSearchParams,
  name: string,
  options: { min?: number; max?: number; integer?: boolean },
): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const value = Number(raw);
  const { min = -Infinity, max = Infinity, integer = false } = options;
  if (
    !Number.isFinite(value) || (integer && !Number.isInteger(value)) ||
    value < min || value > max
  ) {
    throw new RequestError(
      400,
      `${name}: expected ${integer ? "a whole number" : "a number"}${
        Number.isFinite(min) ? ` from ${min}` : ""
      }${Number.isFinite(max) ? ` to ${max}` : ""}, got "${raw}"`,
    );
  }
  return value;
}

/** A query parameter as text, undefined when absent or empty. */
export function textParam(
  query: URLSearchParams,
  name: string,
): string | undefined {
  const raw = query.get(name)?.trim();
  return raw === undefined || raw === "" ? undefined : raw;
}

/** The `outcome` parameter, checked against the known outcomes. */
export function outcomeParam(query: URLSearchParams): RunOutcome | undefined {
  const raw = textParam(query, "outcome");
  if (raw === undefined) return undefined;
  if (!OUTCOMES.includes(raw as RunOutcome)) {
    throw new RequestError(
      400,
      `outcome: expected one of ${OUTCOMES.join(", ")}, got "${raw}"`,
    );
  }
  return raw as RunOutcome;
}

/** The runs-list filter of a query (`student`, `scenario`, `group`, `outcome`, `limit`), each checked. */
export function runFilterParams(
  query: URLSearchParams,
  defaultLimit: number,
): RunFilter & { limit: number } {
  const student = textParam(query, "student");
  const scenario = textParam(query, "scenario");
  const group = textParam(query, "group");
  const outcome = outcomeParam(query);
  const limit = numberParam(query, "limit", {
    min: 1,
    max: 10_000,
    integer: true,
  }) ?? defaultLimit;
  return {
    ...(student ? { student } : {}),
    ...(scenario ? { scenario } : {}),
    ...(group ? { group } : {}),
    ...(outcome ? { outcome } : {}),
    limit,
  };
}

/** What the runs list shows of a run. */
export interface RunSummary {
  id: string;
  scenario: string;
  scenarioTitle: string;
  scenarioVersion: number;
  student: string;
  group: string | null;
  outcome: RunOutcome;
  /** The controller exited with code 0 before the run was over (outcome `crashed`, but not a crash). */
  endedEarly: boolean;
  score: number | null;
  pass: boolean | null;
  startedAt: string;
  endedAt: string | null;
  /** Simulated seconds covered. */
  simulated: number;
}

/** A run's summary for lists. */
export function summarize(meta: RunMeta): RunSummary {
  return {
    id: meta.runId,
    scenario: meta.scenario.id,
    scenarioTitle: meta.scenario.title,
    scenarioVersion: meta.scenario.version,
    student: meta.student,
    group: meta.group ?? null,
    outcome: meta.outcome,
    endedEarly: endedEarly(meta.outcome, meta),
    score: meta.grade?.score ?? null,
    pass: meta.grade?.pass ?? null,
    startedAt: meta.startedAt,
    endedAt: meta.endedAt ?? null,
    simulated: meta.simulated,
  };
}

const CACHED_RUNS = 8;
/**
 * How long a running run's digest and truth are shared before they are read again: its pages are at most this far
 * behind, and a class opening the same running run at once costs one read of it, not one per request.
 */
export const RUNNING_REUSE_MS = 5_000;
/** Most records one page of the message log looks through for matches before it stops and offers the next page. */
export const MAX_SCANNED = 20_000;

interface Cached {
  digest?: Promise<RunDigest>;
  truth?: Promise<RunTruth>;
}

/** A running run's value, shared while it is being made and for {@linkcode RUNNING_REUSE_MS} after. */
interface Shared<T> {
  value: Promise<T>;
  /** `performance.now()` when it settled; undefined while in flight. */
  settled?: number;
}

/**
 * Reads runs from a store. A finished run's grade and charts come from its digest (stored when it ended, or made
 * from its records on first use and stored then); digests and truth are kept for the last few runs asked for. A run
 * still being written has its digest and truth made at most once per {@linkcode RUNNING_REUSE_MS}, one at a time.
 */
export class RunData {
  readonly store: RunStore;
  readonly #cache = new Map<string, Cached>();
  readonly #running = new Map<string, Shared<unknown>>();

  constructor(store: RunStore) {
    this.store = store;
  }

  /** The run's summary. @throws {RequestError} 404 when there is no such run */
  async meta(runId: string): Promise<RunMeta> {
    const meta = await this.store.getRun(runId);
    if (meta === null) {
      throw new RequestError(404, `run: no run "${runId}" in the data store`);
    }
    return meta;
  }

  /** The run's scenario start, epoch ms (the tank's local time stored as UTC), or 0 if its text no longer parses. */
  scenarioStart(meta: RunMeta): number {
    try {
      return parseScenario(meta.scenario.source, { file: meta.scenario.id })
        .start;
    } catch {
      return 0;
    }
  }

  #entry(meta: RunMeta): Cached {
    if (meta.outcome === "running") return {};
    let entry = this.#cache.get(meta.runId);
    if (entry !== undefined) {
      this.#cache.delete(meta.runId);
    } else entry = {};
    this.#cache.set(meta.runId, entry);
    while (this.#cache.size > CACHED_RUNS) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    return entry;
  }

  /** A running run's `what`: the one in flight or made less than {@linkcode RUNNING_REUSE_MS} ago, else `make()`. */
  #shared<T>(runId: string, what: string, make: () => Promise<T>): Promise<T> {
    const key = `${what}\0${runId}`;
    const now = performance.now();
    const found = this.#running.get(key) as Shared<T> | undefined;
    if (
      found !== undefined &&
      (found.settled === undefined || now - found.settled < RUNNING_REUSE_MS)
    ) return found.value;
    const shared: Shared<T> = { value: make() };
    const settle = () => shared.settled = performance.now();
    shared.value.then(settle, settle);
    this.#running.delete(key);
    this.#running.set(key, shared);
    while (this.#running.size > 2 * CACHED_RUNS) {
      this.#running.delete(this.#running.keys().next().value!);
    }
    return shared.value;
  }

  /**
   * The run's digest (grade and reduced charts): the stored one, else made from the records, and stored when the run
   * has finished. A run whose scenario text does not parse (a recording names its scenario but has no text) is
   * refused before any record is read.
   */
  digest(meta: RunMeta): Promise<RunDigest> {
    if (meta.outcome === "running") {
      return this.#shared(meta.runId, "digest", () => this.#makeDigest(meta));
    }
    const entry = this.#entry(meta);
    entry.digest ??= this.#makeDigest(meta);
    entry.digest.catch(() => this.#cache.delete(meta.runId));
    return entry.digest;
  }

  async #makeDigest(meta: RunMeta): Promise<RunDigest> {
    parseScenario(meta.scenario.source, { file: meta.scenario.id });
    const stored = meta.outcome === "running"
      ? null
      : await storedDigest(this.store, meta.runId);
    return stored ?? await digestStoredRun(this.store, meta, {
      save: meta.outcome !== "running",
    });
  }

  /** The run's grade, as `deno task grade --rescore` computes it from the records. */
  async grade(meta: RunMeta): Promise<RunGrade> {
    return (await this.digest(meta)).grade;
  }

  /**
   * The run's chart data in `[from, to]`, about `points` per series: cut from the digest when its resolution is
   * enough, else read from the truth records in the window (a zoom into a long run). Without a digest (a scenario
   * text that no longer parses) the charts still come from the records.
   */
  async series(meta: RunMeta, options: SeriesOptions): Promise<RunSeries> {
    let digest: RunDigest;
    try {
      digest = await this.digest(meta);
    } catch {
      return runSeries(await this.truth(meta), options);
    }
    const chart = digest.chart;
    const from = options.from ?? chart.from;
    const to = options.to ?? chart.to;
    const points = options.points ?? 1000;
    const names = options.names ?? digest.bounded;
    const coarse = (chart.to - chart.from) / DIGEST_POINTS <=
      (to - from) / points;
    if (coarse) return reduceSeries(chart, { names, from, to, points });
    const truth = await readTruth(this.#truthBetween(meta.runId, from, to));
    return {
      ...runSeries(truth, { names, from, to, points }),
      markers: chart.markers.filter((m) => m.t >= from && m.t <= to),
    };
  }

  async *#truthBetween(
    runId: string,
    from: number,
    to: number,
  ): AsyncIterable<MessageRecord> {
    const fromSeq = await this.seqAt(runId, from);
    for await (
      const record of this.store.messages(runId, { fromSeq, kinds: ["truth"] })
    ) {
      if (record.t > to) return;
      yield record;
    }
  }

  /** The run's truth samples. */
  truth(meta: RunMeta): Promise<RunTruth> {
    const read = () =>
      readTruth(this.store.messages(meta.runId, { kinds: ["truth"] }));
    if (meta.outcome === "running") {
      return this.#shared(meta.runId, "truth", read);
    }
    const entry = this.#entry(meta);
    entry.truth ??= read();
    return entry.truth;
  }

  /**
   * A page of the message log: records from `seq` (or from the first at simulated time `from`) matching `topic`
   * (a substring, or an MQTT filter when it has `+` or `#`) and `kinds`. A filter that matches little stops after
   * looking through {@linkcode MAX_SCANNED} records; `next` then says where to go on.
   */
  async messages(
    meta: RunMeta,
    options: {
      topic?: string;
      kinds?: readonly RecordKind[];
      from?: number;
      seq?: number;
      limit: number;
    },
  ): Promise<{ records: MessageRecord[]; next: number | null }> {
    const fromSeq = options.seq ??
      (options.from !== undefined
        ? await this.seqAt(meta.runId, options.from)
        : 0);
    const match = topicMatcher(options.topic);
    const records: MessageRecord[] = [];
    const iterable = this.store.messages(meta.runId, {
      fromSeq,
      ...(options.kinds ? { kinds: options.kinds } : {}),
    });
    let scanned = 0;
    for await (const record of iterable) {
      if (++scanned > MAX_SCANNED) return { records, next: record.seq };
      if (scanned % RECORDS_PER_SLICE === 0) await yieldToEventLoop();
      if (!match(record.topic)) continue;
      if (records.length === options.limit) {
        return { records, next: record.seq };
      }
      records.push(record);
    }
    return { records, next: null };
  }

  /** The seq of the first record at or after simulated time `t`, found by bisection (records are in time order). */
  async seqAt(runId: string, t: number): Promise<number> {
    let low = 0;
    let high = await this.store.countMessages(runId);
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      let at: number | undefined;
      for await (
        const record of this.store.messages(runId, { fromSeq: middle })
      ) {
        at = record.t;
        break;
      }
      if (at === undefined || at >= t) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/** A test of topics: substring, or MQTT filter (`+` one level, `#` the rest) when the text has a wildcard. */
export function topicMatcher(
  filter: string | undefined,
): (topic: string) => boolean {
  if (filter === undefined || filter === "") return () => true;
  if (!/[+#]/.test(filter)) return (topic) => topic.includes(filter);
  const levels = filter.split("/");
  return (topic) => {
    const parts = topic.split("/");
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i];
      if (level === "#") return true;
      if (i >= parts.length) return false;
      if (level !== "+" && level !== parts[i]) return false;
    }
    return parts.length === levels.length;
  };
}

const perStore = new WeakMap<RunStore, RunData>();

/** The one {@linkcode RunData} of a store, so pages and API share its cache. */
export function runData(store: RunStore): RunData {
  let data = perStore.get(store);
  if (data === undefined) {
    data = new RunData(store);
    perStore.set(store, data);
  }
  return data;
}
