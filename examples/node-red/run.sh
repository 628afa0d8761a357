#!/usr/bin/env bash
# Runs the thermostat flow (flows.json) in a headless Node-RED, as a
# controller for the grader:
#   deno task challenge --controller "bash examples/node-red/run.sh"
# Broker from MQTT_URL (default mqtt://127.0.0.1:1883).
# Node-RED from NODE_RED_DIR (the node-red package folder holding red.js, or
# a folder with node_modules/node-red in it), otherwise `npx -y node-red@4`.

HERE=$(cd "$(dirname "$0")" && pwd)

# A fresh user directory every run: the grader may run us as a user whose
# HOME is not writable, and runs must not share context or state.
USERDIR=$(mktemp -d "${TMPDIR:-/tmp}/node-red-fishtank.XXXXXX") || exit 1
cp "$HERE/flows.json" "$USERDIR/flows.json"
ARGS=(--settings "$HERE/settings.js" --userDir "$USERDIR" --no-telemetry)

RED_JS=""
if [ -n "${NODE_RED_DIR:-}" ]; then
  for f in "$NODE_RED_DIR/red.js" "$NODE_RED_DIR/node_modules/node-red/red.js"; do
    [ -f "$f" ] && RED_JS=$f && break
  done
  [ -z "$RED_JS" ] && echo "run.sh: no red.js in NODE_RED_DIR=$NODE_RED_DIR" >&2
fi

if [ -n "$RED_JS" ]; then
  node "$RED_JS" "${ARGS[@]}" &
else
  # npx needs a cache it can write to; HOME may not be writable.
  if [ -z "${npm_config_cache:-}" ] && ! [ -w "${HOME:-/nonexistent}" ]; then
    export npm_config_cache="${TMPDIR:-/tmp}/npm-cache-$(id -u)"
  fi
  npx -y node-red@4 "${ARGS[@]}" &
fi
PID=$!

# Stop Node-RED and remove the user directory however we end.
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$USERDIR"' EXIT
trap 'exit 0' TERM INT HUP
wait $PID
