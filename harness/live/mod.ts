/**
 * The live mode: the tank node (one simulated tank on a bus: readings out, commands in, ranges, control source) and
 * the runner that advances tanks on the wall clock at a chosen speed. The lockstep runner drives the same tank node.
 *
 * @module
 */

export {
  type Advanceable,
  type LiveOptions,
  type LiveStats,
  runLive,
} from "./live.ts";
export {
  type TankCounters,
  type TankLogEntry,
  TankNode,
  type TankNodeOptions,
} from "./tank_node.ts";
