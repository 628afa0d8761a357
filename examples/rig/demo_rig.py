"""A demo rig: a software stand-in for a real fish tank, for a class without
hardware. It is an MQTT client that publishes the same topics as a simulated
tank (readings, actuators, status) under its own tank id, and obeys the
control topics, with simple physics: the water warms with the heater and cools
toward the room, the pump keeps the oxygen up, the lamp lights the water, the
water evaporates and the top-up valve refills it.

    deno task sim --rig rig1                      # in one terminal
    python3 examples/rig/demo_rig.py --tank rig1  # in another

The rig follows another tank's controller when its retained
{root}/{tank}/control_source names that tank (as simulated tanks do):

    mosquitto_pub -r -t fishtank/rig1/control_source -m tank1   # follow tank1
    mosquitto_pub -r -t fishtank/rig1/control_source -m self    # its own again

Needs paho-mqtt 1.6 or 2.x (pip install paho-mqtt, or on Debian and Ubuntu
sudo apt install python3-paho-mqtt). Run with --help for every option.
"""

import argparse
import datetime
import json
import math
import os
import random
import signal
import socket
import sys
import threading
import time

import paho.mqtt.client as mqtt

ACTUATORS = ("heater", "light", "pump", "topup")
SENSORS = ("temperature", "room_temperature", "ph", "oxygen", "light",
           "level")
ON_WORDS = ("on", "true", "1", "yes")
OFF_WORDS = ("off", "false", "0", "no")


# ---------------------------------------------------------------- physics

class Tank:
    """The rig's water, in the same units as the simulated tank. Simpler than
    the simulator's physics, but with the same sizes: 60 L, a 100 W heater
    (at most about 1.4 K an hour), cooling toward the room over about 12
    hours."""

    VOLUME_L = 60.0          # litres of water: 60 kg
    HEAT_CAPACITY = 4186.0   # J/(kg K), water
    HEATER_W = 100.0         # heater power at 100 %
    UA = 5.7                 # W/K lost through glass and surface
    SURFACE_M2 = 0.18        # 60 x 30 cm
    MAX_LEVEL_CM = 34.0
    TOPUP_L_PER_MIN = 1.0
    EVAPORATION_CM_PER_H = 0.02
    LAMP_LUX = 800.0

    def __init__(self, water=23.0, room=21.0, noise=0.0, seed=None):
        self.water = water       # °C
        self.room = room         # °C
        self.oxygen = 7.5        # mg/L
        self.ph = 7.8
        self.level = 33.0        # cm
        self.noise = noise       # standard deviation of sensor noise, °C
        self.random = random.Random(seed)
        # What the actuators are doing: heater power 0-1, the rest on/off.
        self.inputs = {"heater": 0.0, "light": False, "pump": False,
                       "topup": False}

    def step(self, dt):
        """Advances the water by dt simulated seconds (call with dt <= 1)."""
        mass = self.VOLUME_L * self.level / self.MAX_LEVEL_CM
        heat = (self.HEATER_W * self.inputs["heater"]
                - self.UA * (self.water - self.room))
        self.water += heat * dt / (mass * self.HEAT_CAPACITY)
        # Oxygen moves toward saturation (less in warm water), much faster
        # with the air pump; the fish use some all the time.
        saturation = 14.6 - 0.39 * self.water + 0.007 * self.water ** 2
        rate = (3.0 if self.inputs["pump"] else 0.1) / 3600
        self.oxygen += dt * (rate * (saturation - self.oxygen) - 0.3 / 3600)
        # The pump strips CO2, so the pH rises a little while it runs.
        target_ph = 7.9 if self.inputs["pump"] else 7.6
        self.ph += (target_ph - self.ph) * dt / 7200
        self.level -= self.EVAPORATION_CM_PER_H * dt / 3600
        if self.inputs["topup"]:
            litres = self.TOPUP_L_PER_MIN * dt / 60
            self.level += litres / 1000 / self.SURFACE_M2 * 100
        self.level = min(self.level, self.MAX_LEVEL_CM)

    def readings(self, hour):
        """What the sensors show at this hour of the day (0-24)."""
        daylight = 60.0 * max(0.0, math.sin((hour - 6) / 14 * math.pi)) \
            if 6 <= hour <= 20 else 0.0
        water = self.water + self.random.gauss(0, self.noise) \
            if self.noise else self.water
        return {
            # A DS18B20 reads in steps of 1/16 °C, like the simulator's sensor.
            "temperature": round(water * 16) / 16,
            "room_temperature": round(self.room, 2),
            "ph": round(self.ph, 2),
            "oxygen": round(self.oxygen, 2),
            "light": round(daylight +
                           (self.LAMP_LUX if self.inputs["light"] else 0)),
            "level": round(self.level, 2),
        }


# ---------------------------------------------------------------- commands

def parse_command(actuator, text):
    """The value a command asks for, as the simulated tank reads it: the
    heater's power 0-1 (on/off, true/false, 1/0, or a percentage 0-100),
    True/False for the rest. Raises ValueError with the reason."""
    word = text.strip().strip('"').strip().lower()
    if word in ON_WORDS:
        return 1.0 if actuator == "heater" else True
    if word in OFF_WORDS:
        return 0.0 if actuator == "heater" else False
    if actuator != "heater":
        raise ValueError(f"{actuator}: expected on/off, true/false or 1/0, "
                         f"got {text[:40]!r}")
    number = word[:-1].strip() if word.endswith("%") else word
    try:
        power = float(number)
    except ValueError:
        raise ValueError(f"heater: expected on/off or a power 0-100, "
                         f"got {text[:40]!r}") from None
    if not 0 <= power <= 100 or math.isnan(power):
        raise ValueError(f"heater: power must be between 0 and 100 %, "
                         f"got {text[:40]!r}")
    if 0 < power < 1 and not word.endswith("%"):
        raise ValueError(f"heater power {number} is ambiguous: send a "
                         f"percentage 0-100 (50 = half power)")
    return power / 100


def parse_control_all(text):
    """{"heater": true, "pump": "off"} -> {"heater": 1.0, "pump": False}:
    every key valid, or ValueError and none applies."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data:
        raise ValueError('expected a JSON object like {"heater": true, '
                         f'"pump": false}}, got {text[:40]!r}')
    commands = {}
    for key, value in data.items():
        if key not in ACTUATORS:
            raise ValueError(f"unknown actuator {key!r} (expected "
                             f"{', '.join(ACTUATORS)})")
        if isinstance(value, bool):
            value = "on" if value else "off"
        commands[key] = parse_command(key, str(value))
    return commands


# ---------------------------------------------------------------- the rig

class Rig:
    """The MQTT side: publishes the tank's readings every period, applies
    commands from the tank whose control topics it follows."""

    def __init__(self, args):
        self.args = args
        self.base = f"{args.topic_root}/{args.tank}"
        self.tank = Tank(water=args.water, room=args.room, noise=args.noise,
                         seed=args.seed)
        self.source = args.control_from or args.tank
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.t = 0.0  # simulated seconds since the start
        self.start = datetime.datetime.now(datetime.timezone.utc) \
            .replace(microsecond=0)
        self.last_actuators = None
        # paho-mqtt 2 asks which style of callbacks we use; 1.x has no such
        # setting (and would not understand it).
        client_id = f"rig-{args.tank}-{os.getpid()}"
        if hasattr(mqtt, "CallbackAPIVersion"):
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                      client_id=client_id)
        else:
            self.client = mqtt.Client(client_id=client_id)
        if args.username:
            self.client.username_pw_set(args.username, args.password)
        # The broker publishes this for us if we vanish without saying
        # goodbye (power cut, crash, kill -9, network gone).
        self.client.will_set(f"{self.base}/status",
                             json.dumps({"state": "offline"}),
                             qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message

    # -- MQTT callbacks (paho's network thread)

    def on_connect(self, client, userdata, flags, reason_code,
                   properties=None):
        # paho 1.x calls this with 4 arguments, paho 2.x with 5.
        if reason_code != 0:
            print(f"the broker refused the connection: {reason_code}")
            return
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        root = self.args.topic_root
        client.subscribe([(f"{self.base}/control_source", 1),
                          (f"{root}/+/control/+", 1)])
        with self.lock:
            self.publish_status("online")
            self.last_actuators = None
            self.publish_actuators()
        print(f"connected to {self.args.host}:{self.args.port} as "
              f"{self.base}, {self.following()}")

    def on_disconnect(self, client, userdata, *args):
        # paho 1.x: (rc); paho 2.x: (flags, reason_code, properties).
        if not self.stopping.is_set():
            print("lost the broker; reconnecting")

    def on_message(self, client, userdata, msg):
        text = msg.payload.decode("utf-8", "replace")
        with self.lock:
            if msg.topic == f"{self.base}/control_source":
                self.on_control_source(msg.topic, text)
                return
            # {root}/{tank}/control/{actuator}: only the tank we follow.
            parts = msg.topic[len(self.args.topic_root) + 1:].split("/")
            if len(parts) != 3 or parts[0] != self.source:
                return
            try:
                if parts[2] == "all":
                    commands = parse_control_all(text)
                elif parts[2] in ACTUATORS:
                    commands = {parts[2]: parse_command(parts[2], text)}
                else:
                    raise ValueError(f"unknown actuator {parts[2]!r}: "
                                     f"expected {', '.join(ACTUATORS)} or all")
            except ValueError as error:
                self.refuse(msg.topic, str(error))
                return
            self.tank.inputs.update(commands)
            for name, value in commands.items():
                shown = f"{value * 100:g} %" if name == "heater" else \
                    ("on" if value else "off")
                print(f"{name} {shown} (from {msg.topic})")
            self.publish_actuators()

    def on_control_source(self, topic, text):
        source = text.strip()
        if source in ("", "self"):
            source = self.args.tank
        if any(c in source for c in "/+#"):
            self.refuse(topic, f'expected a tank id or "self", '
                        f'got {text[:40]!r}')
            return
        if source == self.source:
            return
        self.source = source
        print(f"now {self.following()}")
        self.last_actuators = None
        self.publish_actuators()
        self.publish_status("online")

    def following(self):
        if self.source == self.args.tank:
            return "obeying its own control topics"
        return f"following {self.source}'s control topics"

    # -- publishing

    def now(self):
        return self.start + datetime.timedelta(seconds=self.t)

    def iso(self):
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{self.now().microsecond // 1000:03d}Z"

    def publish_readings(self):
        now = self.now()
        readings = self.tank.readings(now.hour + now.minute / 60)
        payload = {"time": self.iso(), "t": round(self.t)}
        payload.update(readings)
        if self.args.layout == "olp":
            # The original kit's field names beside ours, as deno task sim
            # --layout olp publishes them: its programs read these.
            payload["lux"] = readings["light"]
            payload["ambient_temperature"] = readings["room_temperature"]
            payload["humidity"] = readings["oxygen"]
        # sensors/all first, as the simulated tank does: most controllers
        # wait for it.
        self.client.publish(f"{self.base}/sensors/all", json.dumps(payload),
                            qos=1, retain=True)
        for name in SENSORS:
            self.client.publish(f"{self.base}/sensors/{name}",
                                f"{readings[name]:g}", qos=1, retain=True)
        self.client.publish(f"{self.base}/clock", json.dumps(
            {"time": payload["time"], "t": payload["t"],
             "speed": self.args.speed}))

    def publish_actuators(self):
        state = dict(self.tank.inputs)
        state["heater"] = round(state["heater"] * 1000) / 10
        state["source"] = self.source
        text = json.dumps(state)
        if text != self.last_actuators:
            self.last_actuators = text
            self.client.publish(f"{self.base}/actuators", text, qos=1,
                                retain=True)

    def publish_status(self, state):
        return self.client.publish(f"{self.base}/status", json.dumps({
            "state": state, "rig": True, "speed": self.args.speed,
            "time": self.iso(), "t": round(self.t),
            "controlSource": self.source}), qos=1, retain=True)

    def refuse(self, topic, error):
        print(f"refused {topic}: {error}")
        self.client.publish(f"{self.base}/errors", json.dumps(
            {"time": self.iso(), "t": round(self.t), "topic": topic,
             "error": error}))

    # -- the main loop

    def run(self):
        args = self.args
        try:
            self.client.connect(args.host, args.port, keepalive=30)
        except OSError as error:
            sys.exit(f"Cannot connect to {args.host}:{args.port}: {error}. "
                     "Is the broker running? Start one with: "
                     f"deno task sim --rig {args.tank}")
        self.client.loop_start()
        wall_start = time.monotonic()
        while not self.stopping.is_set():
            with self.lock:
                # Whole 1-second physics steps up to the next reading.
                for _ in range(int(args.period)):
                    self.tank.step(1.0)
                self.t += args.period
                if self.client.is_connected():
                    self.publish_readings()
            # Keep pace with the wall clock at `speed` simulated seconds per
            # second; a late step is caught up at once.
            due = wall_start + self.t / args.speed
            self.stopping.wait(max(0.0, due - time.monotonic()))
        with self.lock:
            info = self.publish_status("offline")
        try:
            info.wait_for_publish(timeout=3)
        except (RuntimeError, ValueError):
            pass  # not connected: the last will says "offline" for us
        self.client.disconnect()
        self.client.loop_stop()
        print("stopped")


DESCRIPTION = """\
A demo rig: a software fish tank that publishes its readings on MQTT like a
real one (the same topics as a simulated tank, under its own tank id) and
obeys heater, light, pump and top-up commands. Start the simulator with the
rig declared, then the rig:

  deno task sim --rig rig1
  python3 examples/rig/demo_rig.py --tank rig1

To make it follow another tank's controller, publish that tank's id retained
on {root}/{tank}/control_source ("self" hands it back to its own topics):

  mosquitto_pub -r -t fishtank/rig1/control_source -m tank1"""

EPILOG = """\
Environment: MQTT_HOST, MQTT_PORT, MQTT_USERNAME, MQTT_PASSWORD, TANK_ID and
TOPIC_ROOT give the defaults of the options of the same meaning. Stop with
Ctrl+C: the rig publishes its status "offline" (if it is killed instead, the
broker does, through the rig's last will)."""


def main():
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tank", default=env("TANK_ID") or "rig1",
                        help="the rig's tank id (default: %(default)s)")
    parser.add_argument("--host", default=env("MQTT_HOST") or "127.0.0.1",
                        help="the broker (default: %(default)s)")
    parser.add_argument("--port", type=int,
                        default=int(env("MQTT_PORT") or 1883),
                        help="the broker's port (default: %(default)s)")
    parser.add_argument("--username", default=env("MQTT_USERNAME"),
                        help="broker user name, e.g. the rig's own with "
                        "deno task sim --lock (default: $MQTT_USERNAME)")
    parser.add_argument("--password", default=env("MQTT_PASSWORD"),
                        help="broker password (default: $MQTT_PASSWORD; "
                        "prefer the variable: a command line is visible to "
                        "other users)")
    parser.add_argument("--topic-root", default=env("TOPIC_ROOT"),
                        help="first topic levels (default: fishtank; "
                        "OLP/device/tank with --layout olp)")
    parser.add_argument("--layout", choices=("fishtank", "olp"),
                        default="fishtank",
                        help="olp: the original kit's layout, as deno task "
                        "sim --layout olp: root OLP/device/tank and the "
                        "kit's field names (lux, ambient_temperature, "
                        "humidity) in sensors/all too (default: "
                        "%(default)s)")
    parser.add_argument("--control-from", metavar="TANK",
                        help="follow this tank's control topics from the "
                        "start (default: its own; a retained control_source "
                        "overrides it)")
    parser.add_argument("--speed", type=float, default=60,
                        help="simulated seconds per wall second, like "
                        "deno task sim's (default: %(default)s; 1 = real "
                        "time)")
    parser.add_argument("--period", type=int, default=10,
                        help="simulated seconds between readings "
                        "(default: %(default)s)")
    parser.add_argument("--water", type=float, default=23.0,
                        help="water temperature at the start, °C "
                        "(default: %(default)s)")
    parser.add_argument("--room", type=float, default=21.0,
                        help="room temperature, °C (default: %(default)s)")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="temperature sensor noise, °C standard "
                        "deviation (default: %(default)s)")
    parser.add_argument("--seed", type=int, help="seed for the noise")
    args = parser.parse_args()
    if not args.topic_root:
        args.topic_root = "OLP/device/tank" if args.layout == "olp" \
            else "fishtank"
    if args.speed <= 0 or args.period < 1:
        parser.error("--speed must be above 0 and --period at least 1")
    if not args.tank or any(c in args.tank for c in "/+#"):
        parser.error("--tank must be one topic level (no /, + or #)")

    # Show each line at once, even when the output goes to a file.
    sys.stdout.reconfigure(line_buffering=True)
    rig = Rig(args)

    def stop(signum, frame):
        rig.stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    rig.run()


if __name__ == "__main__":
    main()
