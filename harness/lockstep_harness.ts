/**
 * The broker side of lockstep runs: aedes hooks installed once per broker, routing each client's events to the run it
 * belongs to.
 *
 * @module
 */

import type { Client } from "aedes";
import type { AedesBus } from "./bus.ts";
import type { EmbeddedBroker } from "./broker.ts";

/** What a lockstep run must handle of its clients' doings (implemented by the run in `_lockstep_run.ts`). */
export interface HarnessRun {
  /** `{root}/{tank}`: clients that subscribe or publish below it belong to this run. */
  readonly topicBase: string;
  /** Whether clients that connect now may belong to this run. */
  readonly acceptsClients: boolean;
  onClientConnect(client: Client): void;
  onClientSubscribe(client: Client, filter: string, qos: number): void;
  onClientUnsubscribe(client: Client, filter: string): void;
  /** Returns an error to refuse the publish (aedes then closes the connection). */
  onClientPublish(
    client: Client,
    topic: string,
    payload: Uint8Array,
    qos: number,
    retain: boolean,
  ): Error | undefined;
  onClientPuback(client: Client, topic: string, payload: Uint8Array): void;
  onClientDisconnect(client: Client): void;
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

  constructor(broker: EmbeddedBroker, bus: AedesBus) {
    this.broker = broker;
    this.bus = bus;
    const aedes = broker.aedes;
    aedes.authorizePublish = (client, packet, callback) => {
      if (!client) return callback(null);
      const run = this.#assign(client, packet.topic);
      const error = run?.onClientPublish(
        client,
        packet.topic,
        packet.payload as Uint8Array,
        packet.qos,
        packet.retain,
      );
      callback(error ?? null);
    };
    aedes.on("client", (client) => {
      this.#assign(client);
    });
    aedes.on("subscribe", (subscriptions, client) => {
      if (!client) return;
      for (const sub of subscriptions) {
        this.#assign(client, sub.topic)?.onClientSubscribe(
          client,
          sub.topic,
          sub.qos,
        );
      }
    });
    aedes.on("unsubscribe", (filters, client) => {
      if (!client) return;
      const run = this.#owner.get(client);
      for (const filter of filters) run?.onClientUnsubscribe(client, filter);
    });
    aedes.on("ack", (packet, client) => {
      if (!client || !packet || !("topic" in packet)) return;
      this.#owner.get(client)?.onClientPuback(
        client,
        packet.topic,
        packet.payload as Uint8Array,
      );
    });
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
      if (owner === run) this.#owner.delete(client);
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
    this.#owner.set(client, run);
    run.onClientConnect(client);
    return run;
  }
}
