/**
 * Committing a Deno KV atomic operation when other connections write to the same file. SQLite answers "database is
 * locked" at once, without waiting, when a transaction that read (an atomic with checks) must upgrade to write while
 * another connection writes; the operation is safe to commit again, after a short random pause.
 *
 * @module
 */

import type { KvAtomic } from "./kv.ts";

/** Options for {@linkcode commitRetrying}. */
export interface CommitRetryOptions {
  /** Give up (and throw the lock error) after this long, ms. Default 10 000. */
  timeoutMs?: number;
}

/** Whether `error` is SQLite's transient "database is locked" / "busy". */
export function isLockedError(error: unknown): boolean {
  return error instanceof Error &&
    /database is (locked|busy)/i.test(error.message);
}

/** `atomic.commit()`, retried with a growing random pause while the database is locked by another connection. */
export async function commitRetrying(
  atomic: KvAtomic,
  options: CommitRetryOptions = {},
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (let attempt = 1;; attempt++) {
    try {
      return await atomic.commit();
    } catch (error) {
      if (!isLockedError(error) || Date.now() > deadline) throw error;
      // Random, so that two connections that collided do not collide again in step.
      const pause = Math.random() * Math.min(50, attempt * 2);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
