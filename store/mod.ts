/**
 * The data store: the record format of a run (every MQTT message with its simulated time, the simulator's truth),
 * the Deno KV run store with its pages, the streaming recorder, and who ran a run. Builds on `lib/` only: it knows
 * nothing of brokers or grades.
 *
 * @module
 */

export {
  type AckMode,
  emptyRunStats,
  type MessageRecord,
  payloadBytes,
  payloadText,
  RECORD_KINDS,
  type RecordKind,
  type ReferenceFigures,
  type RunMeta,
  type RunOutcome,
  type RunStats,
  type TruthSample,
} from "./run_record.ts";
export {
  type ConnectionOrigin,
  FOREIGN_REFUSAL,
  isForeignRefusal,
  ORIGIN_TOPIC,
  originNote,
  parseOriginNote,
} from "./connection_origin.ts";
export {
  DEFAULT_STORE_PATH,
  isDatabaseUrl,
  newRunId,
  type RunFilter,
  RunStore,
} from "./run_store.ts";
export { studentName } from "./student_name.ts";
export type { Kv, KvAtomic } from "./kv.ts";
export { PgKv } from "./pg_kv.ts";
