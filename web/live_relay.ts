/**
 * The live page's link to MQTT: one mqtt.js client on the broker (the embedded one or any other) subscribed to
 * `{root}/+/#`, which keeps the latest state of every tank it hears from, with the terminal display's reducer
 * (`applyMessage`), plus a bounded history of readings for the live chart, and fans changes out to subscribers (the
 * server-sent-events route). Updates are coalesced per tank, at most one every `flushMs`, so a tank running as fast as
 * possible does not flood browsers.
 *
 * @module
 */

import mqtt from "mqtt";
import {
  applyMessage,
  type DisplayState,
  initialDisplayState,
  latestSimTime,
} from "../harness/display/mod.ts";
import { SENSOR_NAMES } from "../sim/mod.ts";
import type {
  ConnectionView,
  HistoryPoint,
  LiveSnapshot,
  LiveUpdate,
  RangeView,
  TankView,
} from "./live_view.ts";

/** Options of {@linkcode LiveRelay.start}. */
export interface LiveRelayOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** First topic level(s), e.g. `fishtank`. */
  root: string;
  /** User name and password on the broker (`teacher` on a locked simulation, a mosquitto user elsewhere). */
  username?: string;
  password?: string;
  /** Simulated seconds of readings kept per tank for the chart. */
  historySeconds?: number;
  /** At most this many chart points per tank, whatever the publishing period. */
  maxPoints?: number;
  /** Wall milliseconds between coalesced updates to subscribers. */
  flushMs?: number;
  /** Wall clock in milliseconds; injectable for tests. */
  now?: () => number;
}

const defaults = {
  historySeconds: 3 * 3600,
  maxPoints: 2000,
  flushMs: 200,
  now: () => Date.now(),
} satisfies Partial<LiveRelayOptions>;

/** A subscriber: gets every update, and `closed` once when the relay closes. */
export interface LiveSubscriber {
  update(update: LiveUpdate): void;
  closed?(): void;
}

interface TankEntry {
  state: DisplayState;
  history: HistoryPoint[];
  /** Points not yet sent to subscribers. */
  pending: HistoryPoint[];
  dirty: boolean;
}

/** Live state of every tank under a topic root, relayed from MQTT. Start with {@linkcode LiveRelay.start}. */
export class LiveRelay {
  readonly url: string;
  readonly root: string;
  readonly #options:
    & Required<Omit<LiveRelayOptions, "username" | "password">>
    & LiveRelayOptions;
  readonly #client: mqtt.MqttClient;
  readonly #tanks = new Map<string, TankEntry>();
  readonly #subscribers = new Set<LiveSubscriber>();
  #connection: ConnectionView;
  readonly #started: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  private constructor(options: LiveRelayOptions) {
    this.#options = { ...defaults, ...options };
    this.url = options.url;
    this.root = options.root;
    this.#started = this.#options.now();
    this.#connection = { state: "connecting", since: this.#started };
    this.#client = mqtt.connect(options.url, {
      clientId: `fishtank-web-${crypto.randomUUID().slice(0, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      protocolVersion: 4,
      ...(options.username !== undefined
        ? { username: options.username, password: options.password ?? "" }
        : {}),
    });
    this.#client.on("connect", () => {
      this.#setConnection({ state: "connected" });
      this.#client.subscribe(`${this.root}/+/#`, { qos: 0 }, (error) => {
        if (error) {
          this.#setConnection({ state: "connected", error: `${error}` });
        }
      });
    });
    this.#client.on(
      "reconnect",
      () => this.#setConnection({ state: "reconnecting" }),
    );
    this.#client.on("close", () => {
      if (!this.#closed && this.#connection.state === "connected") {
        this.#setConnection({ state: "reconnecting" });
      }
    });
    this.#client.on(
      "error",
      (error) =>
        this.#setConnection({
          state: this.#connection.state,
          error: error.message,
        }),
    );
    this.#client.on(
      "message",
      (topic, payload) => this.#onMessage(topic, payload),
    );
  }

  /** Connects (in the background: the relay reports "connecting" until the broker answers, and keeps retrying). */
  static start(options: LiveRelayOptions): LiveRelay {
    return new LiveRelay(options);
  }

  /** Whether the relay is connected to the broker now. */
  get connected(): boolean {
    return this.#connection.state === "connected";
  }

  /** The tank ids heard from, sorted. */
  get tanks(): string[] {
    return [...this.#tanks.keys()].sort(compareTanks);
  }

  /** Waits until connected, at most `timeoutMs`; resolves `false` on timeout. */
  async waitConnected(timeoutMs = 5000): Promise<boolean> {
    const deadline = this.#options.now() + timeoutMs;
    while (!this.connected && !this.#closed && this.#options.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.connected;
  }

  /** The view of one tank, or `undefined` if it has not been heard from. */
  tank(id: string): TankView | undefined {
    const entry = this.#tanks.get(id);
    return entry && toView(entry.state);
  }

  /** Everything: connection, every tank and its chart history. */
  snapshot(): LiveSnapshot {
    const history: Record<string, HistoryPoint[]> = {};
    for (const [id, entry] of this.#tanks) history[id] = [...entry.history];
    return {
      broker: this.url,
      root: this.root,
      connection: { ...this.#connection },
      now: this.#options.now(),
      historySeconds: this.#options.historySeconds,
      tanks: this.tanks.map((id) => toView(this.#tanks.get(id)!.state)),
      history,
    };
  }

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(subscriber: LiveSubscriber): () => void {
    if (this.#closed) {
      subscriber.closed?.();
      return () => {};
    }
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Publishes a range for a tank (retained, QoS 1), as `{"min":…,"max":…}` with `null` for an absent bound. */
  async publishRange(
    tank: string,
    name: string,
    range: RangeView,
  ): Promise<string> {
    const topic = `${this.root}/${tank}/ranges/${name}`;
    const payload = JSON.stringify({
      min: range.min ?? null,
      max: range.max ?? null,
    });
    await this.#client.publishAsync(topic, payload, { qos: 1, retain: true });
    return topic;
  }

  /** Disconnects, ends every subscriber and stops the timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#connection = { state: "closed", since: this.#options.now() };
    for (const subscriber of this.#subscribers) subscriber.closed?.();
    this.#subscribers.clear();
    await this.#client.endAsync(true);
  }

  #setConnection(
    change: { state: ConnectionView["state"]; error?: string },
  ): void {
    if (this.#closed) return;
    const now = this.#options.now();
    const since = change.state === this.#connection.state
      ? this.#connection.since
      : now;
    this.#connection = change.error === undefined
      ? { state: change.state, since }
      : { state: change.state, since, error: change.error };
    this.#emit({
      type: "connection",
      now,
      connection: { ...this.#connection },
    });
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (this.#closed || !topic.startsWith(`${this.root}/`)) return;
    const rest = topic.slice(this.root.length + 1);
    const slash = rest.indexOf("/");
    if (slash <= 0) return;
    const id = rest.slice(0, slash);
    const now = this.#options.now();
    let entry = this.#tanks.get(id);
    if (entry === undefined) {
      // An empty retained message only clears a topic: it does not make a tank.
      if (payload.byteLength === 0) return;
      const state = initialDisplayState({
        broker: this.url,
        root: this.root,
        tank: id,
      }, now);
      if (state.topics.parse(topic)?.kind === "unknown") return;
      entry = { state, history: [], pending: [], dirty: false };
      this.#tanks.set(id, entry);
    }
    const before = entry.state.batch;
    entry.state = applyMessage(entry.state, topic, payload, now);
    const batch = entry.state.batch;
    if (batch !== before && batch !== undefined) {
      // A rig may publish readings without a simulated time: its chart runs on wall seconds since the relay started.
      this.#record(entry, batch.t ?? (now - this.#started) / 1000);
    }
    entry.dirty = true;
    this.#schedule();
  }

  #record(entry: TankEntry, t: number): void {
    const history = entry.history;
    // A simulation restarted from zero: its old points belong to another run.
    if (history.length > 0 && t < history.at(-1)!.t) {
      history.length = 0;
      entry.pending = [];
    }
    const values: HistoryPoint["values"] = {};
    for (const name of SENSOR_NAMES) {
      const reading = entry.state.readings[name];
      if (reading !== undefined) values[name] = reading.value;
    }
    const point = { t, values };
    history.push(point);
    entry.pending.push(point);
    const oldest = t - this.#options.historySeconds;
    let drop = 0;
    while (drop < history.length && history[drop]!.t < oldest) drop++;
    drop = Math.max(drop, history.length - this.#options.maxPoints);
    if (drop > 0) history.splice(0, drop);
    if (entry.pending.length > this.#options.maxPoints) {
      entry.pending.splice(0, entry.pending.length - this.#options.maxPoints);
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#options.flushMs);
  }

  #flush(): void {
    const now = this.#options.now();
    for (const entry of this.#tanks.values()) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      const points = entry.pending;
      entry.pending = [];
      this.#emit({ type: "tank", now, tank: toView(entry.state), points });
    }
  }

  #emit(update: LiveUpdate): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber.update(update);
      } catch (error) {
        console.error(`live relay: a subscriber failed: ${error}`);
        this.#subscribers.delete(subscriber);
      }
    }
  }
}

/** Orders `tank2` before `tank10`. */
function compareTanks(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** The JSON view of a tank's display state. */
export function toView(state: DisplayState): TankView {
  const view: TankView = {
    tank: state.topics.tank,
    readings: { ...state.readings },
    ranges: { ...state.ranges },
    commands: {},
  };
  if (state.batch) view.batch = { ...state.batch };
  const sim = latestSimTime(state);
  if (sim) view.sim = sim;
  if (state.applied) {
    const { wallAt: _, ...actuators } = state.applied;
    view.actuators = actuators;
  }
  for (const [name, command] of Object.entries(state.commands)) {
    if (command === undefined) continue;
    view.commands[name as keyof TankView["commands"]] =
      command.value === undefined
        ? { text: command.text }
        : { value: command.value, text: command.text };
  }
  if (state.controlSource !== undefined) {
    view.controlSource = state.controlSource;
  }
  if (state.handover) view.handover = { ...state.handover };
  if (state.alarm) view.alarm = { ...state.alarm };
  if (state.status) {
    const { state: s, scenario, title, speed } = state.status;
    view.status = Object.fromEntries(
      Object.entries({ state: s, scenario, title, speed }).filter(([, v]) =>
        v !== undefined
      ),
    );
  }
  if (state.lastError) view.lastError = { ...state.lastError };
  if (state.problem) view.problem = { ...state.problem };
  return view;
}
