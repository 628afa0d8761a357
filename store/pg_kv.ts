/**
 * Deno KV's API ({@linkcode Kv}) on a PostgreSQL server, for a store that lives on a database server of its own
 * (`--db postgres://user@host/db`): the class server's runs, records, queue and class data in one table, kept by a
 * server that is backed up, replicated and reached over the network as any other database.
 *
 * - One table, `fishtank_kv (k bytea primary key, v bytea, version bigint, expires_at timestamptz)`, made at the
 *   first connection. Keys are encoded so that `bytea` order is Deno KV's key order (`_kv_key_codec.ts`); values
 *   are V8-serialised, as Deno KV stores them.
 * - Versionstamps come from one sequence, as 20 hex digits: later commits have greater ones.
 * - An atomic commit runs in one transaction holding a transaction-level advisory lock, so that commits on this
 *   table are serialised, as on a Deno KV file: its checks and its mutations see no other commit between them.
 * - Reads are plain reads of committed rows (strong consistency); expired entries read as absent.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import v8 from "node:v8";
import postgres from "postgres";
import { decodeKey, encodeKey, PREFIX_END } from "./_kv_key_codec.ts";
import type { Kv, KvAtomic } from "./kv.ts";

/** The advisory lock every commit on the table holds (an arbitrary constant: "fishtank"). */
const COMMIT_LOCK = 0x66697368;
const BATCH = 500;

type Sql = postgres.Sql<Record<string, never>>;

interface Row {
  k: Uint8Array;
  v: Uint8Array;
  version: string;
}

/** Deno KV's API on PostgreSQL. */
export class PgKv implements Kv {
  readonly #sql: Sql;
  #closed: Promise<void> | undefined;

  private constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Connects to `url` (`postgres://user:password@host:port/database`, or the PG* environment variables for what it
   * leaves out) and makes the table when it is missing.
   *
   * @throws when the server cannot be reached or refuses the login (the message names the URL without its password)
   */
  static async connect(url: string): Promise<PgKv> {
    const sql = postgres(url, {
      max: 4,
      onnotice: () => {},
      connect_timeout: 10,
    }) as unknown as Sql;
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${COMMIT_LOCK})`;
        await tx`create table if not exists fishtank_kv (
          k bytea primary key,
          v bytea not null,
          version bigint not null,
          expires_at timestamptz
        )`;
        await tx`create sequence if not exists fishtank_kv_version`;
      });
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw new Error(
        `cannot open the store at ${withoutPassword(url)}: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    return new PgKv(sql);
  }

  async get<T = unknown>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
    const k = encodeKey(key);
    const rows = await this.#sql<Row[]>`
      select k, v, version::text from fishtank_kv
      where k = ${bytes(k)} and (expires_at is null or expires_at > now())`;
    return rows.length === 0
      ? { key, value: null, versionstamp: null }
      : entry<T>(rows[0]!, key);
  }

  async getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    const encoded = keys.map((key) => encodeKey(key as Deno.KvKey));
    const found = new Map<string, Row>();
    if (encoded.length > 0) {
      const rows = await this.#sql<Row[]>`
        select k, v, version::text from fishtank_kv
        where k in ${this.#sql(encoded.map(bytes))}
          and (expires_at is null or expires_at > now())`;
      for (const row of rows) found.set(hex(row.k), row);
    }
    return keys.map((key, i) => {
      const row = found.get(hex(encoded[i]!));
      return row === undefined
        ? { key, value: null, versionstamp: null }
        : entry(row, key as Deno.KvKey);
    }) as { [K in keyof T]: Deno.KvEntryMaybe<T[K]> };
  }

  async set(
    key: Deno.KvKey,
    value: unknown,
    options: { expireIn?: number } = {},
  ): Promise<Deno.KvCommitResult> {
    const result = await this.atomic().set(key, value, options).commit();
    return result as Deno.KvCommitResult;
  }

  async delete(key: Deno.KvKey): Promise<void> {
    await this.atomic().delete(key).commit();
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options: Deno.KvListOptions = {},
  ): AsyncIterableIterator<Deno.KvEntry<T>> & { readonly cursor: string } {
    const sql = this.#sql;
    const { lo, loInclusive, hi } = bounds(selector);
    const reverse = options.reverse ?? false;
    const limit = options.limit ?? Infinity;
    const batch = Math.max(1, Math.min(options.batchSize ?? BATCH, BATCH));
    let last = options.cursor ? Buffer.from(options.cursor, "base64") : null;
    let cursor = options.cursor ?? "";
    async function* rows(): AsyncGenerator<Deno.KvEntry<T>> {
      let count = 0;
      while (count < limit) {
        const n = Math.min(batch, limit - count);
        const page = reverse
          ? await sql<Row[]>`
            select k, v, version::text from fishtank_kv
            where ${
            loInclusive ? sql`k >= ${bytes(lo)}` : sql`k > ${bytes(lo)}`
          }
              and k < ${last ?? bytes(hi)}
              and (expires_at is null or expires_at > now())
            order by k desc limit ${n}`
          : await sql<Row[]>`
            select k, v, version::text from fishtank_kv
            where ${
            last !== null
              ? sql`k > ${last}`
              : loInclusive
              ? sql`k >= ${bytes(lo)}`
              : sql`k > ${bytes(lo)}`
          }
              and k < ${bytes(hi)}
              and (expires_at is null or expires_at > now())
            order by k limit ${n}`;
        for (const row of page) {
          last = Buffer.from(row.k);
          cursor = last.toString("base64");
          count++;
          yield entry<T>(row, decodeKey(row.k)) as Deno.KvEntry<T>;
        }
        if (page.length < n) return;
      }
    }
    const iterator = rows();
    return Object.defineProperty(iterator, "cursor", { get: () => cursor }) as
      & AsyncGenerator<Deno.KvEntry<T>>
      & { readonly cursor: string };
  }

  atomic(): KvAtomic {
    return new PgAtomic(this.#sql);
  }

  /** Bytes the table takes on the server, its indexes and TOAST included (for measurements). */
  async bytes(): Promise<number> {
    const [row] = await this.#sql<{ n: string }[]>`
      select pg_total_relation_size('fishtank_kv')::text as n`;
    return Number(row!.n);
  }

  /** Ends the connections (after the queries in flight); {@linkcode closed} tells when. */
  close(): void {
    this.#closed ??= this.#sql.end({ timeout: 5 });
  }

  /** Resolves once {@linkcode close} has ended every connection. */
  get closed(): Promise<void> {
    return this.#closed ?? Promise.resolve();
  }
}

type Mutation =
  | { type: "set"; key: Uint8Array; value: unknown; expireIn?: number }
  | { type: "delete"; key: Uint8Array };

class PgAtomic implements KvAtomic {
  readonly #sql: Sql;
  readonly #checks: { key: Uint8Array; versionstamp: string | null }[] = [];
  readonly #mutations: Mutation[] = [];

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  check(...checks: Deno.AtomicCheck[]): this {
    for (const c of checks) {
      this.#checks.push({
        key: encodeKey(c.key),
        versionstamp: c.versionstamp,
      });
    }
    return this;
  }

  set(key: Deno.KvKey, value: unknown, options: { expireIn?: number } = {}) {
    this.#mutations.push({
      type: "set",
      key: encodeKey(key),
      value,
      ...(options.expireIn !== undefined ? { expireIn: options.expireIn } : {}),
    });
    return this;
  }

  delete(key: Deno.KvKey): this {
    this.#mutations.push({ type: "delete", key: encodeKey(key) });
    return this;
  }

  async commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    // The last mutation of a key decides what it holds: one statement for the sets, one for the deletes.
    const last = new Map<string, Mutation>();
    for (const m of this.#mutations) last.set(hex(m.key), m);
    const sets = [...last.values()].filter((m) => m.type === "set");
    const deletes = [...last.values()].filter((m) => m.type === "delete");
    return await this.#sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${COMMIT_LOCK})`;
      if (this.#checks.length > 0) {
        const rows = await tx<{ k: Uint8Array; version: string }[]>`
          select k, version::text from fishtank_kv
          where k in ${tx(this.#checks.map((c) => bytes(c.key)))}
            and (expires_at is null or expires_at > now())`;
        const now = new Map(rows.map((r) => [hex(r.k), stamp(r.version)]));
        for (const c of this.#checks) {
          if ((now.get(hex(c.key)) ?? null) !== c.versionstamp) {
            return { ok: false } as Deno.KvCommitError;
          }
        }
      }
      const [next] = await tx<{ version: string }[]>`
        select nextval('fishtank_kv_version')::text as version`;
      const version = next!.version;
      if (sets.length > 0) {
        const values = sets.map((m) => {
          const set = m as Extract<Mutation, { type: "set" }>;
          return {
            k: bytes(set.key),
            v: v8.serialize(set.value),
            version,
            expires_at: set.expireIn === undefined
              ? null
              : new Date(Date.now() + set.expireIn),
          };
        });
        await tx`
          insert into fishtank_kv ${
          tx(values, "k", "v", "version", "expires_at")
        }
          on conflict (k) do update set
            v = excluded.v, version = excluded.version, expires_at = excluded.expires_at`;
      }
      if (deletes.length > 0) {
        await tx`delete from fishtank_kv where k in ${
          tx(deletes.map((m) => bytes(m.key)))
        }`;
      }
      return { ok: true, versionstamp: stamp(version) };
    }) as Deno.KvCommitResult | Deno.KvCommitError;
  }
}

function bounds(
  selector: Deno.KvListSelector,
): { lo: Uint8Array; loInclusive: boolean; hi: Uint8Array } {
  const s = selector as {
    prefix?: Deno.KvKey;
    start?: Deno.KvKey;
    end?: Deno.KvKey;
  };
  const prefix = s.prefix === undefined ? undefined : encodeKey(s.prefix);
  const prefixEnd = prefix && concat(prefix, PREFIX_END);
  if (s.start !== undefined && s.end !== undefined) {
    return { lo: encodeKey(s.start), loInclusive: true, hi: encodeKey(s.end) };
  }
  if (prefix === undefined) {
    throw new TypeError(
      "list selector: expected {prefix}, {prefix, start}, {prefix, end} or {start, end}",
    );
  }
  if (s.start !== undefined) {
    return { lo: encodeKey(s.start), loInclusive: true, hi: prefixEnd! };
  }
  if (s.end !== undefined) {
    return { lo: prefix, loInclusive: false, hi: encodeKey(s.end) };
  }
  return { lo: prefix, loInclusive: false, hi: prefixEnd! };
}

function entry<T>(row: Row, key: Deno.KvKey): Deno.KvEntry<T> {
  return {
    key,
    value: v8.deserialize(Buffer.from(row.v)) as T,
    versionstamp: stamp(row.version),
  };
}

function stamp(version: string): string {
  return BigInt(version).toString(16).padStart(20, "0");
}

function bytes(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function concat(a: Uint8Array, byte: number): Uint8Array {
  const out = new Uint8Array(a.length + 1);
  out.set(a);
  out[a.length] = byte;
  return out;
}

function hex(u8: Uint8Array): string {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString("hex");
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "…";
    return u.toString();
  } catch {
    return "the given URL";
  }
}
