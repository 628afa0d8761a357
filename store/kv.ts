/**
 * What the stores need of a key-value database: the part of Deno KV's API they use. A Deno KV file
 * (`Deno.openKv(path)`) is one; {@linkcode PgKv} (the same API on a PostgreSQL server, `--db postgres://…`) is the
 * other, for a store that lives on a database server of its own.
 *
 * @module
 */

/** An atomic operation: checks, then sets and deletes, committed all or nothing. */
export interface KvAtomic {
  check(...checks: Deno.AtomicCheck[]): this;
  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this;
  delete(key: Deno.KvKey): this;
  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError>;
}

/** The key-value database under the stores (Deno KV's API, the part the stores use). */
export interface Kv {
  get<T = unknown>(
    key: Deno.KvKey,
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<Deno.KvEntryMaybe<T>>;
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }>;
  set(
    key: Deno.KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<Deno.KvCommitResult>;
  delete(key: Deno.KvKey): Promise<void>;
  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): AsyncIterableIterator<Deno.KvEntry<T>>;
  atomic(): KvAtomic;
  close(): void;
}
