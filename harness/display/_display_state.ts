/**
 * The terminal display's state and the reducer that feeds it: every MQTT message and connection event becomes a new
 * state object, so that rendering stays a pure function of that state (see `_display_render.ts`).
 *
 * @module
 */

import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  type SensorName,
} from "../../sim/mod.ts";
import {
  decodeText,
  parseAlarm,
  parseCommand,
  parseControlAll,
  parseRange,
  preview,
  type Range,
  TankTopics,
} from "../../protocol/mod.ts";

/** Where the display stands with the broker. */
export type ConnectionState = "connecting" | "connected" | "reconnecting";

/** One reading as last seen. `value` is `null` when the sensor has dropped out. */
export interface ReadingState {
  value: number | null;
  /** Wall-clock milliseconds when it arrived. */
  wallAt: number;
}

/** The last `…/sensors/all` batch. */
export interface BatchState {
  wallAt: number;
  /** Simulated ISO date-time of the batch. */
  time?: string;
  /** Simulated seconds since the start of the run. */
  t?: number;
  /** Wall milliseconds since the batch before, to judge when readings have gone stale. */
  interval?: number;
}

/** What the tank says it applies (`…/actuators`). The heater is in percent. */
export interface AppliedState {
  heater?: number;
  light?: boolean;
  pump?: boolean;
  topup?: boolean;
  /** Which tank's control topics it obeys. */
  source?: string;
  wallAt: number;
}

/** The last command seen on `…/control/{name}` or `…/control/all`. */
export interface CommandState {
  /** Heater power fraction 0–1 or on/off; `undefined` when the tank will refuse it. */
  value?: number | boolean;
  /** The payload as sent, for commands that do not parse. */
  text: string;
  wallAt: number;
}

/** The retained `…/status` object. */
export interface StatusState {
  state?: string;
  scenario?: string;
  title?: string;
  speed?: number;
  time?: string;
  t?: number;
  wallAt: number;
}

/** The last `…/clock` tick. */
export interface ClockState {
  time?: string;
  t?: number;
  speed?: number;
  wallAt: number;
}

/** Everything the display shows. Build with {@linkcode initialDisplayState}; update with {@linkcode applyMessage}. */
export interface DisplayState {
  broker: string;
  topics: TankTopics;
  connection: {
    state: ConnectionState;
    since: number;
    attempts: number;
    error?: string;
  };
  readings: Partial<Record<SensorName, ReadingState>>;
  batch?: BatchState;
  ranges: Partial<Record<SensorName, Range>>;
  applied?: AppliedState;
  commands: Partial<Record<ActuatorName, CommandState>>;
  alarm?: { raised: boolean; message: string; wallAt: number };
  status?: StatusState;
  /** The retained `…/control_source`: the tank whose control topics this tank obeys (its own id for `self`). */
  controlSource?: string;
  /**
   * The last change of `controlSource` seen while connected (not the retained value found on connecting): who had
   * control before, and when it changed, on the wall clock and the tank's clock when known.
   */
  handover?: { from: string; wallAt: number; t?: number; time?: string };
  clock?: ClockState;
  /** The last `…/errors` report from the tank. */
  lastError?: { time?: string; topic?: string; error: string; wallAt: number };
  /** The last payload the display could not make sense of, so a malformed publisher is visible. */
  problem?: { topic: string; message: string; wallAt: number };
  /** Messages received in all. */
  messages: number;
}

/** What {@linkcode initialDisplayState} needs. */
export interface DisplayStateOptions {
  broker: string;
  root: string;
  tank: string;
}

/** The state before anything has arrived. */
export function initialDisplayState(
  options: DisplayStateOptions,
  wallNow: number,
): DisplayState {
  return {
    broker: options.broker,
    topics: new TankTopics(options.root, options.tank),
    connection: { state: "connecting", since: wallNow, attempts: 0 },
    readings: {},
    ranges: {},
    commands: {},
    messages: 0,
  };
}

/** A connection event from the MQTT client. */
export type ConnectionEvent =
  | { kind: "connected" }
  | { kind: "reconnecting" }
  | { kind: "closed" }
  | { kind: "error"; message: string };

/** Applies a connection event; errors are kept until the next successful connection. */
export function applyConnection(
  state: DisplayState,
  event: ConnectionEvent,
  wallNow: number,
): DisplayState {
  const current = state.connection;
  switch (event.kind) {
    case "connected":
      return {
        ...state,
        connection: { state: "connected", since: wallNow, attempts: 0 },
      };
    case "reconnecting":
      return {
        ...state,
        connection: {
          ...current,
          state: "reconnecting",
          since: wallNow,
          attempts: current.attempts + 1,
        },
      };
    case "closed":
      // mqtt.js retries after a close; only the first close after a connection changes what is shown.
      return current.state === "connected"
        ? {
          ...state,
          connection: { ...current, state: "reconnecting", since: wallNow },
        }
        : state;
    case "error":
      return { ...state, connection: { ...current, error: event.message } };
  }
}

/**
 * The original kit's names in `sensors/all` (its fake tank publishes these), read when the contract's own name is
 * absent, so a kit-style rig shows its light, room temperature and oxygen.
 */
const KIT_FIELDS: Readonly<Partial<Record<SensorName, string>>> = {
  light: "lux",
  room_temperature: "ambient_temperature",
  oxygen: "humidity",
};

/** How long a batch may keep individual sensor topics from overriding it (see {@linkcode applyMessage}). */
const BATCH_PRECEDENCE_MS = 5_000;

function object(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? json as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

/** Drops the keys whose value is `undefined`, so optional fields stay absent rather than set to `undefined`. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as T;
}

function withProblem(
  state: DisplayState,
  topic: string,
  message: string,
  wallNow: number,
): DisplayState {
  return { ...state, problem: { topic, message, wallAt: wallNow } };
}

/**
 * Applies one MQTT message to the state and returns the new state (the old one is left as it was). Messages from
 * other tanks are ignored; payloads that do not parse are noted in `problem` and otherwise ignored.
 *
 * A `sensors/all` batch takes precedence over the single `sensors/{name}` topics for a few seconds: those topics are
 * retained and a dropped-out sensor stops publishing, so its old retained value must not hide the batch's `null`.
 */
export function applyMessage(
  state: DisplayState,
  topic: string,
  payload: Uint8Array | string,
  wallNow: number,
): DisplayState {
  const kind = state.topics.parse(topic);
  if (kind === undefined) return state;
  const decoded = decodeText(payload, 65_536);
  const counted = { ...state, messages: state.messages + 1 };
  if (!decoded.ok) return withProblem(counted, topic, decoded.error, wallNow);
  const text = decoded.value;
  switch (kind.kind) {
    case "sensors_all": {
      const json = object(text);
      if (json === undefined) {
        return withProblem(
          counted,
          topic,
          `expected a JSON object, got ${preview(text)}`,
          wallNow,
        );
      }
      const readings = { ...counted.readings };
      let found = 0;
      for (const name of SENSOR_NAMES) {
        const field: string | undefined = name in json
          ? name
          : KIT_FIELDS[name];
        if (field === undefined || !(field in json)) continue;
        const value = json[field];
        found++;
        readings[name] = { value: num(value) ?? null, wallAt: wallNow };
      }
      if (found === 0) {
        return withProblem(
          counted,
          topic,
          "the object holds no known reading",
          wallNow,
        );
      }
      const previous = counted.batch?.wallAt;
      const batch: BatchState = defined({
        wallAt: wallNow,
        time: str(json.time),
        t: num(json.t),
        interval: previous === undefined ? undefined : wallNow - previous,
      });
      return { ...counted, readings, batch };
    }
    case "sensor": {
      const name = kind.name as SensorName;
      if (!(SENSOR_NAMES as readonly string[]).includes(name)) return counted;
      const value = Number(text.trim());
      if (text.trim() === "" || !Number.isFinite(value)) {
        return withProblem(
          counted,
          topic,
          `expected a number, got ${preview(text)}`,
          wallNow,
        );
      }
      const batch = counted.batch;
      if (batch !== undefined && wallNow - batch.wallAt < BATCH_PRECEDENCE_MS) {
        return counted;
      }
      return {
        ...counted,
        readings: { ...counted.readings, [name]: { value, wallAt: wallNow } },
      };
    }
    case "range": {
      if (text.trim() === "") {
        // An empty retained message deletes the range.
        const ranges = { ...counted.ranges };
        delete ranges[kind.name as SensorName];
        return { ...counted, ranges };
      }
      const parsed = parseRange(kind.name, text);
      if (!parsed.ok) return withProblem(counted, topic, parsed.error, wallNow);
      return {
        ...counted,
        ranges: { ...counted.ranges, [kind.name]: parsed.value },
      };
    }
    case "actuators": {
      const json = object(text);
      if (json === undefined) {
        return withProblem(
          counted,
          topic,
          `expected a JSON object, got ${preview(text)}`,
          wallNow,
        );
      }
      const applied: AppliedState = defined({
        heater: num(json.heater) ??
          (bool(json.heater) === undefined ? undefined : json.heater ? 100 : 0),
        light: bool(json.light),
        pump: bool(json.pump),
        topup: bool(json.topup),
        source: str(json.source),
        wallAt: wallNow,
      });
      return { ...counted, applied };
    }
    case "control": {
      if (!(ACTUATOR_NAMES as readonly string[]).includes(kind.name)) {
        return counted;
      }
      const parsed = parseCommand(kind.name, text);
      const command: CommandState = parsed.ok
        ? { value: parsed.value.value, text, wallAt: wallNow }
        : { text, wallAt: wallNow };
      return {
        ...counted,
        commands: { ...counted.commands, [kind.name]: command },
      };
    }
    case "control_all": {
      const parsed = parseControlAll(text);
      if (!parsed.ok) return withProblem(counted, topic, parsed.error, wallNow);
      const commands = { ...counted.commands };
      for (const command of parsed.value) {
        const name: ActuatorName = command.actuator;
        commands[name] = { value: command.value, text, wallAt: wallNow };
      }
      return { ...counted, commands };
    }
    case "alarm": {
      const parsed = parseAlarm(text);
      if (!parsed.ok) return withProblem(counted, topic, parsed.error, wallNow);
      return { ...counted, alarm: { ...parsed.value, wallAt: wallNow } };
    }
    case "status": {
      const word = text.trim();
      // A rig may say only `online` / `offline` (its last will), as many MQTT devices do.
      if (/^[a-z]+$/i.test(word)) {
        return {
          ...counted,
          status: { state: word.toLowerCase(), wallAt: wallNow },
        };
      }
      const json = object(text);
      if (json === undefined) {
        return withProblem(
          counted,
          topic,
          `expected a JSON object, got ${preview(text)}`,
          wallNow,
        );
      }
      const status: StatusState = defined({
        state: str(json.state),
        scenario: str(json.scenario),
        title: str(json.title),
        speed: num(json.speed),
        time: str(json.time),
        t: num(json.t),
        wallAt: wallNow,
      });
      return { ...counted, status };
    }
    case "control_source": {
      const source = text.trim();
      if (/[/+#]/.test(source)) {
        return withProblem(
          counted,
          topic,
          `expected a tank id or "self", got ${preview(text)}`,
          wallNow,
        );
      }
      const to = source === "" || source === "self"
        ? counted.topics.tank
        : source;
      const from = counted.controlSource;
      if (from === undefined || from === to) {
        return { ...counted, controlSource: to };
      }
      return {
        ...counted,
        controlSource: to,
        handover: { from, wallAt: wallNow, ...latestSimTime(counted) },
      };
    }
    case "clock": {
      const json = object(text);
      if (json === undefined) {
        return withProblem(
          counted,
          topic,
          `expected a JSON object, got ${preview(text)}`,
          wallNow,
        );
      }
      const clock: ClockState = defined({
        time: str(json.time),
        t: num(json.t),
        speed: num(json.speed),
        wallAt: wallNow,
      });
      return { ...counted, clock };
    }
    case "errors": {
      const json = object(text);
      const error = json === undefined ? text : str(json.error) ?? text;
      const lastError = defined({
        time: json === undefined ? undefined : str(json.time),
        topic: json === undefined ? undefined : str(json.topic),
        error,
        wallAt: wallNow,
      });
      return { ...counted, lastError };
    }
    default:
      return counted;
  }
}

/**
 * The newest simulated time known, from the latest clock tick, status or batch, with its date-time when published.
 * It is not extrapolated with the speed: a run waiting for controllers' acks, paused or stopped has no clock running,
 * and invented time would hide that.
 */
export function latestSimTime(
  state: DisplayState,
): { t: number; time?: string } | undefined {
  let latest: { t: number; time?: string; wallAt: number } | undefined;
  for (const source of [state.batch, state.status, state.clock]) {
    if (source?.t === undefined) continue;
    if (
      latest === undefined || source.wallAt > latest.wallAt ||
      (source.wallAt === latest.wallAt && source.t > latest.t)
    ) {
      latest = { t: source.t, time: source.time, wallAt: source.wallAt };
    }
  }
  if (latest === undefined) return undefined;
  return latest.time === undefined
    ? { t: latest.t }
    : { t: latest.t, time: latest.time };
}
