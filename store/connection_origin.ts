/**
 * Where a client connection of a lockstep run came from, as the harness recorded it: a `note` record on topic
 * {@linkcode ORIGIN_TOPIC}, its `client` the connection's name (`controller-2`), its `note` the words
 * {@linkcode originNote} writes. The harness writes one when it can tell (on Linux, with a controller process it
 * started) and none otherwise; the grader reads them back with {@linkcode parseOriginNote}, so a stored run can be
 * rescored. The words name no pid and no port: two identical runs record the same.
 *
 * @module
 */

/** The topic of the note records that say where a connection came from. */
export const ORIGIN_TOPIC = "$origin";

/**
 * The start of the reason recorded with a command refused because its connection is not the graded controller's (its
 * origin says another process, and it did not give the run's credentials). Such refusals are not the student's doing:
 * the grader reports them apart and leaves them out of the controller's protocol hygiene.
 */
export const FOREIGN_REFUSAL =
  "refused: not the graded controller's connection";

/** Whether a rejected record's reason is a {@linkcode FOREIGN_REFUSAL}. */
export function isForeignRefusal(note: string | undefined): boolean {
  return note?.startsWith(FOREIGN_REFUSAL) ?? false;
}

/** Where a connection came from. */
export type ConnectionOrigin =
  /** A process of the controller's process group (or a child of one). */
  | { controller: true }
  /**
   * Another process: its command name (`mosquitto_pub`), or null when the harness may not look into the process
   * that holds the connection (another user's).
   */
  | { controller: false; process: string | null };

const OWN = "from the controller's processes";
const OTHER = "not from the controller's processes";
const UNSEEN = "a process of another user";

/**
 * The note of an origin record: `from the controller's processes`, `not from the controller's processes
 * (mosquitto_pub)`, or `not from the controller's processes (a process of another user)`.
 */
export function originNote(origin: ConnectionOrigin): string {
  if (origin.controller) return OWN;
  // A command name is at most 15 bytes (the kernel's TASK_COMM_LEN) but may hold anything: keep it to one line.
  const name = origin.process?.replace(/[\s()]+/g, " ").trim() || UNSEEN;
  return `${OTHER} (${name})`;
}

/** The origin an origin record's note says, undefined for a note that is not one. */
export function parseOriginNote(
  note: string | undefined,
): ConnectionOrigin | undefined {
  if (note === OWN) return { controller: true };
  const match = /^not from the controller's processes \((.*)\)$/.exec(
    note ?? "",
  );
  if (match === null) return undefined;
  const name = match[1]!;
  return { controller: false, process: name === UNSEEN ? null : name };
}
