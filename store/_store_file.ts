/**
 * The store's file: opened while another process may hold its lock, and kept private to its owner.
 *
 * @module
 */

import type { Kv } from "./kv.ts";

/**
 * Makes the store's files readable by their owner only: it holds every run's truth, which a controller running as
 * another user (see `sandbox.ts`) must not read. Best effort: a file system without modes keeps its own.
 */
export async function keepPrivate(path: string): Promise<void> {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      await Deno.chmod(file, 0o600);
    } catch {
      // Not there (yet), or modes are not supported here.
    }
  }
}

/**
 * Opens Deno KV, waiting a little while another process holds the file's lock (two programs creating one store at
 * the same moment: `deno task sim --web` and `deno task record`, say). Bounded: about five seconds.
 */
export async function openRetrying(path: string): Promise<Kv> {
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.openKv(path);
    } catch (error) {
      const locked = /database is locked|busy/i.test(
        error instanceof Error ? error.message : String(error),
      );
      if (!locked || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
