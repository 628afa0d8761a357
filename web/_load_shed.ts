/**
 * A load shedder for the expensive routes (run reports, replays and their APIs): a few requests in flight, a short
 * queue, and beyond that an immediate `503 Service Unavailable` with `Retry-After`. In `deno task sim --web` the web
 * server shares one event loop with the simulation's clock; a class opening the same running run at once must get
 * "try again in a moment", not a server that queues without bound while the tanks fall behind.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { WebContext } from "./app.ts";

/** Options of {@linkcode LoadShedder}. */
export interface LoadShedOptions {
  /** Requests served at once. */
  concurrency?: number;
  /** Requests waiting for a slot; one more is refused at once. */
  queue?: number;
  /** Longest a request waits for a slot before it is refused, ms. */
  maxWaitMs?: number;
  /** Seconds the refusal's `Retry-After` asks the client to wait. */
  retryAfter?: number;
}

const defaults = {
  concurrency: 3,
  queue: 12,
  maxWaitMs: 5_000,
  retryAfter: 2,
} satisfies Required<LoadShedOptions>;

/** A counting gate: {@linkcode enter} admits, queues or refuses; {@linkcode leave} frees the slot. */
export class LoadShedder {
  readonly options: Readonly<Required<LoadShedOptions>>;
  #running = 0;
  readonly #waiting: ((admitted: boolean) => void)[] = [];
  readonly #admitted = new WeakSet<Request>();
  /** Requests refused so far. */
  refused = 0;

  constructor(options: LoadShedOptions = {}) {
    this.options = { ...defaults, ...options };
    const { concurrency, queue, maxWaitMs, retryAfter } = this.options;
    for (const [name, value] of Object.entries({ concurrency, retryAfter })) {
      if (!(Number.isInteger(value) && value >= 1)) {
        throw new RangeError(
          `${name}: expected a whole number from 1, got ${value}`,
        );
      }
    }
    if (!(Number.isInteger(queue) && queue >= 0)) {
      throw new RangeError(
        `queue: expected a whole number from 0, got ${queue}`,
      );
    }
    if (!(maxWaitMs >= 0)) {
      throw new RangeError(
        `maxWaitMs: expected a number from 0, got ${maxWaitMs}`,
      );
    }
  }

  /** Requests being served. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves true once the request holds a slot (call {@linkcode leave} after), false when it is refused. */
  enter(): Promise<boolean> {
    if (this.#running < this.options.concurrency) {
      this.#running++;
      return Promise.resolve(true);
    }
    if (this.#waiting.length >= this.options.queue) {
      this.refused++;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.#waiting.indexOf(admit);
        if (at >= 0) this.#waiting.splice(at, 1);
        this.refused++;
        resolve(false);
      }, this.options.maxWaitMs);
      const admit = (admitted: boolean) => {
        clearTimeout(timer);
        resolve(admitted);
      };
      this.#waiting.push(admit);
    });
  }

  /** Frees a slot: the next waiting request takes it. */
  leave(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(true); // the slot passes on: running stays the same
    else this.#running--;
  }

  /** The refusal's words. */
  message(): string {
    const { concurrency, retryAfter } = this.options;
    return `Busy: ${concurrency} run reports or replays are being prepared and more are waiting. Please try again in ${retryAfter} s (the live tanks are not slowed down by this).`;
  }

  /** Hono middleware: admits the request or answers 503 with `Retry-After` (JSON `{error}` under `/api/`). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      // Registered on overlapping paths, a request still takes one slot.
      if (this.#admitted.has(c.req.raw)) return await next();
      if (!await this.enter()) {
        const headers = { "retry-after": String(this.options.retryAfter) };
        return c.req.path.startsWith("/api/")
          ? c.json({ error: this.message() }, 503, headers)
          : c.text(this.message(), 503, headers);
      }
      this.#admitted.add(c.req.raw);
      try {
        await next();
      } finally {
        this.leave();
      }
    };
  }
}

/** Records a long read folds before it lets timers (the simulation's clock) run. */
export const RECORDS_PER_SLICE = 1000;

/**
 * Lets timers and I/O run before the caller goes on. Awaiting records from the store alone does not: between its
 * reads, an async iterator's steps are microtasks, which run before any timer.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const perContext = new WeakMap<WebContext, LoadShedder>();

/** The one shedder of a web app (its routes share the slots), made on first use. */
export function loadShedder(context: WebContext): LoadShedder {
  let shedder = perContext.get(context);
  if (shedder === undefined) {
    shedder = new LoadShedder();
    perContext.set(context, shedder);
  }
  return shedder;
}
