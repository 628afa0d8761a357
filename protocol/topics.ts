/**
 * The topic layout students code against: `{root}/{tank}/sensors/{name}`, `…/control/{actuator}` and the rest. The
 * root and tank id are settable so that the original classroom kit's layout (`OLP/device/tank/id/…`) works unchanged.
 *
 * @module
 */

import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  type SensorName,
} from "../sim/mod.ts";

/** The default first topic level. */
export const DEFAULT_ROOT = "fishtank";
/** The default tank id. */
export const DEFAULT_TANK = "tank1";

/**
 * Named layouts. `olp` is the original kit's: root `OLP/device/tank`, tank `id`, and `sensors/all` also carries the
 * kit's field names (`lux`, `ambient_temperature`, `humidity`) so its student programs run unchanged.
 */
export const LAYOUTS = {
  fishtank: { root: DEFAULT_ROOT, tank: DEFAULT_TANK, kitAliases: false },
  olp: { root: "OLP/device/tank", tank: "id", kitAliases: true },
} as const;
/** The name of a built-in layout. */
export type LayoutName = keyof typeof LAYOUTS;

/** What a topic under a tank means, as parsed by {@linkcode TankTopics.parse}. */
export type TopicKind =
  | { kind: "sensor"; name: string }
  | { kind: "sensors_all" }
  | { kind: "control"; name: string }
  | { kind: "control_all" }
  | { kind: "control_source" }
  | { kind: "range"; name: string }
  | { kind: "actuators" }
  | { kind: "alarm" }
  | { kind: "ack" }
  | { kind: "status" }
  | { kind: "clock" }
  | { kind: "errors" }
  | { kind: "unknown"; rest: string };

/** Checks a topic prefix given on the command line: no wildcards, no empty levels. */
export function validateTopicPart(
  value: string,
  what: "root" | "tank",
): string {
  if (value.length === 0) {
    throw new RangeError(
      `--${what === "root" ? "topic-root" : "tank"}: must not be empty`,
    );
  }
  if (/[+#\0]/.test(value)) {
    throw new RangeError(
      `--${
        what === "root" ? "topic-root" : "tank"
      }: "${value}" must not contain +, # or NUL`,
    );
  }
  if (value.split("/").some((level) => level.length === 0)) {
    throw new RangeError(
      `--${
        what === "root" ? "topic-root" : "tank"
      }: "${value}" has an empty level (check slashes)`,
    );
  }
  if (what === "tank" && value.includes("/")) {
    throw new RangeError(
      `--tank: "${value}" must be a single topic level (no "/")`,
    );
  }
  return value;
}

/** Every topic of one tank. Build once and reuse: the strings are computed up front. */
export class TankTopics {
  /** `{root}/{tank}`. */
  readonly base: string;
  readonly sensorsAll: string;
  readonly controlAll: string;
  /** Retained: which tank's control topics this tank obeys (its own id by default). */
  readonly controlSource: string;
  /** Retained JSON: the actuator states the tank is applying. */
  readonly actuators: string;
  readonly alarm: string;
  /** A controller may publish here when it has dealt with the latest readings. */
  readonly ack: string;
  readonly status: string;
  readonly clock: string;
  readonly errors: string;
  /** Filters a display or controller subscribes to. */
  readonly wildcard: string;
  readonly sensorsWildcard: string;
  readonly controlWildcard: string;
  readonly rangesWildcard: string;
  readonly #sensor = new Map<string, string>();
  readonly #control = new Map<string, string>();
  readonly #range = new Map<string, string>();

  constructor(readonly root: string, readonly tank: string) {
    validateTopicPart(root, "root");
    validateTopicPart(tank, "tank");
    this.base = `${root}/${tank}`;
    this.sensorsAll = `${this.base}/sensors/all`;
    this.controlAll = `${this.base}/control/all`;
    this.controlSource = `${this.base}/control_source`;
    this.actuators = `${this.base}/actuators`;
    this.alarm = `${this.base}/alarm`;
    this.ack = `${this.base}/ack`;
    this.status = `${this.base}/status`;
    this.clock = `${this.base}/clock`;
    this.errors = `${this.base}/errors`;
    this.wildcard = `${this.base}/#`;
    this.sensorsWildcard = `${this.base}/sensors/+`;
    this.controlWildcard = `${this.base}/control/+`;
    this.rangesWildcard = `${this.base}/ranges/+`;
    for (const name of SENSOR_NAMES) {
      this.#sensor.set(name, `${this.base}/sensors/${name}`);
      this.#range.set(name, `${this.base}/ranges/${name}`);
    }
    for (const name of ACTUATOR_NAMES) {
      this.#control.set(name, `${this.base}/control/${name}`);
    }
  }

  /** `…/sensors/{name}`: the reading as plain number text, retained. */
  sensor(name: SensorName | string): string {
    return this.#sensor.get(name) ?? `${this.base}/sensors/${name}`;
  }

  /** `…/control/{name}`. */
  control(name: ActuatorName | string): string {
    return this.#control.get(name) ?? `${this.base}/control/${name}`;
  }

  /** `…/ranges/{name}`: retained JSON `{"min":24,"max":26}`. */
  range(name: SensorName | string): string {
    return this.#range.get(name) ?? `${this.base}/ranges/${name}`;
  }

  /** What `topic` is, or `undefined` when it is not under this tank. */
  parse(topic: string): TopicKind | undefined {
    if (
      !topic.startsWith(this.base) || topic.charAt(this.base.length) !== "/"
    ) return undefined;
    const rest = topic.slice(this.base.length + 1);
    const slash = rest.indexOf("/");
    const head = slash < 0 ? rest : rest.slice(0, slash);
    const tail = slash < 0 ? undefined : rest.slice(slash + 1);
    if (tail !== undefined && !tail.includes("/")) {
      if (head === "sensors") {
        return tail === "all"
          ? { kind: "sensors_all" }
          : { kind: "sensor", name: tail };
      }
      if (head === "control") {
        return tail === "all"
          ? { kind: "control_all" }
          : { kind: "control", name: tail };
      }
      if (head === "ranges") return { kind: "range", name: tail };
    }
    if (tail === undefined) {
      switch (head) {
        case "control_source":
        case "actuators":
        case "alarm":
        case "ack":
        case "status":
        case "clock":
        case "errors":
          return { kind: head };
      }
    }
    return { kind: "unknown", rest };
  }
}
