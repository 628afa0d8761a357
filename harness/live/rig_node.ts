/**
 * A rig: an outside tank on the simulator's broker (real hardware, or a demo program standing in for it) that publishes
 * its own readings and status. The simulator does for it what a classroom needs around those readings: it publishes
 * the rig's target ranges (the scenario's) and its retained `control_source`, which says whose control topics the rig
 * obeys (the rig program reads it, as a simulated tank reads its own), and it logs the rig's handovers and its status.
 *
 * @module
 */

import { rangesAt, type Scenario } from "../../scenarios/mod.ts";
import { SENSOR_NAMES } from "../../sim/mod.ts";
import type { Bus, BusMessage } from "../broker/mod.ts";
import { TankTopics } from "../../protocol/mod.ts";
import type { TankLogEntry } from "./tank_node.ts";

/** Options of {@linkcode RigNode.start}. */
export interface RigNodeOptions {
  bus: Bus;
  /** Its target ranges are the scenario's at the start. */
  scenario: Scenario;
  /** Topic root; default `fishtank`. */
  root?: string;
  /** The rig's tank id. */
  rig: string;
  /** The tank whose control topics the rig obeys at the start; default its own (`self`). */
  controlFrom?: string;
  /** Where log lines go (handovers, the rig coming online or going offline); default nowhere. */
  log?: (entry: TankLogEntry) => void;
  /** The session's simulated seconds, to date log lines (the rig has no clock of ours); default 0. */
  time?: () => number;
}

const decoder = new TextDecoder();

/** The `state` of a rig's status: JSON `{"state": "online"}` or the plain word. */
export function rigState(payload: Uint8Array | string): string | undefined {
  const text = (typeof payload === "string" ? payload : decoder.decode(payload))
    .trim();
  if (text === "") return undefined;
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === "object" && json !== null && "state" in json) {
      const state = (json as { state: unknown }).state;
      return typeof state === "string" ? state : undefined;
    }
    return typeof json === "string" ? json : undefined;
  } catch {
    return /^[a-z]+$/i.test(text) ? text.toLowerCase() : undefined;
  }
}

/** An outside tank the simulator announces: its ranges and control source out, its handovers and status logged. */
export class RigNode {
  readonly topics: TankTopics;
  /** The tank whose control topics the rig obeys now (its own id for `self`), as the retained topic says. */
  controlSource: string;
  /** The rig's state as its retained status or last will says (`online`, `offline`, …); undefined until heard. */
  state: string | undefined;
  readonly #options: RigNodeOptions;

  private constructor(options: RigNodeOptions) {
    this.#options = options;
    this.topics = new TankTopics(options.root ?? "fishtank", options.rig);
    this.controlSource = options.controlFrom ?? options.rig;
  }

  /** Publishes the rig's ranges and retained control source, then listens to its control source and status. */
  static async start(options: RigNodeOptions): Promise<RigNode> {
    const node = new RigNode(options);
    const { bus, scenario } = options;
    const ranges = rangesAt(scenario, 0);
    const sends: Promise<void>[] = [];
    for (const name of SENSOR_NAMES) {
      const range = ranges[name];
      if (range === undefined) continue;
      sends.push(bus.publish(
        node.topics.range(name),
        JSON.stringify({ min: range.min ?? null, max: range.max ?? null }),
        { retain: true, qos: 1 },
      ));
    }
    sends.push(bus.publish(
      node.topics.controlSource,
      node.controlSource === options.rig ? "self" : node.controlSource,
      { retain: true, qos: 1 },
    ));
    await Promise.all(sends);
    await bus.subscribe(
      node.topics.controlSource,
      (message) => node.#onControlSource(message),
    );
    await bus.subscribe(
      node.topics.status,
      (message) => node.#onStatus(message),
    );
    return node;
  }

  #onControlSource(message: BusMessage): void {
    const text = decoder.decode(message.payload).trim();
    const source = text === "" || text === "self" ? this.topics.tank : text;
    if (/[/+#]/.test(source) || source === this.controlSource) return;
    this.controlSource = source;
    this.#log(
      `handover: now follows ${
        source === this.topics.tank
          ? "its own control topics"
          : `tank ${source}`
      }`,
    );
  }

  #onStatus(message: BusMessage): void {
    const state = rigState(message.payload);
    if (state === undefined || state === this.state) return;
    this.state = state;
    this.#log(`rig is ${state}`);
  }

  #log(message: string): void {
    const t = this.#options.time?.() ?? 0;
    this.#options.log?.({
      tank: this.topics.tank,
      t,
      time: new Date(this.#options.scenario.start + t * 1000).toISOString(),
      level: "info",
      message,
    });
  }
}
