/**
 * Runs in and out of the data store: a run as JSON Lines (its summary, with the scenario text, then every record in
 * order), its readings as CSV, and a consistent copy of the whole store taken while it is in use (SQLite's
 * `VACUUM INTO`, one read transaction). An imported run gets its digest made again, so it rescored to the same
 * numbers as the original.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { SENSOR_NAMES } from "../../sim/mod.ts";
import {
  DIGEST_ATTACHMENT,
  digestStoredRun,
  type RunDigest,
} from "./run_digest.ts";
import {
  isDatabaseUrl,
  type MessageRecord,
  payloadBytes,
  payloadText,
  RECORD_KINDS,
  type RecordKind,
  type RunMeta,
  type RunStore,
} from "../../store/mod.ts";

/** The format of an export, in its first line. */
export const EXPORT_FORMAT = "fishtank-run/1";

/** The first line of an export. */
export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  meta: RunMeta;
}

/** Every other line: one record. */
export interface ExportedRecord {
  seq: number;
  t: number;
  wall: number;
  kind: RecordKind;
  client: string;
  topic: string;
  payload: string;
  encoding: "utf8" | "base64";
  qos: 0 | 1 | 2;
  retain: boolean;
  note?: string;
}

/** The run's lines, header first. @throws {Error} naming the run when it is not in the store */
export async function* exportRun(
  store: RunStore,
  runId: string,
): AsyncGenerator<string> {
  const meta = await store.getRun(runId);
  if (meta === null) {
    throw new Error(`No run "${runId}" in ${store.path}`);
  }
  yield JSON.stringify({ format: EXPORT_FORMAT, meta } satisfies ExportHeader);
  for await (const record of store.messages(runId)) {
    const line: ExportedRecord = {
      seq: record.seq,
      t: record.t,
      wall: record.wall,
      kind: record.kind,
      client: record.client,
      topic: record.topic,
      ...payloadText(record.payload),
      qos: record.qos,
      retain: record.retain,
      ...(record.note !== undefined ? { note: record.note } : {}),
    };
    yield JSON.stringify(line);
  }
}

/**
 * The readings the controller was sent (`…/sensors/all`), as CSV rows: `t` (simulated seconds), `time` (the
 * simulated clock, ISO, as the reading states it), then one column per measurement.
 */
export async function* readingsCsv(
  store: RunStore,
  runId: string,
): AsyncGenerator<string> {
  const meta = await store.getRun(runId);
  if (meta === null) throw new Error(`No run "${runId}" in ${store.path}`);
  const topic = `${meta.root}/${meta.tank}/sensors/all`;
  yield ["t", "time", ...SENSOR_NAMES].join(",");
  const decoder = new TextDecoder();
  for await (const record of store.messages(runId, { kinds: ["publish"] })) {
    if (record.topic !== topic || record.client !== "$harness") continue;
    let reading: Record<string, unknown>;
    try {
      reading = JSON.parse(decoder.decode(record.payload));
    } catch {
      continue;
    }
    const cell = (value: unknown) =>
      typeof value === "number" && Number.isFinite(value) ? String(value) : "";
    yield [
      cell(reading.t ?? record.t),
      typeof reading.time === "string" && /^[\d:TZ.+-]+$/.test(reading.time)
        ? reading.time
        : "",
      ...SENSOR_NAMES.map((n) => cell(reading[n])),
    ]
      .join(",");
  }
}

function checkRecord(
  value: unknown,
  where: string,
  expectedSeq: number,
): Omit<MessageRecord, "runId" | "seq"> {
  const r = value as Partial<ExportedRecord> | null;
  const fail = (field: string, expected: string): never => {
    throw new SyntaxError(
      `${where}: ${field}: expected ${expected}, got ${
        JSON.stringify((r as Record<string, unknown> | null)?.[field])
      }`,
    );
  };
  if (typeof r !== "object" || r === null) fail("record", "an object");
  if (r!.seq !== expectedSeq) fail("seq", String(expectedSeq));
  if (typeof r!.t !== "number" || !Number.isFinite(r!.t)) fail("t", "a number");
  if (typeof r!.wall !== "number") fail("wall", "a number");
  if (!RECORD_KINDS.includes(r!.kind as RecordKind)) {
    fail("kind", RECORD_KINDS.join(" | "));
  }
  if (typeof r!.client !== "string") fail("client", "text");
  if (typeof r!.topic !== "string") fail("topic", "text");
  if (typeof r!.payload !== "string") fail("payload", "text");
  if (r!.encoding !== "utf8" && r!.encoding !== "base64") {
    fail("encoding", `"utf8" or "base64"`);
  }
  if (r!.qos !== 0 && r!.qos !== 1 && r!.qos !== 2) fail("qos", "0, 1 or 2");
  if (typeof r!.retain !== "boolean") fail("retain", "true or false");
  if (r!.note !== undefined && typeof r!.note !== "string") {
    fail("note", "text");
  }
  let payload: Uint8Array;
  try {
    payload = payloadBytes(r!.payload!, r!.encoding!);
  } catch {
    return fail("payload", "base64");
  }
  return {
    t: r!.t!,
    wall: r!.wall!,
    kind: r!.kind!,
    client: r!.client!,
    topic: r!.topic!,
    payload,
    qos: r!.qos!,
    retain: r!.retain!,
    ...(r!.note !== undefined ? { note: r!.note } : {}),
  };
}

/**
 * Stores the run of an export's `lines` (under `options.runId` if given), with every record, then its digest.
 * Nothing is stored unless the whole file reads well. Returns the run as stored.
 *
 * @throws {SyntaxError} naming `file`, the line and the field that is wrong
 * @throws {RunStoreError} when a run with that id exists
 */
export async function importRun(
  store: RunStore,
  lines: AsyncIterable<string> | Iterable<string>,
  options: {
    file: string;
    runId?: string;
    /**
     * The run's digest as {@linkcode digestStoredRun} made it where the run was graded (a grading thread of this
     * server): stored as it is instead of computed again here.
     */
    digest?: RunDigest | null;
  },
): Promise<RunMeta> {
  let header: ExportHeader | undefined;
  const records: Omit<MessageRecord, "runId" | "seq">[] = [];
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === "") continue;
    const where = `${options.file}:${number}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(`${where}: not JSON (${(error as Error).message})`);
    }
    if (header === undefined) {
      const h = value as Partial<ExportHeader> | null;
      if (h?.format !== EXPORT_FORMAT || typeof h.meta?.runId !== "string") {
        throw new SyntaxError(
          `${where}: expected the header of a run export ({"format":"${EXPORT_FORMAT}","meta":{…}}), as deno task export writes`,
        );
      }
      header = h as ExportHeader;
      continue;
    }
    records.push(checkRecord(value, where, records.length));
  }
  if (header === undefined) {
    throw new SyntaxError(`${options.file}: empty: no run in it`);
  }
  const meta: RunMeta = {
    ...header.meta,
    ...(options.runId !== undefined ? { runId: options.runId } : {}),
  };
  const running = meta.outcome === "running";
  // A run exported while it was being recorded comes back as interrupted: nobody is recording it here.
  await store.createRun(running ? { ...meta, outcome: "interrupted" } : meta);
  const recorder = store.recorder(meta.runId);
  for (const record of records) recorder.append(record);
  await recorder.close();
  const stored = (await store.getRun(meta.runId))!;
  if (options.digest) {
    try {
      await store.putAttachment(meta.runId, DIGEST_ATTACHMENT, options.digest);
      return stored;
    } catch (error) {
      // Too large for one attachment: made again below, as for any other run.
      if (!(error instanceof RangeError)) throw error;
    }
  }
  try {
    await digestStoredRun(store, stored);
  } catch {
    // A run whose scenario no longer parses is stored all the same; its report says why it cannot be graded.
  }
  return stored;
}

/**
 * Copies the store at `from` into a new file `to`, consistently, even while other processes write to it. Needs every
 * permission (`-A`): Deno's SQLite allows the ATTACH behind `VACUUM INTO` only then.
 */
export async function backupStore(from: string, to: string): Promise<void> {
  if (isDatabaseUrl(from)) {
    throw new Error(
      `${
        from.replace(/:[^:@/]*@/, ":…@")
      } is a PostgreSQL database: back it up with pg_dump (pg_dump -Fc -f backup.dump DATABASE-URL)`,
    );
  }
  try {
    await Deno.lstat(to);
    throw new Error(`${to} exists: choose a new file for the backup`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const db = new DatabaseSync(from, { readOnly: true });
  try {
    // A bound parameter would need ATTACH, which Deno's SQLite does not allow; a quoted literal does not.
    db.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
  } finally {
    db.close();
  }
  await Deno.chmod(to, 0o600).catch(() => {});
}
