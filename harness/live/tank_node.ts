/**
 * One simulated tank on the bus: it advances a {@linkcode Simulation} through a scenario's timeline, publishes the
 * readings on the tank's topics, and takes commands, ranges and alarms from them. Bad input is answered on
 * `…/errors` and never stops the simulation.
 *
 * @module
 */

import {
  ACTUATOR_NAMES,
  fishTank,
  type FishTankEnv,
  type FishTankInitial,
  type FishTankInputs,
  type FishTankParams,
  type FishTankReadings,
  type FishTankState,
  SENSOR_NAMES,
  type SensorName,
  Simulation,
} from "../../sim/mod.ts";
import {
  activeEvents,
  environmentAt,
  rangesAt,
  type Scenario,
} from "../../scenarios/mod.ts";
import type { TruthSample } from "../../store/mod.ts";
import type { Bus, BusMessage } from "../broker/mod.ts";
import {
  type Alarm,
  type Command,
  formatReading,
  parseAlarm,
  parseCommand,
  parseControlAll,
  parseRange,
  preview,
  type Range,
  TankTopics,
} from "../../protocol/mod.ts";

/** A line for the operator's log, with the simulated time it happened at. */
export interface TankLogEntry {
  tank: string;
  t: number;
  time: string;
  level: "info" | "warn" | "error";
  message: string;
}

/** Options of {@linkcode TankNode.start}. */
export interface TankNodeOptions {
  bus: Bus;
  scenario: Scenario;
  /** Topic root; default `fishtank`. */
  root?: string;
  /** Tank id; default `tank1`. */
  tank?: string;
  /** Add the original kit's field names (`lux`, `ambient_temperature`, `humidity`) to `sensors/all`. */
  kitAliases?: boolean;
  /** Take actuator commands from another tank's control topics (its id), e.g. a demo rig following `tank1`. */
  controlFrom?: string;
  /** Speed factor shown in status and clock messages (the pace itself is the runner's business). */
  speed?: number;
  /** Where log lines go; default nowhere. */
  log?: (entry: TankLogEntry) => void;
  /**
   * Lockstep mode: what the tank publishes in reaction to input (the actuator states, errors, a refused range put
   * back) waits for the next step, so that it is recorded in the same order on every run, whatever the timing.
   */
  lockstep?: boolean;
  /** Called for every message the tank publishes, when it decides to (before the bus has it). */
  onSend?: (sent: SentMessage) => void;
  /** Called for every input the tank refuses, with the reason. */
  onReject?: (message: BusMessage, error: string) => void;
  /** Called after every batch of readings, with the true state behind them. */
  onReadings?: (truth: TruthSample) => void;
}

/** A message the tank publishes. */
export interface SentMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

const defaults = {
  root: "fishtank",
  tank: "tank1",
  kitAliases: false,
  speed: 1,
  log: (_entry: TankLogEntry) => {},
  lockstep: false,
  onSend: (_sent: SentMessage) => {},
  onReject: (_message: BusMessage, _error: string) => {},
  onReadings: (_truth: TruthSample) => {},
} satisfies Partial<TankNodeOptions>;

/** Counters a run report or a test can read. */
export interface TankCounters {
  published: number;
  commands: number;
  rejected: number;
  alarms: number;
}

type FishTankSimulation = Simulation<
  FishTankParams,
  FishTankInitial,
  FishTankState,
  FishTankInputs,
  FishTankEnv,
  FishTankReadings
>;

/** A simulated fish tank publishing on, and listening to, its MQTT topics. */
export class TankNode {
  readonly topics: TankTopics;
  readonly sim: FishTankSimulation;
  readonly scenario: Scenario;
  readonly counters: TankCounters = {
    published: 0,
    commands: 0,
    rejected: 0,
    alarms: 0,
  };
  /** The ranges in force now, per measurement: the scenario's, or an edit received on `…/ranges/{name}`. */
  readonly ranges = new Map<SensorName, Range>();
  /** The alarm as the controller last set it. */
  alarm: Alarm & { since?: number } = { raised: false, message: "" };
  /** The tank whose control topics this tank obeys. */
  controlSource: string;
  /** Latest readings published. */
  readings: FishTankReadings | undefined;
  #state: "online" | "finished" | "offline" = "online";
  readonly #options: Required<Omit<TankNodeOptions, "controlFrom">>;
  readonly #published = new Map<string, string>();
  readonly #editedRanges = new Set<SensorName>();
  #nextPublish = 0;
  #speed: number;
  #lastActuators = "";
  readonly #pending = new Set<Promise<unknown>>();
  /** Reactions waiting for the next step (lockstep mode). */
  #deferred: (() => void)[] = [];
  /** Times each actuator changed state. */
  readonly switches = { heater: 0, light: 0, pump: 0, topup: 0 };

  private constructor(options: TankNodeOptions) {
    this.#options = { ...defaults, ...options } as Required<
      Omit<TankNodeOptions, "controlFrom">
    >;
    const { scenario } = options;
    this.scenario = scenario;
    this.topics = new TankTopics(this.#options.root, this.#options.tank);
    this.controlSource = options.controlFrom ?? this.topics.tank;
    this.#speed = this.#options.speed;
    this.sim = new Simulation({
      system: fishTank,
      params: scenario.params,
      initial: scenario.initial,
      seed: scenario.seed,
      step: scenario.step,
      startMs: scenario.start,
      environment: (t: number, dt: number) => environmentAt(scenario, t, dt),
    });
  }

  /** Creates the tank, subscribes to its input topics and publishes its first status, ranges and readings. */
  static async start(options: TankNodeOptions): Promise<TankNode> {
    const node = new TankNode(options);
    node.#publishRanges();
    node.#publishActuators();
    node.#publishStatus();
    node.#publishReadings();
    node.#nextPublish = node.scenario.publishPeriod;
    // Our ranges are stored before we listen, so a range retained by an earlier run is not taken for an edit.
    await node.flush();
    await node.#subscribe();
    return node;
  }

  /** Simulated seconds since the start. */
  get time(): number {
    return this.sim.time;
  }

  /** Whether the scenario's duration has been simulated. */
  get finished(): boolean {
    return this.sim.time >= this.scenario.duration;
  }

  /** Sets the speed factor reported in status and clock messages. */
  set speed(value: number) {
    this.#speed = value;
    this.#publishStatus();
  }

  /**
   * Advances the simulation by `seconds` (whole physics steps, stopping at the scenario's end) and publishes readings
   * at every publish period passed on the way. Publishing does not wait for the bus; call {@linkcode flush} for that.
   */
  advance(seconds: number): void {
    this.#runDeferred();
    const { step, publishPeriod, duration } = this.scenario;
    const end = Math.min(duration, this.sim.time + seconds);
    while (this.sim.time + step <= end + 1e-9) {
      const chunkEnd = Math.min(end, this.#nextPublish);
      const steps = Math.round((chunkEnd - this.sim.time) / step);
      if (steps > 0) this.sim.advance(steps * step);
      if (this.sim.time + 1e-9 >= this.#nextPublish) {
        this.#publishReadings();
        this.#nextPublish += publishPeriod;
      } else if (steps <= 0) {
        break;
      }
    }
    if (this.finished && this.#state === "online") {
      this.#state = "finished";
      this.#log("info", `scenario "${this.scenario.id}" finished`);
      this.#publishStatus();
    }
  }

  /** Waits until everything published so far has been handed to the bus. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Publishes the final status and stops publishing. The bus stays open (it may be shared). */
  async stop(): Promise<void> {
    this.#runDeferred();
    if (this.#state !== "offline") {
      this.#state = "offline";
      this.#publishStatus();
    }
    await this.flush();
  }

  /** The status object published (retained) on `…/status`. */
  status(): Record<string, unknown> {
    return {
      state: this.#state,
      scenario: this.scenario.id,
      version: this.scenario.version,
      title: this.scenario.title,
      speed: this.#speed,
      time: this.sim.clock.iso(),
      t: this.sim.time,
      duration: this.scenario.duration,
      controlSource: this.controlSource,
    };
  }

  async #subscribe(): Promise<void> {
    const { bus } = this.#options;
    // Every tank's control topics: the source can change at runtime, so filtering happens on arrival.
    await bus.subscribe(
      `${this.topics.root}/+/control/+`,
      this.#guard((m) => this.#onControl(m)),
    );
    await bus.subscribe(
      this.topics.rangesWildcard,
      this.#guard((m) => this.#onRange(m)),
    );
    await bus.subscribe(
      this.topics.alarm,
      this.#guard((m) => this.#onAlarm(m)),
    );
    await bus.subscribe(
      this.topics.controlSource,
      this.#guard((m) => this.#onControlSource(m)),
    );
  }

  /** A handler that turns an unexpected exception into a rejection instead of ending the process. */
  #guard(
    handler: (message: BusMessage) => void,
  ): (message: BusMessage) => void {
    return (message) => {
      try {
        handler(message);
      } catch (error) {
        this.#reject(
          message,
          `internal error: ${error instanceof Error ? error.message : error}`,
        );
      }
    };
  }

  #onControl(message: BusMessage): void {
    const level = message.topic.slice(this.topics.root.length + 1);
    const slash = level.indexOf("/");
    const source = level.slice(0, slash);
    if (source !== this.controlSource) return;
    const name = level.slice(slash + "/control/".length);
    const parsed = name === "all"
      ? parseControlAll(message.payload)
      : parseCommand(name, message.payload);
    if (!parsed.ok) {
      this.#reject(message, parsed.error);
      return;
    }
    const commands: Command[] = Array.isArray(parsed.value)
      ? parsed.value
      : [parsed.value];
    const inputs: Partial<FishTankInputs> = {};
    for (const command of commands) {
      if (command.actuator === "heater") inputs.heater = command.value;
      else inputs[command.actuator] = command.value;
    }
    this.counters.commands += commands.length;
    const before = this.sim.inputs;
    this.sim.setInputs(inputs);
    const after = this.sim.inputs;
    for (const name of ACTUATOR_NAMES) {
      if (before[name] !== after[name]) this.switches[name]++;
    }
    this.#react(() => this.#publishActuators());
  }

  #onRange(message: BusMessage): void {
    const name = message.topic.slice(
      this.topics.base.length + "/ranges/".length,
    );
    const text = new TextDecoder().decode(message.payload);
    if (this.#published.get(message.topic) === text) return; // our own retained range coming back
    const parsed = parseRange(name, message.payload);
    if (!parsed.ok) {
      this.#reject(message, parsed.error);
      // Put back the range in force, so the retained store never keeps a range the tank refused.
      if (this.ranges.has(name as SensorName)) {
        this.#react(() => this.#publishRange(name as SensorName));
      }
      return;
    }
    const sensor = name as SensorName;
    this.ranges.set(sensor, parsed.value);
    this.#editedRanges.add(sensor);
    this.#published.set(message.topic, text);
    this.#log(
      "info",
      `range of ${sensor} set to ${JSON.stringify(parsed.value)}`,
    );
  }

  #onAlarm(message: BusMessage): void {
    const parsed = parseAlarm(message.payload);
    if (!parsed.ok) {
      this.#reject(message, parsed.error);
      return;
    }
    const { raised, message: text } = parsed.value;
    if (raised && !this.alarm.raised) this.counters.alarms++;
    if (raised !== this.alarm.raised) {
      this.#log(
        raised ? "warn" : "info",
        raised ? `ALARM raised: ${text || "(no message)"}` : "alarm cleared",
      );
    }
    this.alarm = raised
      ? { raised, message: text, since: this.alarm.since ?? this.sim.time }
      : parsed.value;
  }

  #onControlSource(message: BusMessage): void {
    const text = new TextDecoder().decode(message.payload).trim();
    const source = text === "" || text === "self" ? this.topics.tank : text;
    if (/[/+#]/.test(source)) {
      this.#reject(
        message,
        `expected a tank id (one topic level) or "self", got ${preview(text)}`,
      );
      return;
    }
    if (source === this.controlSource) return;
    this.#log(
      "info",
      `now taking commands from ${
        source === this.topics.tank ? "its own topics" : `tank ${source}`
      }`,
    );
    this.controlSource = source;
    this.#publishActuators();
    this.#publishStatus();
  }

  #reject(message: BusMessage, error: string): void {
    this.counters.rejected++;
    this.#options.onReject(message, error);
    this.#log("warn", `rejected ${message.topic}: ${error}`);
    const payload = JSON.stringify({
      time: this.sim.clock.iso(),
      t: this.sim.time,
      topic: message.topic,
      error,
    });
    this.#react(() => this.#send(this.topics.errors, payload, false));
  }

  /** Publishes a reaction now, or at the next step in lockstep mode. */
  #react(publish: () => void): void {
    if (this.#options.lockstep) this.#deferred.push(publish);
    else publish();
  }

  #runDeferred(): void {
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const publish of deferred) publish();
  }

  /** The true state now, as the grader scores it. */
  truth(): TruthSample {
    const state = this.sim.state;
    const inputs = this.sim.inputs;
    const ranges: TruthSample["ranges"] = {};
    for (const [name, range] of this.ranges) ranges[name] = { ...range };
    return {
      t: this.sim.time,
      values: {
        temperature: state.temperature,
        room_temperature: state.roomTemperature,
        ph: state.ph,
        oxygen: state.oxygen,
        light: state.light,
        level: state.level,
      },
      inputs: {
        heater: inputs.heater,
        light: inputs.light,
        pump: inputs.pump,
        topup: inputs.topup,
      },
      heaterEnergy: state.heaterEnergy,
      switches: { ...this.switches },
      alarm: this.alarm.raised,
      events: activeEvents(this.scenario, this.sim.time).map((event) =>
        event.type
      ),
      ranges,
    };
  }

  #publishReadings(): void {
    const readings = this.sim.observe();
    this.readings = readings;
    const all: Record<string, unknown> = {
      time: this.sim.clock.iso(),
      t: this.sim.time,
    };
    for (const name of SENSOR_NAMES) all[name] = readings[name];
    if (this.#options.kitAliases) {
      all.lux = readings.light;
      all.ambient_temperature = readings.room_temperature;
      all.humidity = readings.oxygen;
    }
    // `sensors/all` first: most controllers wait for it, and can start answering while the single readings follow.
    this.#send(this.topics.sensorsAll, JSON.stringify(all), true, 1);
    for (const name of SENSOR_NAMES) {
      const value = readings[name];
      if (value !== null) {
        this.#send(this.topics.sensor(name), formatReading(value), true, 1);
      }
    }
    this.#send(
      this.topics.clock,
      JSON.stringify({ time: all.time, t: all.t, speed: this.#speed }),
      false,
    );
    this.#updateScenarioRanges();
    this.#options.onReadings(this.truth());
  }

  #updateScenarioRanges(): void {
    const current = rangesAt(this.scenario, this.sim.time);
    for (const name of SENSOR_NAMES) {
      if (this.#editedRanges.has(name)) continue;
      const range = current[name];
      const before = this.ranges.get(name);
      if (
        range === undefined ||
        (before?.min === range.min && before?.max === range.max)
      ) continue;
      this.ranges.set(name, { ...range });
      this.#publishRange(name);
    }
  }

  #publishRanges(): void {
    this.#updateScenarioRanges();
  }

  #publishRange(name: SensorName): void {
    const range = this.ranges.get(name);
    if (range === undefined) return;
    const text = JSON.stringify({
      min: range.min ?? null,
      max: range.max ?? null,
    });
    const topic = this.topics.range(name);
    this.#published.set(topic, text);
    this.#send(topic, text, true, 1);
  }

  #publishActuators(): void {
    const inputs = this.sim.inputs;
    const state: Record<string, unknown> = {};
    for (const name of ACTUATOR_NAMES) {
      state[name] = name === "heater"
        ? Math.round(inputs.heater * 1000) / 10
        : inputs[name];
    }
    state.source = this.controlSource;
    const text = JSON.stringify(state);
    if (text === this.#lastActuators) return;
    this.#lastActuators = text;
    this.#send(this.topics.actuators, text, true, 1);
  }

  #publishStatus(): void {
    this.#send(this.topics.status, JSON.stringify(this.status()), true, 1);
  }

  #send(topic: string, payload: string, retain: boolean, qos: 0 | 1 = 0): void {
    this.counters.published++;
    this.#options.onSend({ topic, payload, retain, qos });
    const pending: Promise<unknown> = this.#options.bus.publish(
      topic,
      payload,
      { retain, qos },
    )
      .catch((error) => {
        this.#log(
          "error",
          `cannot publish ${topic}: ${
            error instanceof Error ? error.message : error
          }`,
        );
      })
      .finally(() => this.#pending.delete(pending));
    this.#pending.add(pending);
  }

  #log(level: TankLogEntry["level"], message: string): void {
    this.#options.log({
      tank: this.topics.tank,
      t: this.sim.time,
      time: this.sim.clock.iso(),
      level,
      message,
    });
  }
}
