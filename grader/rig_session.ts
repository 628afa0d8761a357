/**
 * Scoring a rig from a recorded session: the part of the session where the rig obeyed its own control topics (its
 * retained `control_source` said `self` or its own id), turned into a run the grader scores like any other. A rig has
 * no simulator behind it, so its "truth" is what it reported: its readings (`sensors/all` or one topic per sensor,
 * the kit's field names too) and what it applied (`actuators`). Pure: the same session records give the same run.
 *
 * The scored intervals are laid end to end (the scored run's time is the time under the rig's own control), each
 * starting with the rig's last readings before it, so that a handover is scored from its first second. Heat is
 * reckoned from the heater's reported power and the scenario tank's rated power (a rig reports no energy).
 *
 * @module
 */

import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { MessageRecord, TruthSample } from "../store/mod.ts";
import {
  ACTUATOR_NAMES,
  type ActuatorName,
  SENSOR_NAMES,
  type SensorName,
} from "../sim/mod.ts";
import { rangesAt, type Scenario } from "../scenarios/mod.ts";
import { parseAlarm } from "../protocol/mod.ts";
import { formatNumber } from "./_format.ts";

/** Where the rig's own control system was in charge, in the session's simulated seconds. */
export interface RigInterval {
  from: number;
  to: number;
}

/** A record of the scored run, before the store numbers it. */
export type RigRunRecord = Omit<MessageRecord, "runId" | "seq">;

/** What {@linkcode rigSession} found in a session. */
export interface RigSession {
  rig: string;
  /** The intervals scored, in session time, in order. */
  intervals: RigInterval[];
  /** How the intervals were found: the retained `control_source`, or (none recorded) the first own command. */
  by: "control_source" | "first command";
  /** Seconds scored (the intervals' total). */
  seconds: number;
  /** Measurements the rig reported (only these are scored). */
  sensors: SensorName[];
  /** Readings taken as truth samples. */
  samples: number;
  /** The scored run's records, its time starting at 0 at the first interval. */
  records: RigRunRecord[];
}

/** What {@linkcode rigSession} needs. */
export interface RigSessionOptions {
  root: string;
  rig: string;
  /** The scenario the session's simulator played (its ranges, and its heater's rated power). */
  scenario: Scenario;
  /** The session's run id, named in the scored run's first note. */
  sessionId: string;
}

/** The client the scored run gives the publishes on the rig's own control and alarm topics. */
export const RIG_CONTROLLER_CLIENT = "rig-controller";

/** The kit's field names in `sensors/all`, read as ours. */
const KIT_NAMES: Readonly<Record<string, SensorName>> = {
  lux: "light",
  ambient_temperature: "room_temperature",
  humidity: "oxygen",
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function text(payload: Uint8Array): string {
  return decoder.decode(payload).trim();
}

function json(payload: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(payload));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function on(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value > 0;
  return typeof value === "string" && /^(on|true|1)$/i.test(value.trim());
}

/** `1:05:00` from seconds. */
export function sessionClock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}:${
    String(s % 60).padStart(2, "0")
  }`;
}

/** The sentence every report of a scored rig run starts with: which part of which session was scored. */
export function describeRigSession(
  session: Pick<RigSession, "rig" | "intervals" | "by" | "seconds">,
  sessionId: string,
): string {
  const spans = session.intervals.map((i) =>
    `t = ${sessionClock(i.from)}–${sessionClock(i.to)}`
  ).join(", ");
  return `${session.rig} scored over ${
    session.intervals.length === 1 ? "the interval" : "the intervals"
  } of session ${sessionId} where its own control system was in charge (${
    session.by === "control_source"
      ? "its control_source said self"
      : "no control_source recorded: from its first own command"
  }): ${spans} of the session's simulated time, ${
    formatNumber(session.seconds / 60, 1)
  } min in all`;
}

/** The rig's own-control intervals in the session (empty when it never was in charge). */
function intervalsOf(
  records: readonly MessageRecord[],
  base: string,
  rig: string,
): { intervals: RigInterval[]; by: RigSession["by"] } {
  const end = records.reduce((max, r) => Math.max(max, r.t), 0);
  const sources = records.filter((r) =>
    r.kind === "publish" && r.topic === `${base}/control_source`
  );
  const intervals: RigInterval[] = [];
  if (sources.length === 0) {
    const first = records.find((r) =>
      r.kind === "publish" && r.topic.startsWith(`${base}/control/`)
    );
    if (first !== undefined) intervals.push({ from: first.t, to: end });
    return { intervals, by: "first command" };
  }
  let since: number | undefined;
  for (const record of sources) {
    const source = text(record.payload);
    const own = source === "" || source === "self" || source === rig;
    if (own && since === undefined) since = record.t;
    else if (!own && since !== undefined) {
      intervals.push({ from: since, to: record.t });
      since = undefined;
    }
  }
  if (since !== undefined) intervals.push({ from: since, to: end });
  return {
    intervals: intervals.filter((i) => i.to > i.from),
    by: "control_source",
  };
}

/**
 * Finds where the rig's own control system was in charge in a recorded session and makes the run to score: truth
 * samples from the rig's readings and actuators, and the rig's messages in those intervals (publishes on its own
 * control and alarm topics as {@linkcode RIG_CONTROLLER_CLIENT}'s: MQTT does not say who published them).
 */
export function rigSession(
  sessionRecords: Iterable<MessageRecord>,
  options: RigSessionOptions,
): RigSession {
  const { root, rig, scenario } = options;
  const base = `${root}/${rig}`;
  const records = [...sessionRecords].sort((a, b) => a.seq - b.seq);
  const { intervals, by } = intervalsOf(records, base, rig);
  const values: Partial<Record<SensorName, number>> = {};
  const reported = new Set<SensorName>();
  const inputs = { heater: 0, light: false, pump: false, topup: false };
  const switches = { heater: 0, light: 0, pump: 0, topup: 0 };
  let alarm = false;
  let energy = 0;
  let samples = 0;
  let lastSample: { t: number; heater: number } | undefined;
  const out: RigRunRecord[] = [];
  const heaterPower = scenario.params.heaterPower;

  const sample = (sessionT: number, t: number) => {
    if (lastSample !== undefined) {
      energy += lastSample.heater * heaterPower * Math.max(0, t - lastSample.t);
    }
    lastSample = { t, heater: inputs.heater };
    const ranges = rangesAt(scenario, sessionT);
    const truth: TruthSample = {
      t,
      values: Object.fromEntries(
        SENSOR_NAMES.map((name) => [name, values[name] ?? null]),
      ) as unknown as TruthSample["values"],
      inputs: { ...inputs },
      heaterEnergy: energy,
      switches: { ...switches },
      alarm,
      events: [],
      ranges: Object.fromEntries(
        [...reported].filter((name) => ranges[name] !== undefined).map((
          name,
        ) => [name, ranges[name]!]),
      ),
    };
    // Readings that arrive together (sensors/all, then one topic each) make one sample at one instant.
    const previous = out.at(-1);
    if (previous?.kind === "truth" && previous.t === t) out.pop();
    else samples++;
    out.push({
      t,
      wall: 0,
      kind: "truth",
      client: "$harness",
      topic: "$truth",
      payload: encoder.encode(JSON.stringify(truth)),
      qos: 0,
      retain: false,
    });
  };

  /** Updates the rig's state from one of its messages; whether it changed a reading. */
  const apply = (record: MessageRecord, counting: boolean): boolean => {
    const sub = record.topic.slice(base.length + 1);
    if (sub === "sensors/all") {
      const data = json(record.payload);
      if (data === undefined) return false;
      let changed = false;
      for (const [key, value] of Object.entries(data)) {
        const name = KIT_NAMES[key] ??
          (SENSOR_NAMES.includes(key as SensorName) ? key as SensorName : null);
        if (name === null || typeof value !== "number") continue;
        if (!Number.isFinite(value)) continue;
        // The kit's names come beside ours on a simulated tank; ours win.
        if (key in KIT_NAMES && (KIT_NAMES[key]! in data)) continue;
        values[name] = value;
        reported.add(name);
        changed = true;
      }
      return changed;
    }
    if (sub.startsWith("sensors/")) {
      const name = sub.slice("sensors/".length) as SensorName;
      const value = Number(text(record.payload));
      if (!SENSOR_NAMES.includes(name) || !Number.isFinite(value)) return false;
      if (text(record.payload) === "") return false;
      values[name] = value;
      reported.add(name);
      return true;
    }
    if (sub === "actuators") {
      const data = json(record.payload);
      if (data === undefined) return false;
      for (const name of ACTUATOR_NAMES as readonly ActuatorName[]) {
        if (!(name in data)) continue;
        if (name === "heater") {
          const power = Number(data.heater);
          if (!Number.isFinite(power)) continue;
          const fraction = Math.min(1, Math.max(0, power / 100));
          if (fraction !== inputs.heater && counting) switches.heater++;
          inputs.heater = fraction;
        } else {
          const next = on(data[name]);
          if (next !== inputs[name] && counting) switches[name]++;
          inputs[name] = next;
        }
      }
      return true;
    }
    if (sub === "alarm") {
      const parsed = parseAlarm(record.payload);
      if (parsed.ok) alarm = parsed.value.raised;
      return true;
    }
    return false;
  };

  let offset = 0;
  let index = 0;
  for (const interval of intervals) {
    // The rig's state up to the interval: readings and actuators retained from before the handover.
    while (index < records.length && records[index]!.t < interval.from) {
      const record = records[index++]!;
      if (record.kind === "publish" && record.topic.startsWith(`${base}/`)) {
        apply(record, false);
      }
    }
    const at = (t: number) => offset + (t - interval.from);
    if (reported.size > 0) sample(interval.from, at(interval.from));
    while (index < records.length && records[index]!.t < interval.to) {
      const record = records[index++]!;
      if (record.kind !== "publish" || !record.topic.startsWith(`${base}/`)) {
        continue;
      }
      const sub = record.topic.slice(base.length + 1);
      const own = sub.startsWith("control/") || sub === "alarm" ||
        sub === "ack";
      out.push({
        t: at(record.t),
        wall: record.wall,
        kind: "publish",
        client: own ? RIG_CONTROLLER_CLIENT : record.client,
        topic: record.topic,
        payload: record.payload,
        qos: record.qos,
        retain: record.retain,
      });
      if (apply(record, true)) sample(record.t, at(record.t));
    }
    offset += interval.to - interval.from;
  }
  // The last reading stands until the end of the scored time.
  if (lastSample !== undefined && lastSample.t < offset && samples > 0) {
    const last = intervals.at(-1)!;
    sample(last.to, offset);
  }
  const session = { rig, intervals, by, seconds: offset };
  const head: RigRunRecord[] = [{
    t: 0,
    wall: records[0]?.wall ?? 0,
    kind: "note",
    client: "$harness",
    topic: base,
    payload: new Uint8Array(0),
    qos: 0,
    retain: false,
    note: describeRigSession(session, options.sessionId),
  }, {
    t: 0,
    wall: records[0]?.wall ?? 0,
    kind: "connect",
    client: RIG_CONTROLLER_CLIENT,
    topic: base,
    payload: new Uint8Array(0),
    qos: 0,
    retain: false,
    note:
      `whoever published on ${base}/control/…, alarm and ack while ${rig} obeyed them`,
  }];
  return {
    ...session,
    sensors: SENSOR_NAMES.filter((name) => reported.has(name)),
    samples,
    records: intervals.length === 0 ? [] : [...head, ...out],
  };
}

/**
 * The scenario text the scored run is graded with: the session's scenario as the rig lived it. Its duration is the
 * scored time and it starts at the first interval (so time-of-day ranges fall right), it has no events (the
 * simulator's faults and feedings happened to its own tanks, not to the rig), the measurements the rig did not
 * report have no range and weigh nothing, and an energy budget given for the whole day is scaled to the scored time.
 */
export function rigScenarioSource(
  source: string,
  scenario: Scenario,
  session: Pick<RigSession, "rig" | "intervals" | "seconds" | "sensors">,
): string {
  const doc = (parseYaml(source) ?? {}) as Record<string, unknown>;
  const from = session.intervals[0]?.from ?? 0;
  doc.id = `${scenario.id}-rig`;
  doc.title = `${scenario.title}, on a rig`;
  doc.start = new Date(scenario.start + from * 1000).toISOString().slice(
    0,
    19,
  );
  doc.duration = `${Math.max(1, Math.ceil(session.seconds))}s`;
  delete doc.events;
  const ranges =
    (typeof doc.ranges === "object" && doc.ranges !== null
      ? doc.ranges
      : {}) as Record<string, unknown>;
  for (const name of SENSOR_NAMES) {
    if (!session.sensors.includes(name)) ranges[name] = null;
  }
  doc.ranges = ranges;
  const grading =
    (typeof doc.grading === "object" && doc.grading !== null
      ? doc.grading
      : {}) as Record<string, unknown>;
  const weights = (typeof grading.weights === "object" &&
      grading.weights !== null
    ? grading.weights
    : {}) as Record<string, unknown>;
  for (const name of SENSOR_NAMES) {
    if (!session.sensors.includes(name)) weights[name] = 0;
  }
  grading.weights = weights;
  if (typeof grading.energy_budget_wh === "number") {
    grading.energy_budget_wh = Math.max(
      1,
      Math.round(
        grading.energy_budget_wh * session.seconds / scenario.duration,
      ),
    );
  }
  doc.grading = grading;
  return `# ${scenario.id}, as rig ${session.rig} lived it: made by grader/rig_session.ts from the session's scenario\n${
    stringifyYaml(doc)
  }`;
}
