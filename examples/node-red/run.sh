#!/usr/bin/env bash
# Runs the thermostat flow (flows.json) in a headless Node-RED, as a
# controller for the grader:
#   deno task challenge --controller "bash examples/node-red/run.sh"
# Broker from MQTT_URL (default mqtt://127.0.0.1:1883).
# Node-RED from NODE_RED_DIR (the node-red package folder holding red.js, or
# a folder with node_modules/node-red in it), otherwise `npx -y node-red@4`
# (downloaded to the npm cache on first use: about a minute). The grader
# gives controllers a clean environment, so set it in the command itself:
#   --controller "NODE_RED_DIR=/path/to/node-red bash examples/node-red/run.sh"
# FLOWS=path/to/flows.json runs another flow (a student's export) instead of
# the example's.

HERE=$(cd "$(dirname "$0")" && pwd)

# A fresh user directory every run: the grader may run us as a user whose
# HOME is not writable, and runs must not share context or state.
USERDIR=$(mktemp -d "${TMPDIR:-/tmp}/node-red-fishtank.XXXXXX") || exit 1
FLOWS=${FLOWS:-$HERE/flows.json}
if [ ! -f "$FLOWS" ]; then echo "run.sh: no flow file $FLOWS (FLOWS=…)" >&2; exit 2; fi
cp "$FLOWS" "$USERDIR/flows.json"
# Stop Node-RED and remove the user directory however we end.
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null && wait $PID 2>/dev/null; rm -rf "$USERDIR"' EXIT
trap 'exit 0' TERM INT HUP
ARGS=(--settings "$HERE/settings.js" --userDir "$USERDIR" --no-telemetry)

RED_JS=""
if [ -n "${NODE_RED_DIR:-}" ]; then
  for f in "$NODE_RED_DIR/red.js" "$NODE_RED_DIR/node_modules/node-red/red.js"; do
    [ -f "$f" ] && RED_JS=$f && break
  done
  [ -z "$RED_JS" ] && echo "run.sh: no red.js in NODE_RED_DIR=$NODE_RED_DIR" >&2
fi

if [ -z "$RED_JS" ]; then
  # npx needs a cache it can write to; HOME may not be writable.
  if [ -z "${npm_config_cache:-}" ] && ! [ -w "${HOME:-/nonexistent}" ]; then
    export npm_config_cache="${TMPDIR:-/tmp}/npm-cache-$(id -u)"
  fi
  # Only ask npx where node-red is (downloading it the first time), then
  # start it ourselves, so that stopping this script stops Node-RED too.
  BIN=$(npx -y -p node-red@4 -c 'command -v node-red') || exit 1
  RED_JS=$(readlink -f "$BIN")
fi
# Under the grader's 1 GiB address-space limit, glibc's per-thread malloc
# arenas (128 MiB of address space each) make Node-RED abort at start.
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
node --max-old-space-size=256 "$RED_JS" "${ARGS[@]}" &
PID=$!
wait $PID
