/**
 * One lockstep run: a tank, a controller, and the barrier between them. Used through `runLockstep()`.
 *
 * @module
 */

import type { TankTopics } from "../../protocol/mod.ts";
import {
  controllerPublish,
  controllerSubscribe,
  parseShare,
  topicMatches,
} from "../broker/mod.ts";
import type { Client } from "aedes";
import type { ControllerProcess } from "./controller_process.ts";
import { lastWords, startController } from "./_run_controller.ts";
import {
  type ConnectionOrigin,
  emptyRunStats,
  FOREIGN_REFUSAL,
  type MessageRecord,
  ORIGIN_TOPIC,
  originNote,
  type RunOutcome,
  type RunStats,
} from "../../store/mod.ts";
import { TankNode } from "../live/mod.ts";
import {
  type Answer,
  type RetainedSource,
  StepBarrier,
} from "./_step_barrier.ts";
import { canWatchProcesses, ProcessIdle } from "./_process_idle.ts";
import { ConnectionOwners } from "./_connection_owner.ts";

import type { HarnessRun, LockstepHarness } from "./lockstep_harness.ts";
import type { LockstepOptions, LockstepResult } from "./lockstep.ts";

/** A record as the run hands it to the sink. */
type Recorded = Omit<MessageRecord, "runId" | "seq">;

/** Options with every default filled in. */
export type Resolved =
  & Required<
    Omit<
      LockstepOptions,
      "controller" | "onProgress" | "onOutput" | "signal" | "sandbox"
    >
  >
  & LockstepOptions;

function median(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10,
  ) / 10;
}

/**
 * The topic on which the harness's preloads report, on the controller's own connection, how many PUBLISH packets
 * the program has received and handled (its message callbacks returned). Never forwarded, never recorded.
 */
export const HANDLED_TOPIC = "$fishtank/handled";

/** Steps a run waits, with no connection of its controller open, before calling it unresponsive. */
const DISCONNECTED_STEPS = 50;

/** One run: a tank, a controller, the barrier between them. */
export class LockstepRun implements HarnessRun {
  readonly #harness: LockstepHarness;
  readonly #options: Resolved;
  readonly #aliases = new Map<Client, string>();
  #tank!: TankNode;
  /** How the controller was confined, for the run's summary. */
  #sandbox: string | undefined;
  /** Wall milliseconds the run may take while controlled (the sandbox's wall-clock limit). */
  #wallLimitMs = Infinity;
  #process: ControllerProcess | undefined;
  #closed = false;
  #clientsDone = false;
  #outcome: RunOutcome = "completed";
  #outcomeMessage = "";
  #uncontrolled = false;
  #connected = false;
  /** Connections of the run that are open now, and since when none is (performance.now()). */
  readonly #open = new Set<string>();
  /** When the run's last connection closed (simulated seconds), and how many steps have passed since. */
  #leftAt: number | undefined;
  #stepsWithoutConnection = 0;
  #subscribed = false;
  #stepMessages = 0;
  /** Messages of the last `floodWindow` closed steps, oldest first, and their sum. */
  readonly #windowCounts: number[] = [];
  #windowSum = 0;
  #readingTopics: string[] = [];
  readonly #stats: RunStats = emptyRunStats();
  /** The barrier between steps (see `_step_barrier.ts`). */
  readonly #steps: StepBarrier;
  #wake: (() => void) | undefined;
  /** Records held back while the controller starts (see `#settleStartup`); undefined once written. */
  #startup: Recorded[] | undefined;
  /** Aliases of the connections opened as the controller started → the names they are recorded under. */
  readonly #names = new Map<string, string>();
  /** Who holds each new connection, on Linux with a controller process (see `_connection_owner.ts`). */
  #owners: ConnectionOwners | undefined;
  /** Where clients seen connecting before they joined the run came from (undefined: not known). */
  readonly #seen = new WeakMap<Client, ConnectionOrigin | undefined>();
  /** Where each of the run's clients came from, when the harness could tell. */
  readonly #origins = new WeakMap<Client, ConnectionOrigin>();
  /**
   * The run's broker credentials, given to its controller in `MQTT_USERNAME` and `MQTT_PASSWORD`: a connection that
   * gives them may command the tank even where its process cannot be looked into.
   */
  readonly #credentials = {
    username: "controller",
    password: crypto.randomUUID(),
  };

  constructor(harness: LockstepHarness, options: Resolved) {
    this.#harness = harness;
    this.#options = options;
    this.#steps = new StepBarrier(options, this.#stats);
  }

  get topicBase(): string {
    return `${this.#options.root}/${this.#options.tank}`;
  }

  /** Whether clients that connect now may belong to this run. */
  get acceptsClients(): boolean {
    return !this.#closed;
  }

  #record(
    record: Omit<MessageRecord, "runId" | "seq" | "wall" | "t"> & {
      t?: number;
    },
  ): void {
    if (this.#closed) return;
    this.#stats.messages++;
    const full = { t: this.#tank?.time ?? 0, wall: Date.now(), ...record };
    if (this.#startup) this.#startup.push(full);
    else this.#append(full);
  }

  #append(record: Recorded): void {
    const name = record.kind === "output"
      ? undefined
      : this.#names.get(record.client);
    this.#options.sink.append(name ? { ...record, client: name } : record);
  }

  /**
   * Ends the controller's start: once it has dealt with what it was sent on subscribing (the same barrier as a step),
   * writes the records held back meanwhile. Connections a controller opens at once (a pipeline's `mosquitto_sub` and
   * `mosquitto_pub`) reach the broker in any order, so they are named and written in an order of their own: by what
   * each did, each connection's records together, after the harness's.
   */
  async #settleStartup(): Promise<void> {
    if (this.#subscribed && !this.#uncontrolled) {
      await this.#steps.wait(this.#tank.time, () => this.#tank.flush(), {
        startup: true,
      });
    }
    const held = this.#startup ?? [];
    this.#startup = undefined;
    const started = [...this.#aliases.values()];
    const byAlias = new Map(started.map((alias) => [alias, [] as Recorded[]]));
    const others: Recorded[] = [];
    for (const record of held) {
      const own = record.kind === "output"
        ? undefined
        : byAlias.get(record.client);
      if (own) own.push(record);
      else others.push(record);
    }
    const key = (records: Recorded[]) =>
      records.map((r) =>
        [
          r.kind,
          r.topic,
          r.qos,
          r.retain,
          r.kind === "connect" ? "" : r.note ?? "",
          new TextDecoder().decode(r.payload),
        ].join("\t")
      ).join("\n");
    const order = started
      .map((alias, i) => ({ alias, i, key: key(byAlias.get(alias)!) }))
      .sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i);
    order.forEach(({ alias }, i) => this.#names.set(alias, started[i]!));
    for (const record of others) this.#append(record);
    for (const { alias } of order) {
      for (const record of byAlias.get(alias)!) this.#append(record);
    }
  }

  async run(): Promise<LockstepResult> {
    const options = this.#options;
    const started = performance.now();
    const { scenario } = options;
    // A run starts from a clean broker: nothing retained by an earlier run on this tank's topics.
    await this.#harness.bus.clearRetained(`${this.topicBase}/#`);
    this.#tank = await TankNode.start({
      bus: this.#harness.bus,
      scenario,
      root: options.root,
      tank: options.tank,
      lockstep: true,
      speed: 0,
      onSend: (sent) => {
        if (sent.topic.startsWith(`${this.topicBase}/sensors/`)) {
          this.#readingTopics.push(sent.topic);
        }
        this.#record({
          kind: "publish",
          client: "$harness",
          topic: sent.topic,
          payload: new TextEncoder().encode(sent.payload),
          qos: sent.qos,
          retain: sent.retain,
        });
      },
      onReject: (message, error) => {
        this.#stats.rejected++;
        this.#record({
          kind: "rejected",
          client: "$harness",
          topic: message.topic,
          payload: message.payload,
          qos: 0,
          retain: message.retain,
          note: error,
        });
      },
      onReadings: (truth) => {
        this.#record({
          kind: "truth",
          client: "$harness",
          topic: "$truth",
          payload: new TextEncoder().encode(JSON.stringify(truth)),
          qos: 0,
          retain: false,
        });
      },
    });
    // Acks arrive on the bus like commands do, so a command published before its ack is applied before it.
    await this.#harness.bus.subscribe(
      this.#tank.topics.ack,
      (message) => {
        if (!this.#closed) this.#steps.ack(message.payload, this.#tank.time);
      },
    );
    // So do the preloads' reports, passed on under a topic that names the connection.
    const handledBase = `${HANDLED_TOPIC}/${options.tank}/`;
    await this.#harness.bus.subscribe(
      `${handledBase}+`,
      (message) =>
        this.#onReport(
          message.topic.slice(handledBase.length),
          message.payload,
        ),
    );
    await this.#harness.bus.subscribe(`${this.topicBase}/#`, (message) => {
      if (controllerPublish(this.#tank.topics, message.topic).ok) {
        this.#steps.passedOn();
      }
    });

    if (options.controller !== undefined) {
      this.#startup = [];
      const started = startController(options.controller, {
        broker: this.#harness.broker,
        tank: options.tank,
        root: options.root,
        sandbox: options.sandbox,
        credentials: this.#credentials,
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      });
      this.#process = started.process;
      if (started.confined !== undefined) {
        this.#wallLimitMs = started.wallLimitMs;
        this.#sandbox = started.confined;
        this.#record({
          kind: "note",
          client: "$harness",
          topic: "$sandbox",
          payload: new Uint8Array(),
          qos: 0,
          retain: false,
          note: `controller confined: ${started.confined}`,
        });
      }
      if (canWatchProcesses()) {
        const broker = this.#harness.broker;
        this.#owners = new ConnectionOwners(this.#process.pid, broker.port);
        const idle = new ProcessIdle(
          this.#process.pid,
          broker,
          () => broker.tcpWork(),
        );
        // Only while the controller holds a connection: otherwise a step waits its window, so that a client that
        // lost its connection has wall time to reconnect.
        this.#steps.watchProcesses(() =>
          this.#open.size > 0 ? idle : undefined
        );
      }
      this.#process.exited.then(({ code, signal }) =>
        this.#onExit(code, signal)
      );
    }

    let loopStarted = performance.now();
    try {
      await this.#waitForController();
      await this.#settleStartup();
      loopStarted = performance.now();
      await this.#loop(started);
    } catch (error) {
      this.#outcome = "error";
      this.#outcomeMessage = `harness error: ${
        error instanceof Error ? error.message : error
      }`;
    }

    const loopEnded = performance.now();
    // From here on the scenario is over: what clients do while being stopped is not part of the run's traffic.
    this.#clientsDone = true;
    await this.#tank.stop();
    let exit: { code: number | null; signal: string | null } = {
      code: null,
      signal: null,
    };
    if (this.#process) {
      exit = await this.#process.stop();
      const output = this.#process.output();
      for (
        const [stream, text] of [["stdout", output.stdout], [
          "stderr",
          output.stderr,
        ]] as const
      ) {
        if (text.length > 0) {
          this.#record({
            kind: "output",
            client: "controller-1",
            topic: `$${stream}`,
            payload: new TextEncoder().encode(text),
            qos: 0,
            retain: false,
          });
        }
      }
    }
    this.#record({
      kind: "note",
      client: "$harness",
      topic: "$end",
      payload: new TextEncoder().encode(this.#outcome),
      qos: 0,
      retain: false,
      note: this.#outcomeMessage || undefined,
    });
    this.#closed = true;
    this.#stats.medianResponseMs = median(this.#steps.responseMs, 0.5);
    this.#stats.p95ResponseMs = median(this.#steps.responseMs, 0.95);
    if (!this.#outcomeMessage) {
      this.#outcomeMessage = this.#outcome === "completed"
        ? `completed ${this.#stats.steps} steps (${this.#steps.ackMode} barrier)`
        : this.#outcome;
    }
    return {
      outcome: this.#outcome,
      outcomeMessage: this.#outcomeMessage,
      ackMode: this.#steps.ackMode,
      stats: { ...this.#stats, loopSeconds: (loopEnded - loopStarted) / 1000 },
      simulated: this.#tank.time,
      exitCode: exit.code,
      ...(this.#sandbox !== undefined ? { sandbox: this.#sandbox } : {}),
      signal: exit.signal,
      wallSeconds: (performance.now() - started) / 1000,
      loopSeconds: (loopEnded - loopStarted) / 1000,
    };
  }

  #note(text: string): void {
    this.#record({
      kind: "note",
      client: "$harness",
      topic: "$note",
      payload: new TextEncoder().encode(text),
      qos: 0,
      retain: false,
    });
  }

  #giveUp(outcome: RunOutcome, message: string): void {
    if (this.#uncontrolled || this.#outcome !== "completed") return;
    this.#uncontrolled = true;
    this.#outcome = outcome;
    this.#outcomeMessage = message;
    this.#note(message);
    this.#steps.release();
  }

  async #waitForController(): Promise<void> {
    const deadline = performance.now() + this.#options.connectTimeoutMs;
    while (
      !this.#subscribed && !this.#uncontrolled && !this.#options.signal?.aborted
    ) {
      const left = deadline - performance.now();
      if (left <= 0) {
        if (!this.#connected) {
          this.#giveUp(
            "no_connect",
            `the controller did not connect within ${
              this.#options.connectTimeoutMs / 1000
            } s: check that it uses MQTT_HOST and MQTT_PORT (here ${this.#harness.broker.host}:${this.#harness.broker.port})`,
          );
        } else {
          this.#giveUp(
            "no_subscribe",
            `the controller connected but did not subscribe to ${this.topicBase}/sensors/… within ${
              this.#options.connectTimeoutMs / 1000
            } s: check TANK_ID and TOPIC_ROOT`,
          );
        }
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, Math.min(left, 50));
      });
    }
  }

  async #loop(started: number): Promise<void> {
    const { scenario } = this.#options;
    let lastProgress = 0;
    while (!this.#tank.finished) {
      if (this.#options.signal?.aborted) {
        this.#outcome = "interrupted";
        this.#outcomeMessage = "stopped before the end";
        break;
      }
      if (!this.#uncontrolled) await this.#barrier();
      this.#stats.steps++;
      this.#windowCounts.push(this.#stepMessages);
      this.#windowSum += this.#stepMessages;
      if (this.#windowCounts.length >= this.#options.floodWindow) {
        this.#windowSum -= this.#windowCounts.shift()!;
      }
      this.#stepMessages = 0;
      this.#readingTopics = [];
      this.#tank.advance(scenario.controlPeriod);
      const now = performance.now();
      if (!this.#uncontrolled && now - started > this.#wallLimitMs) {
        this.#giveUp(
          "unresponsive",
          `the run took longer than its wall-clock limit of ${
            this.#wallLimitMs / 1000
          } s: the controller was stopped and the tank ran on uncontrolled`,
        );
        void this.#process?.stop();
      }
      if (now - lastProgress > 100 || this.#tank.finished) {
        lastProgress = now;
        this.#options.onProgress?.({
          t: this.#tank.time,
          duration: scenario.duration,
          steps: this.#stats.steps,
          stepsPerSecond: this.#stats.steps /
            Math.max(1e-3, (now - started) / 1000),
          ackMode: this.#steps.ackMode,
          phase: this.#uncontrolled ? "uncontrolled" : "answering",
        });
        // Running without a controller never waits: let I/O and the store breathe now and then.
        if (this.#uncontrolled) {
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
      if (this.#uncontrolled && this.#stats.steps % 500 === 0) {
        await this.#tank.flush();
      }
    }
    // The controller's answer to the last readings belongs to the run too.
    if (!this.#uncontrolled && this.#outcome === "completed") {
      await this.#barrier();
    }
  }

  /** Waits until the controller has dealt with the readings just published, or the deadline passes. */
  async #barrier(): Promise<void> {
    const step = await this.#steps.wait(
      this.#tank.time,
      () => this.#tank.flush(),
    );
    if (
      this.#leftAt !== undefined &&
      ++this.#stepsWithoutConnection >= DISCONNECTED_STEPS
    ) {
      // Counted in steps (each waits the step timeout when nobody is connected), so the verdict comes at the same
      // simulated time however busy the machine is: long enough for a client library to reconnect.
      this.#giveUp(
        "unresponsive",
        `the controller disconnected at simulated ${
          Math.round(this.#leftAt)
        } s and did not connect again within ${DISCONNECTED_STEPS} steps: the tank ran on uncontrolled`,
      );
      return;
    }
    if (step.how !== "timeout" || this.#uncontrolled) return;
    this.#stats.timedOutSteps++;
    // Quiet is an answer: without acks, a step that passes its time window is not a fault. Only a controller that
    // stops answering the way it had been answering (acks, its library's reports, PUBACKs) is unresponsive.
    if (!step.hasAck) return;
    const seconds = step.timeoutMs / 1000;
    if (step.consecutiveTimeouts >= 3) {
      this.#giveUp(
        "unresponsive",
        stoppedAnswering(
          step.by,
          step.consecutiveTimeouts,
          seconds,
          this.#steps.lastBusy,
        ),
      );
    } else {
      this.#note(
        `step at t=${this.#tank.time} timed out after ${step.timeoutMs} ms without ${
          waitedFor(step.by)
        }${this.#steps.lastBusy ? ` (mostly: ${this.#steps.lastBusy})` : ""}`,
      );
    }
  }

  // ---- events from the broker, routed here by LockstepHarness ----

  onClientRefused(client: Client, reason: string): void {
    if (this.#clientsDone) return;
    this.#stats.rejected++;
    this.#record({
      kind: "rejected",
      client: client.id,
      topic: "",
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
      note: `connection refused: ${reason}`,
    });
  }

  onClientConnect(client: Client): void {
    if (this.#clientsDone) return;
    const alias = `controller-${this.#aliases.size + 1}`;
    this.#aliases.set(client, alias);
    this.#connected = true;
    this.#open.add(alias);
    this.#leftAt = undefined;
    this.#stepsWithoutConnection = 0;
    this.#record({
      kind: "connect",
      client: alias,
      topic: "",
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
      note: client.id,
    });
    this.#recordOrigin(client, alias);
    this.#wake?.();
  }

  /**
   * Records where a new connection comes from, when the harness can tell: a client that is not the controller's but
   * commands the tank is interference, and the grade says so rather than blaming the student.
   */
  #recordOrigin(client: Client, alias: string): void {
    const origin = this.#seen.has(client)
      ? this.#seen.get(client)
      : this.#originOf(client);
    if (origin === undefined) return;
    this.#origins.set(client, origin);
    this.#record({
      kind: "note",
      client: alias,
      topic: ORIGIN_TOPIC,
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
      note: originNote(origin),
    });
  }

  /** Where `client` comes from, undefined when the harness cannot tell. */
  #originOf(client: Client): ConnectionOrigin | undefined {
    const port = this.#harness.broker.clientTcpPort(client);
    if (this.#owners === undefined || port === undefined) return undefined;
    try {
      return this.#owners.originOf(port);
    } catch {
      return undefined; // /proc could not be read: nothing is known
    }
  }

  onClientSeen(client: Client): void {
    if (!this.#clientsDone) this.#seen.set(client, this.#originOf(client));
  }

  onClientSubscribe(client: Client, filter: string): void {
    if (this.#clientsDone) return;
    const alias = this.#aliases.get(client) ?? client.id;
    // aedes keeps its store untyped: the same query it runs to send the retained messages.
    const store =
      (this.#harness.broker.aedes as unknown as { persistence: RetainedSource })
        .persistence;
    // The tank's retained messages are stored at QoS 1: those sent at QoS 1 will be PUBACKed.
    this.#steps.subscribed(
      alias,
      filter,
      store,
      (topic) => effectiveQos(client, topic, 1) >= 1,
    );
    // A shared subscription ($share/group/filter) reads what its filter matches.
    const reads = parseShare(filter)?.filter ?? filter;
    if (
      topicMatches(reads, this.#tank.topics.sensorsAll) ||
      topicMatches(reads, this.#tank.topics.sensor("temperature"))
    ) {
      this.#subscribed = true;
      this.#wake?.();
    }
  }

  /** The tank's topics, for access control of clients that outlive the run. */
  get topics(): TankTopics {
    return this.#tank.topics;
  }

  /**
   * Judges a subscription, and records it: here, in the order the client's packets were read, rather than when aedes
   * reports it done (packets read together are handled concurrently, so that order varies from run to run).
   */
  authorizeSubscribe(
    client: Client,
    filter: string,
    qos: number,
  ): string | undefined {
    const access = controllerSubscribe(this.#tank.topics, filter);
    if (access.ok) {
      if (!this.#clientsDone) {
        this.#record({
          kind: "subscribe",
          client: this.#aliases.get(client) ?? client.id,
          topic: filter,
          payload: new Uint8Array(),
          qos: Math.min(2, Math.max(0, qos)) as 0 | 1 | 2,
          retain: false,
        });
      }
      return undefined;
    }
    if (!this.#clientsDone) {
      this.#stats.rejected++;
      this.#record({
        kind: "rejected",
        client: this.#aliases.get(client) ?? client.id,
        topic: filter,
        payload: new Uint8Array(),
        qos: 0,
        retain: false,
        note: `access denied: ${access.reason}`,
      });
    }
    return access.reason;
  }

  onClientUnsubscribe(client: Client, filter: string): void {
    if (this.#clientsDone) return;
    this.#record({
      kind: "unsubscribe",
      client: this.#aliases.get(client) ?? client.id,
      topic: filter,
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
    });
  }

  /**
   * Records the publish; returns an error to refuse it and close the connection (flooding), or `"drop"` to
   * acknowledge and discard it (a topic the controller may not publish on).
   */
  onClientPublish(
    client: Client,
    topic: string,
    payload: Uint8Array,
    qos: number,
    retain: boolean,
  ): Error | "drop" | { topic: string; payload: Uint8Array } | undefined {
    if (topic === HANDLED_TOPIC && !retain && !this.#clientsDone) {
      const alias = this.#aliases.get(client);
      if (alias === undefined) return "drop";
      return {
        topic: `${HANDLED_TOPIC}/${this.#options.tank}/${alias}`,
        payload: this.#steps.stamp(payload),
      };
    }
    const access = controllerPublish(this.#tank.topics, topic);
    // A last will sent as the controller is stopped is judged too, though no longer recorded.
    if (this.#closed || this.#clientsDone) {
      return access.ok ? undefined : "drop";
    }
    const alias = this.#aliases.get(client) ?? client.id;
    // A connection of another program (a process left by another run, a classmate's) may not command the tank, unless
    // it gave the run's credentials. Refused before the flood count: it is not the controller's doing.
    const origin = this.#origins.get(client);
    if (
      origin !== undefined && !origin.controller && access.ok &&
      !this.#harness.gaveCredentials(client, this.#credentials)
    ) {
      this.#reject(
        alias,
        topic,
        payload,
        qos,
        retain,
        `${FOREIGN_REFUSAL} (${
          origin.process ?? "a process of another user"
        }): only the graded controller's processes, or a client with the run's credentials, may command its tank`,
      );
      return "drop";
    }
    if (this.#outcome === "flooding") return new Error("flooding: cut off");
    this.#stepMessages++;
    if (this.#windowSum + this.#stepMessages > this.#options.floodLimit) {
      this.#giveUp(
        "flooding",
        `the controller published more than ${this.#options.floodLimit} messages within ${this.#options.floodWindow} steps (a controller needs a few per step): it was disconnected`,
      );
      this.#reject(
        alias,
        topic,
        payload,
        qos,
        retain,
        "flood limit reached: connection closed",
      );
      return new Error("flooding");
    }
    if (!access.ok) {
      this.#stats.rejected++;
      this.#reject(
        alias,
        topic,
        payload,
        qos,
        retain,
        `access denied: ${access.reason}`,
      );
      return "drop";
    }
    this.#record({
      kind: "publish",
      client: alias,
      topic,
      payload,
      qos: Math.min(2, qos) as 0 | 1 | 2,
      retain,
    });
    this.#steps.published(topic.startsWith(`${this.topicBase}/control/`));
    return undefined;
  }

  /** A preload's report as the bus passes it on: "<handled> <publishes accepted before it>". */
  #onReport(alias: string, payload: Uint8Array): void {
    if (this.#clientsDone || !this.#open.has(alias)) return;
    this.#steps.report(alias, payload);
  }

  /** The broker forwards a PUBLISH packet to `client`. */
  onClientForward(
    client: Client,
    packet: { topic: string; qos: number; retain: boolean },
  ): void {
    if (this.#clientsDone) return;
    const alias = this.#aliases.get(client);
    if (alias === undefined) return;
    this.#steps.forwarded(
      alias,
      packet.retain,
      effectiveQos(client, packet.topic, packet.qos),
    );
  }

  /** Records a publish the harness refused, with why. */
  #reject(
    client: string,
    topic: string,
    payload: Uint8Array,
    qos: number,
    retain: boolean,
    note: string,
  ): void {
    this.#record({
      kind: "rejected",
      client,
      topic,
      payload,
      qos: Math.min(2, qos) as 0 | 1 | 2,
      retain,
      note,
    });
  }

  /** The client acknowledged a message sent to it at QoS 1 or 2 (aedes cannot always say which). */
  onClientPuback(client: Client): void {
    const alias = this.#aliases.get(client);
    if (alias === undefined || this.#clientsDone) return;
    this.#steps.puback(alias);
  }

  onClientDisconnect(client: Client): void {
    if (this.#clientsDone) return;
    // A connection that is gone has nothing left to handle: it no longer holds the barrier.
    const alias = this.#aliases.get(client) ?? client.id;
    this.#open.delete(alias);
    this.#steps.closed(alias);
    if (this.#open.size === 0) this.#leftAt = this.#tank.time;

    this.#record({
      kind: "disconnect",
      client: this.#aliases.get(client) ?? client.id,
      topic: "",
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
    });
  }

  #onExit(code: number | null, signal: string | null): void {
    if (this.#closed || this.#tank?.finished) return;
    const at = Math.round(this.#tank.time);
    const stderr = lastWords(this.#process?.output().stderr ?? "");
    // Stored as `crashed` (old runs and the web know that outcome), but a clean exit is not a crash: it says so.
    this.#giveUp(
      "crashed",
      code === 0 && !signal
        ? `your program ended before the run did (exit code 0) at simulated ${at} s: did it forget \`loop_forever()\` (or to keep running)?${
          stderr ? ` (its last output${stderr})` : ""
        }`
        : `the controller exited ${
          signal ? `on ${signal}` : `with code ${code}`
        } at simulated ${at} s, before the end${stderr}`,
    );
  }
}

/** What a step waited for, in words. */
function waitedFor(by: Answer | undefined): string {
  switch (by) {
    case "library":
      return "the controller's handler returning";
    case "process":
      return "the controller's processes going idle with the readings read";
    case "puback":
      return "a PUBACK";
    default:
      return "an ack";
  }
}

/** Why a controller that had been answering is given up on after `steps` timed-out steps of `seconds` each. */
function stoppedAnswering(
  by: Answer | undefined,
  steps: number,
  seconds: number,
  busy: string,
): string {
  switch (by) {
    case "library":
      return `the controller stopped handling readings: its message handler has not returned for ${steps} steps of ${seconds} s each (an endless loop, a long sleep, or a blocking call in the handler?)`;
    case "process":
      return `the controller stopped handling readings: for ${steps} steps of ${seconds} s each its processes did not go idle with the readings read (${
        busy || "busy"
      }: an endless loop, a long sleep, or a blocking call?)`;
    default:
      return `the controller stopped answering: no ${
        by === "puback" ? "PUBACK" : "ack"
      } for ${steps} steps of ${seconds} s each`;
  }
}

/**
 * The QoS aedes sends `topic` to `client` with: the published QoS, lowered to the granted QoS only when the client
 * holds a subscription to that exact topic (aedes looks the grant up by topic, not by the matching filter).
 */
function effectiveQos(
  client: Client,
  topic: string,
  published: number,
): number {
  const subscriptions =
    (client as unknown as { subscriptions?: Record<string, { qos?: number }> })
      .subscriptions;
  const granted = subscriptions?.[topic]?.qos;
  return granted !== undefined && granted < published ? granted : published;
}
