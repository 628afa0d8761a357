"""A simple controller for the simulated fish tank: a thermostat for the
heater, the air pump run on the oxygen reading, and the light on a timer.
Start the simulator, then run:

    python3 examples/thermostat.py

Settings come from environment variables: MQTT_URL (or MQTT_HOST and
MQTT_PORT), TANK_ID and TOPIC_ROOT. Needs paho-mqtt 1.6 or 2.x
(pip install paho-mqtt).
"""

import json
import os
import signal
import socket
import sys
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

url = urlparse(os.environ.get("MQTT_URL", ""))
HOST = url.hostname or os.environ.get("MQTT_HOST") or "127.0.0.1"
PORT = url.port or int(os.environ.get("MQTT_PORT") or 1883)
# Every topic of our tank starts with this, e.g. "fishtank/tank1".
TANK = (os.environ.get("TOPIC_ROOT") or "fishtank") + "/" + \
    (os.environ.get("TANK_ID") or "tank1")

# The range the fish need. The tank publishes it on ranges/temperature;
# until it arrives we assume 24-26 °C.
target = {"min": 24, "max": 26}
# What we last sent to each actuator. Empty at the start, so that the first
# decision is always sent.
sent = {}


def decide(value, low, high, now):
    """Hysteresis: "on" below low, "off" above high, and in between keep what
    we had, so the switch does not flick on and off around one set point.
    The first time, in between, pick by the middle."""
    if value < low:
        return "on"
    if value > high:
        return "off"
    return now or ("on" if value < (low + high) / 2 else "off")


def send(client, actuator, value, why):
    """Sends a command, but only when it changes what we sent before."""
    if sent.get(actuator) == value:
        return
    sent[actuator] = value
    client.publish(f"{TANK}/control/{actuator}", value, qos=1)
    print(f"{actuator} {value}: {why}")


def on_connect(client, userdata, flags, reason_code, properties=None):
    # paho 1.x calls this with 4 arguments, paho 2.x with 5: the default
    # value for `properties` makes one function fit both.
    if reason_code != 0:
        print(f"the broker refused the connection: {reason_code}")
        return
    # Send each small message at once instead of waiting to bundle it with
    # the next one (Nagle's algorithm): commands reach the tank sooner.
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(f"connected to {HOST}:{PORT}, controlling {TANK}")
    # The range first, so that a retained range arrives before the readings.
    client.subscribe([(f"{TANK}/ranges/temperature", 1),
                      (f"{TANK}/sensors/all", 1)])


def on_message(client, userdata, msg):
    try:
        data = json.loads(msg.payload)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        print(f"ignored a message on {msg.topic}: not a JSON object")
        return
    if msg.topic.endswith("/ranges/temperature"):
        # Either bound may be missing (null): then assume a range 2 °C wide.
        low, high = data.get("min"), data.get("max")
        if low is None:
            low = (26 if high is None else high) - 2
        if high is None:
            high = low + 2
        target["min"], target["max"] = low, high
        print(f"temperature range: {target['min']}-{target['max']} °C")
        return

    # A reading: {"time":"2026-01-15T06:00:10.000Z","t":10,"temperature":24.9,
    # "oxygen":8.1,...}; a value is None while its sensor has dropped out.
    clock = str(data.get("time"))[11:16]  # "06:00"
    # The tank heats slowly (60 L of water, 100 W: at most about 1.4 °C an
    # hour), so aim for the middle: heat below min + margin, stop above
    # max - margin (24.5 and 25.5 °C for a range of 24-26 °C).
    margin = (target["max"] - target["min"]) / 4
    low, high = target["min"] + margin, target["max"] - margin
    t = data.get("temperature")
    if isinstance(t, (int, float)):
        why = f"temperature {t} °C (heat below {low}, stop above {high})"
        send(client, "heater", decide(t, low, high, sent.get("heater")),
             f"{clock} {why}")
    o2 = data.get("oxygen")
    if isinstance(o2, (int, float)):
        send(client, "pump", decide(o2, 6.5, 7.5, sent.get("pump")),
             f"{clock} oxygen {o2} mg/L")
    if clock[:2].isdigit():
        day = 8 <= int(clock[:2]) < 20
        send(client, "light", "on" if day else "off",
             f"{clock} (lamp on 08:00-20:00)")

    # Tell the tank we have dealt with this reading.
    client.publish(f"{TANK}/ack", str(data.get("t")), qos=1)


# paho-mqtt 2 asks which style of callbacks we use; paho-mqtt 1.x has no
# such setting (and would not understand it).
if hasattr(mqtt, "CallbackAPIVersion"):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
else:
    client = mqtt.Client()
client.on_connect = on_connect
client.on_message = on_message


def stop(signum, frame):
    # Ctrl+C (SIGINT) or `kill` (SIGTERM): disconnect cleanly, which makes
    # loop_forever() below return.
    print("stopping")
    client.disconnect()


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
# Show each line at once, even when the output goes to a file or a program.
sys.stdout.reconfigure(line_buffering=True)

try:
    client.connect(HOST, PORT, keepalive=30)
except OSError as error:
    sys.exit(f"Cannot connect to {HOST}:{PORT}: {error}. "
             "Is the simulator running? Start it with: deno task sim")
client.loop_forever()
