/**
 * The harness: the embedded MQTT broker, the bus the simulated tanks talk through, the topic contract, the tank node
 * and the live runner.
 *
 * @module
 */

export {
  BrokerError,
  type BrokerEvent,
  type BrokerOptions,
  EmbeddedBroker,
} from "./broker/broker.ts";
export {
  AedesBus,
  type Bus,
  BusError,
  type BusMessage,
  type BusPublishOptions,
  FakeBus,
  MqttBus,
  type MqttBusOptions,
  topicMatches,
} from "./broker/bus.ts";
export {
  type Advanceable,
  type LiveOptions,
  type LiveStats,
  runLive,
} from "./live/live.ts";
export {
  type Alarm,
  type Command,
  decodeText,
  formatReading,
  MAX_COMMAND_BYTES,
  parseAlarm,
  parseCommand,
  parseControlAll,
  type Parsed,
  parseHeater,
  parseRange,
  parseSwitch,
  PHYSICAL_BOUNDS,
  type Range,
} from "../protocol/payloads.ts";
export {
  type TankCounters,
  type TankLogEntry,
  TankNode,
  type TankNodeOptions,
} from "./live/tank_node.ts";
export {
  DEFAULT_ROOT,
  DEFAULT_TANK,
  type LayoutName,
  LAYOUTS,
  TankTopics,
  type TopicKind,
  validateTopicPart,
} from "../protocol/topics.ts";
