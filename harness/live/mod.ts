/**
 * The live mode: the tank node (one simulated tank on a bus: readings out, commands in, ranges, control source), the
 * rig node (an outside tank: its ranges and control source announced, its handovers logged) and
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
export { RigNode, type RigNodeOptions, rigState } from "./rig_node.ts";
export {
  type TankCounters,
  type TankLogEntry,
  TankNode,
  type TankNodeOptions,
} from "./tank_node.ts";
