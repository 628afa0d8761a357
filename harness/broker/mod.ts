/**
 * The embedded MQTT broker (aedes behind a front door that guards every packet and translates MQTT 5), the access
 * rules of live and lockstep runs, and the bus the simulated tanks talk through (in process, or any broker over MQTT).
 *
 * @module
 */

export { PacketGuard } from "./_packet_guard.ts";
export { parseShare, type ShareName } from "./_shared_subscriptions.ts";
export {
  type AclBroker,
  controllerPublish,
  controllerSubscribe,
  installLiveAcl,
  LiveRoles,
  mosquittoAcl,
  reaches,
} from "./acl.ts";
export {
  BrokerError,
  type BrokerEvent,
  type BrokerOptions,
  EmbeddedBroker,
} from "./broker.ts";
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
} from "./bus.ts";
