/**
 * Interference: every client that commanded the tank, and whether one that did was not the student's controller. The
 * harness notes where each connection came from when it can tell (`store/connection_origin.ts`); a run in which a
 * client from elsewhere (a process left behind by another run, a classmate's program) commanded the tank is marked, so
 * its score is not taken for the controller's. Pure: read from the records alone, so a stored run can be rescored.
 *
 * @module
 */

import {
  isForeignRefusal,
  type MessageRecord,
  ORIGIN_TOPIC,
  parseOriginNote,
  type RunMeta,
} from "../store/mod.ts";
import { formatNumber, plural } from "./_format.ts";
import { isControllerClient, TopicRules } from "./_hygiene_kpis.ts";

/** A client that commanded the tank. */
export interface CommandingClient {
  /** The connection's name in the records: `controller-1`, `controller-2`, … in the order they connected. */
  client: string;
  /** Its publishes on the tank's control topics that the harness accepted. */
  commands: number;
  /**
   * Its commands the harness refused because the connection was not the controller's (another program, without the
   * run's credentials): they never reached the tank. Absent in runs recorded before the harness refused them.
   */
  refused?: number;
  /**
   * Where it came from, as the harness found when it connected: `controller` (the controller's processes), `other`
   * (another process), `unknown` (the harness could not tell: not on Linux, no controller process it started, or a
   * run recorded before it looked).
   */
  from: "controller" | "other" | "unknown";
  /** The other process's command name (`mosquitto_pub`) when `from` is `other` and it could be read, else null. */
  process: string | null;
}

/** Clients not from the controller's processes that commanded the tank: the score does not measure the controller. */
export interface Interference {
  /** Those clients, in the order of their first command. */
  clients: CommandingClient[];
  /** Commands they sent in all. */
  commands: number;
  /** The sentence every report shows. */
  message: string;
}

/** Counts the commands of each client while the grader reads a run's records, with where each came from. */
export class CommandTally {
  readonly #rules: TopicRules;
  readonly #commands = new Map<string, number>();
  readonly #refused = new Map<string, number>();
  readonly #origins = new Map<
    string,
    Pick<CommandingClient, "from" | "process">
  >();

  /** For the run of `meta` (its tank's topics). */
  constructor(meta: Pick<RunMeta, "root" | "tank">) {
    this.#rules = new TopicRules(meta);
  }

  /** Reads one record: a command a client published, or the harness's note on where a connection came from. */
  add(record: MessageRecord): void {
    if (record.kind === "note" && record.topic === ORIGIN_TOPIC) {
      const origin = parseOriginNote(record.note);
      if (origin !== undefined) {
        this.#origins.set(
          record.client,
          origin.controller
            ? { from: "controller", process: null }
            : { from: "other", process: origin.process },
        );
      }
    } else if (record.kind === "rejected" && isForeignRefusal(record.note)) {
      this.#refused.set(
        record.client,
        (this.#refused.get(record.client) ?? 0) + 1,
      );
    } else if (
      record.kind === "publish" && isControllerClient(record.client) &&
      record.topic.includes("/control/") && this.#rules.allowed(record.topic)
    ) {
      this.#commands.set(
        record.client,
        (this.#commands.get(record.client) ?? 0) + 1,
      );
    }
  }

  /** Every client that commanded the tank, in the order of its first command. */
  list(): CommandingClient[] {
    const clients = new Set([
      ...this.#commands.keys(),
      ...this.#refused.keys(),
    ]);
    return [...clients].map((client) => {
      const refused = this.#refused.get(client);
      return {
        client,
        commands: this.#commands.get(client) ?? 0,
        ...(refused ? { refused } : {}),
        ...(this.#origins.get(client) ?? { from: "unknown", process: null }),
      };
    });
  }
}

/** The names of `clients`, each with its process when known, at most three and a count of the rest. */
function _names(clients: readonly CommandingClient[]): string {
  const named = clients.slice(0, 3).map((c) =>
    c.from === "other"
      ? `${c.client} (${c.process ?? "a process of another user"})`
      : c.client
  );
  const rest = clients.length - named.length;
  if (rest > 0) named.push(plural(rest, "more connection"));
  return named.length === 1
    ? named[0]!
    : `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
}

/** The interference in a run whose commanding clients are `commanding`, null when every one was the controller's. */
export function interferenceOf(
  commanding: readonly CommandingClient[],
): Interference | null {
  const clients = commanding.filter((c) =>
    c.from === "other" && c.commands > 0
  );
  if (clients.length === 0) return null;
  const commands = clients.reduce((sum, c) => sum + c.commands, 0);
  return {
    clients,
    commands,
    message: `interference: ${
      _names(clients)
    }, not from your controller's processes, sent ${
      plural(commands, "command")
    } to the tank: this score does not measure your controller; tell your teacher`,
  };
}

/**
 * The clients that commanded the tank, for the reports, when more than one did and none is interference:
 * `clients that commanded the tank: controller-1 (1,204 commands), controller-2 (3 commands), all from your
 * controller's processes`; null otherwise.
 */
export function commandingClients(
  all: readonly CommandingClient[],
): string | null {
  const refused = refusedOthers(all);
  const commanding = all.filter((c) => c.commands > 0);
  if (commanding.length < 2 || interferenceOf(commanding) !== null) {
    return refused;
  }
  const shown = commanding.slice(0, 5).map((c) =>
    `${c.client} (${plural(c.commands, "command")})`
  );
  const rest = commanding.length - shown.length;
  if (rest > 0) {
    const more = commanding.slice(5).reduce((sum, c) => sum + c.commands, 0);
    shown.push(
      `${formatNumber(rest)} more (${plural(more, "command")})`,
    );
  }
  const where = commanding.every((c) => c.from === "controller")
    ? "all from your controller's processes"
    : "where they came from is not known (the harness tells on Linux, for a controller it starts)";
  const line = `clients that commanded the tank: ${shown.join(", ")}; ${where}`;
  return refused ? `${line}. ${refused}` : line;
}

/**
 * The sentence on commands refused because they came from another program, null when there were none: `another
 * program tried to command the tank: controller-2 (mosquitto_pub) sent 120 commands, all refused; the score is your
 * controller's own`.
 */
export function refusedOthers(
  commanding: readonly CommandingClient[],
): string | null {
  const clients = commanding.filter((c) => (c.refused ?? 0) > 0);
  if (clients.length === 0) return null;
  const total = clients.reduce((sum, c) => sum + (c.refused ?? 0), 0);
  return `another program tried to command the tank: ${_names(clients)} sent ${
    plural(total, "command")
  }, all refused (only your controller's processes may command its tank); the score is your controller's own`;
}
