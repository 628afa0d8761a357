/**
 * The broker side of lockstep runs: aedes hooks installed once per broker, routing each client's events to the run it
 * belongs to.
 *
 * @module
 */

import type { Client } from "aedes";
import {
  type AedesBus,
  controllerPublish,
  type EmbeddedBroker,
  reaches,
} from "../broker/mod.ts";
import type { TankTopics } from "../../protocol/mod.ts";

/** What a lockstep run must handle of its clients' doings (implemented by the run in `_lockstep_run.ts`). */
export interface HarnessRun {
  /** `{root}/{tank}`: clients that subscribe or publish below it belong to this run. */
  readonly topicBase: string;
  /** The run's tank topics: its clients stay bound by them after the run (a last will comes late). */
  readonly topics: TankTopics;
  /** Whether clients that connect now may belong to this run. */
  readonly acceptsClients: boolean;
  onClientConnect(client: Client): void;
  /**
   * A client connected that no run has taken yet (several runs wait): the run looks now where it comes from, in case
   * it joins later, when its connection may be gone.
   */
  onClientSeen(client: Client): void;
  /** A connection was closed because the run has as many as it may have (`reason` says so). */
  onClientRefused(client: Client, reason: string): void;
  /** Access control: the reason a subscription is refused (it is recorded), or undefined to allow it. */
  authorizeSubscribe(
    client: Client,
    filter: string,
    qos: number,
  ): string | undefined;
  onClientSubscribe(client: Client, filter: string): void;
  onClientUnsubscribe(client: Client, filter: string): void;
  /**
   * Returns an error to refuse the publish (aedes then closes the connection), or `"drop"` to acknowledge it and
   * deliver it to nobody (MQTT 3.1.1 has no other way to refuse a publish, [MQTT-3.3.5-2]).
   */
  onClientPublish(
    client: Client,
    topic: string,
    payload: Uint8Array,
    qos: number,
    retain: boolean,
  ): Error | "drop" | { topic: string; payload: Uint8Array } | undefined;
  onClientPuback(client: Client): void;
  onClientForward(
    client: Client,
    packet: { topic: string; qos: number; retain: boolean },
  ): void;
  onClientDisconnect(client: Client): void;
}

/** Connections one run's controller may hold at once; more are closed (a controller needs one or two). */
export const MAX_CLIENTS_PER_RUN = 8;

/** Where a refused publish goes: acknowledged, matched by no subscription. */
const DROPPED_TOPIC = "$fishtank/refused";

/** Acknowledges a refused publish as usual and delivers it to nobody, not retained: "$" topics match no wildcard. */
function drop(
  packet: { topic: string; retain: boolean },
  callback: (error: Error | null) => void,
): void {
  packet.topic = DROPPED_TOPIC;
  packet.retain = false;
  callback(null);
}

/**
 * The broker side of lockstep runs: installs aedes hooks once and hands each client's connects, subscriptions,
 * publishes and PUBACKs to the run it belongs to. With one run at a time, a client belongs to it as soon as it
 * connects; with several in parallel, as soon as it subscribes or publishes under a run's tank topics.
 */
export class LockstepHarness {
  readonly broker: EmbeddedBroker;
  readonly bus: AedesBus;
  readonly #runs = new Set<HarnessRun>();
  readonly #owner = new Map<Client, HarnessRun>();
  /** Clients of finished runs, still connected for a moment: what they publish is judged by their run's rules. */
  readonly #former = new WeakMap<Client, TankTopics>();
  /** The user name and password each client gave when it connected. */
  readonly #credentials = new WeakMap<Client, string>();

  /** Whether `client` connected with these credentials. */
  gaveCredentials(
    client: Client,
    credentials: { username: string; password: string },
  ): boolean {
    return this.#credentials.get(client) ===
      `${credentials.username}\n${credentials.password}`;
  }

  constructor(broker: EmbeddedBroker, bus: AedesBus) {
    this.broker = broker;
    this.bus = bus;
    const aedes = broker.aedes;
    aedes.authorizePublish = (client, packet, callback) => {
      if (!client) return callback(null);
      const former = this.#former.get(client);
      if (former !== undefined && !controllerPublish(former, packet.topic).ok) {
        return drop(packet, callback);
      }
      const run = this.#assign(client, packet.topic);
      // "$" topics are the broker's; a client that is in no run has no business there either.
      if (run === undefined && packet.topic.startsWith("$")) {
        return drop(packet, callback);
      }
      const verdict = run?.onClientPublish(
        client,
        packet.topic,
        packet.payload as Uint8Array,
        packet.qos,
        packet.retain,
      );
      if (verdict === "drop") return drop(packet, callback);
      if (verdict !== undefined && !(verdict instanceof Error)) {
        // Passed on under a topic of the harness's own, in order behind what the client published before it.
        packet.topic = verdict.topic;
        packet.payload = Buffer.from(verdict.payload);
        packet.retain = false;
        return callback(null);
      }
      callback(verdict ?? null);
    };
    aedes.authorizeSubscribe = (client, subscription, callback) => {
      if (!client) return callback(null, subscription);
      const filter = subscription.topic;
      const run = this.#assign(client, filter);
      const refused = run
        ? run.authorizeSubscribe(client, filter, subscription.qos)
        : [...this.#runs].some((r) => reaches(filter, r.topicBase))
        ? `subscription to "${filter}" refused: it reaches the topics of a run this client is not part of`
        : undefined;
      callback(null, refused === undefined ? subscription : null);
    };
    aedes.authenticate = (client, username, password, callback) => {
      if (username !== undefined && password !== undefined) {
        this.#credentials.set(client, `${username}\n${password.toString()}`);
      }
      // A connected client's id cannot be taken over (aedes would disconnect the first one): another run's
      // controller, or the harness's own clients, keep theirs.
      const connected = (aedes as unknown as { clients: object }).clients;
      if (client.id.startsWith("$") || client.id in connected) {
        const error = Object.assign(
          new Error(`client id "${client.id}" is in use`),
          { returnCode: 2 },
        );
        return callback(error as Error & { returnCode: 2 }, false);
      }
      callback(null, true);
    };
    aedes.on("client", (client) => {
      if (this.#assign(client) !== undefined) return;
      for (const run of this.#runs) {
        if (run.acceptsClients) run.onClientSeen(client);
      }
    });
    aedes.on("subscribe", (subscriptions, client) => {
      if (!client) return;
      for (const sub of subscriptions) {
        // A refused subscription is listed with QoS 128; both kinds were recorded when they were judged.
        if ((sub.qos as number) === 128) continue;
        this.#assign(client, sub.topic)?.onClientSubscribe(client, sub.topic);
      }
    });
    aedes.on("unsubscribe", (filters, client) => {
      if (!client) return;
      const run = this.#owner.get(client);
      for (const filter of filters) run?.onClientUnsubscribe(client, filter);
    });
    aedes.on("ack", (_packet, client) => {
      // For a clean session aedes keeps no copy of what it sent, so the packet may be missing: count the PUBACK.
      if (client) this.#owner.get(client)?.onClientPuback(client);
    });
    // Called for every PUBLISH about to be written to a client: the count a preload's report is compared with.
    aedes.authorizeForward = (client, packet) => {
      if (client) {
        this.#owner.get(client)?.onClientForward(client, packet);
      }
      return packet;
    };
    aedes.on("clientDisconnect", (client) => {
      this.#owner.get(client)?.onClientDisconnect(client);
      this.#owner.delete(client);
    });
  }

  /** @internal */
  add(run: HarnessRun): void {
    this.#runs.add(run);
  }

  /** @internal */
  remove(run: HarnessRun): void {
    this.#runs.delete(run);
    for (const [client, owner] of this.#owner) {
      if (owner === run) {
        this.#owner.delete(client);
        this.#former.set(client, run.topics);
      }
    }
  }

  #assign(client: Client, topic?: string): HarnessRun | undefined {
    const owner = this.#owner.get(client);
    if (owner) return owner;
    const waiting = [...this.#runs].filter((run) => run.acceptsClients);
    let run: HarnessRun | undefined;
    if (topic !== undefined) {
      run = waiting.find((r) =>
        topic.startsWith(r.topicBase + "/") || topic === r.topicBase
      );
    }
    if (!run && waiting.length === 1 && this.#runs.size === 1) run = waiting[0];
    if (!run) return undefined;
    let count = 0;
    for (const owner of this.#owner.values()) if (owner === run) count++;
    if (count >= MAX_CLIENTS_PER_RUN) {
      run.onClientRefused(
        client,
        `already ${MAX_CLIENTS_PER_RUN} connections in this run`,
      );
      client.close();
      return undefined;
    }
    this.#owner.set(client, run);
    run.onClientConnect(client);
    return run;
  }
}
