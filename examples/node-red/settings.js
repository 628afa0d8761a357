// Node-RED settings for running flows.json headless: no editor, no admin
// API, no HTTP port at all. Used by run.sh; see README.md.
//
// The broker node in flows.json says ${MQTT_HOST} and ${MQTT_PORT}. They
// are worked out here from MQTT_URL (default mqtt://127.0.0.1:1883).
if (process.env.MQTT_URL || !process.env.MQTT_HOST) {
  const url = new URL(process.env.MQTT_URL || "mqtt://127.0.0.1:1883");
  process.env.MQTT_HOST = url.hostname || "127.0.0.1";
  process.env.MQTT_PORT = url.port || "1883";
}
process.env.MQTT_PORT = process.env.MQTT_PORT || "1883";

module.exports = {
  flowFile: "flows.json", // inside --userDir (run.sh copies it there)
  credentialSecret: false,
  flowFilePretty: true,

  // Headless: with both roots false Node-RED opens no HTTP server.
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  uiHost: "127.0.0.1", // only matters if someone turns HTTP back on

  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false },
  logging: {
    console: {
      level: process.env.NODE_RED_LOG_LEVEL || "info",
      metrics: false,
      audit: false,
    },
  },
  functionExternalModules: false,
  exportGlobalContextKeys: false,
};
