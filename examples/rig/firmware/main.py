"""Firmware for a real fish tank on MQTT: MicroPython on a Raspberry Pi Pico W
or an ESP32, a DS18B20 temperature sensor in the water (one-wire), and a relay
that switches the heater. It publishes the same topics as a simulated tank
(fishtank/rig1/sensors/temperature, sensors/all, actuators, status) and obeys
the control topics, so the controllers written for the simulator run against
it unchanged.

Copy config_example.py to config.py, fill it in, then:

    mpremote cp main.py config.py :
    mpremote reset

The board runs main.py at every start. What it does:
- joins the Wi-Fi and the broker, with a last will that marks the tank
  "offline" on fishtank/rig1/status if it loses power or the network;
- every PUBLISH_PERIOD seconds reads the water temperature and publishes it;
- switches the heater relay on commands from fishtank/rig1/control/heater (or
  from another tank's control topics when fishtank/rig1/control_source names
  that tank), on/off or a power 0-100 spread over HEATER_WINDOW seconds;
- switches the heater off by itself when the water is too warm, when the
  sensor cannot be read, and while it has no broker (nobody is watching);
- tries again after a failure, waiting 1, 2, 4 ... up to 60 seconds.

The logic is in plain functions and a small class that gets its clock and
hardware handed in, so test_firmware.py tests it on a laptop with CPython.
"""

import binascii
import json
import time

import machine
import network
import onewire
import ds18x20
from umqtt.simple import MQTTClient

ACTUATORS = ("heater", "light", "pump", "topup")
ON_WORDS = ("on", "true", "1", "yes")
OFF_WORDS = ("off", "false", "0", "no")
OFFLINE = '{"state": "offline"}'


# ------------------------------------------------------------ pure logic

def topics(root, tank):
    """Every topic the rig uses, from the README's topic contract."""
    base = root + "/" + tank
    return {
        "base": base,
        "all": base + "/sensors/all",
        "temperature": base + "/sensors/temperature",
        "room_temperature": base + "/sensors/room_temperature",
        "actuators": base + "/actuators",
        "status": base + "/status",
        "errors": base + "/errors",
        "control_source": base + "/control_source",
        # Every tank's control topics: the rig may follow another tank's.
        "controls": root + "/+/control/+",
    }


def parse_command(actuator, text):
    """A command's value: the heater's power 0-1 (on/off, true/false, 1/0 or
    a percentage 0-100), True/False for the rest. ValueError if it is not
    one of these."""
    word = text.strip().strip('"').strip().lower()
    if word in ON_WORDS:
        return 1.0 if actuator == "heater" else True
    if word in OFF_WORDS:
        return 0.0 if actuator == "heater" else False
    if actuator != "heater":
        raise ValueError(actuator + ": expected on/off, got " + text[:40])
    percent = word.endswith("%")
    number = word[:-1].strip() if percent else word
    try:
        power = float(number)
    except ValueError:
        raise ValueError("heater: expected on/off or a power 0-100, got "
                         + text[:40])
    if not 0 <= power <= 100:
        raise ValueError("heater: power must be 0-100 %, got " + text[:40])
    if 0 < power < 1 and not percent:
        raise ValueError("heater power " + number + " is ambiguous: send a "
                         "percentage 0-100 (50 = half power)")
    return power / 100


def parse_control_all(text):
    """{"heater": true, "pump": "off"} -> {"heater": 1.0, "pump": False};
    every key valid, or ValueError and nothing applies."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data:
        raise ValueError('expected a JSON object like {"heater": true}, got '
                         + text[:40])
    commands = {}
    for key in data:
        if key not in ACTUATORS:
            raise ValueError("unknown actuator " + str(key))
        value = data[key]
        if value is True or value is False:
            value = "on" if value else "off"
        commands[key] = parse_command(key, str(value))
    return commands


def parse_control_source(text, own):
    """The tank whose control topics to obey: `own` for "self" or empty."""
    source = text.strip()
    if source in ("", "self"):
        return own
    for c in "/+#":
        if c in source:
            raise ValueError('expected a tank id or "self", got ' + text[:40])
    return source


def heater_relay_on(power, seconds, window):
    """Time-proportioning: a relay is on or off, so a power of 30 % is on
    for the first 30 % of every `window` seconds. `seconds` is the time since
    the start."""
    if power <= 0:
        return False
    if power >= 1:
        return True
    return (seconds % window) < power * window


def safe_power(power, water, limit):
    """The heater power to apply: none when the water temperature is unknown
    or at the limit, whatever the controller asked for."""
    if water is None or water >= limit:
        return 0.0
    return power


def backoff(attempt, first=1, most=60):
    """Seconds to wait before try number `attempt` (0, 1, 2 ...) after a
    failure: 1, 2, 4, 8 ... at most `most`, so a classroom of rigs does not
    hammer a broker that has just restarted."""
    return min(most, first * 2 ** min(attempt, 16))


def format_reading(value):
    """A reading as plain number text, like the simulated tank: 24.875."""
    return str(round(value, 4))


def iso_time(tm):
    """2026-01-15T06:00:10.000Z from a time.gmtime() tuple."""
    return "%04d-%02d-%02dT%02d:%02d:%02d.000Z" % tuple(tm[:6])


def readings_payload(time_iso, t, water, room=None, has_room=False):
    """sensors/all: the time, and a reading per fitted sensor (None, sent as
    null, when a sensor cannot be read)."""
    payload = {"time": time_iso, "t": t, "temperature": water}
    if has_room:
        payload["room_temperature"] = room
    return json.dumps(payload)


def actuators_payload(inputs, source):
    """actuators: what the rig applies, the heater as a percentage."""
    state = {"source": source}
    for name in ACTUATORS:
        state[name] = inputs[name]
    state["heater"] = round(inputs["heater"] * 1000) / 10
    return json.dumps(state)


def status_payload(state, source, t, time_iso):
    return json.dumps({"state": state, "rig": True, "firmware": "micropython",
                       "controlSource": source, "t": t, "time": time_iso})


def valid_temperature(value):
    """A DS18B20 reads 85.0 after a power glitch before its first conversion,
    and a broken wire can give nonsense: treat those as no reading."""
    if value is None or value == 85.0 or not -55 <= value <= 125:
        return None
    return value


def rom_hex(rom):
    """A sensor's 8-byte ROM code as text, for WATER_SENSOR_ROM."""
    return binascii.hexlify(bytes(rom)).decode()


# ------------------------------------------------------------ hardware

class Hardware:
    """The board: the one-wire bus with its DS18B20s, the relay pins, the
    Wi-Fi. Only this class touches machine, onewire, ds18x20 and network."""

    def __init__(self, config, sleep=time.sleep):
        self.config = config
        self.sleep = sleep
        self.sensors = ds18x20.DS18X20(
            onewire.OneWire(machine.Pin(config.ONEWIRE_PIN)))
        self.roms = []
        self.pins = {}
        for name, attr in (("heater", "HEATER_PIN"), ("light", "LIGHT_PIN"),
                           ("pump", "PUMP_PIN"), ("topup", "TOPUP_PIN")):
            number = getattr(config, attr, None)
            if number is not None:
                self.pins[name] = machine.Pin(number, machine.Pin.OUT)
                self.set_output(name, False)
        self.wlan = network.WLAN(network.STA_IF)

    def scan(self):
        """Finds the DS18B20s; the water's first."""
        roms = sorted(self.sensors.scan(), key=bytes)
        water = getattr(self.config, "WATER_SENSOR_ROM", None)
        if water:
            roms.sort(key=lambda rom: rom_hex(rom) != water)
        self.roms = roms
        print("DS18B20 sensors:", [rom_hex(r) for r in roms])
        return roms

    def read_temperatures(self):
        """(water, room) in °C, None for a sensor that gives no reading."""
        if not self.roms and not self.scan():
            return None, None
        values = []
        try:
            self.sensors.convert_temp()
            self.sleep(0.75)  # a 12-bit conversion takes up to 750 ms
            for rom in self.roms[:2]:
                try:
                    values.append(valid_temperature(
                        self.sensors.read_temp(rom)))
                except Exception:  # CRC error: a loose wire
                    values.append(None)
        except Exception as error:  # no presence pulse: no sensor at all
            print("one-wire:", error)
            self.roms = []
        values += [None, None]
        return values[0], values[1]

    def set_output(self, name, on):
        pin = self.pins.get(name)
        if pin is not None:
            low = getattr(self.config, "RELAY_ACTIVE_LOW", False)
            pin.value(0 if on == low else 1)

    def wifi_connect(self, timeout=20):
        """Joins the Wi-Fi; OSError if it does not succeed in time."""
        if self.wlan.isconnected():
            return
        self.wlan.active(True)
        self.wlan.connect(self.config.WIFI_SSID, self.config.WIFI_PASSWORD)
        for _ in range(timeout * 4):
            if self.wlan.isconnected():
                print("Wi-Fi:", self.wlan.ifconfig()[0])
                return
            self.sleep(0.25)
        raise OSError("cannot join Wi-Fi " + self.config.WIFI_SSID)


# ------------------------------------------------------------ the rig

class Rig:
    """The tank on MQTT: connects (with back-off), publishes readings every
    period, applies commands. `clock` gives seconds, `sleep` waits, and
    `gmtime` the calendar time: time's own on the board, fakes in tests."""

    def __init__(self, config, hardware, clock=time.time, sleep=time.sleep,
                 gmtime=time.gmtime, client_class=MQTTClient):
        self.config = config
        self.hw = hardware
        self.clock = clock
        self.sleep = sleep
        self.gmtime = gmtime
        self.client_class = client_class
        self.tank = config.TANK_ID
        self.topics = topics(config.TOPIC_ROOT, config.TANK_ID)
        self.source = self.tank
        self.inputs = {"heater": 0.0, "light": False, "pump": False,
                       "topup": False}
        self.water = None
        self.room = None
        self.client = None
        self.start = clock()
        self.next_reading = self.start
        self.last_sent = self.start

    def t(self):
        return int(self.clock() - self.start)

    def now_iso(self):
        return iso_time(self.gmtime())

    # -- connection

    def connect(self):
        """One try: Wi-Fi, broker, last will, subscriptions, status online."""
        c = self.config
        self.hw.wifi_connect()
        client = self.client_class(
            "rig-" + self.tank, c.MQTT_HOST, port=c.MQTT_PORT,
            user=getattr(c, "MQTT_USERNAME", None),
            password=getattr(c, "MQTT_PASSWORD", None), keepalive=30)
        client.set_callback(self.on_message)
        # Set before connect: the broker keeps it and publishes it for us
        # when we vanish (power cut, Wi-Fi gone, crash).
        client.set_last_will(self.topics["status"], OFFLINE, retain=True,
                             qos=1)
        client.connect()
        self.client = client
        # Retained: the current control source arrives at once.
        client.subscribe(self.topics["control_source"], qos=1)
        client.subscribe(self.topics["controls"], qos=1)
        self.publish_status("online")
        self.publish_actuators()
        print("connected to", c.MQTT_HOST, "as", self.topics["base"])

    def connect_with_backoff(self, attempts=None):
        """Tries until connected (or `attempts` tries), waiting longer after
        each failure. The heater is off while there is no broker."""
        attempt = 0
        while attempts is None or attempt < attempts:
            try:
                self.connect()
                return True
            except Exception as error:  # OSError, or the broker refusing
                self.disconnected()
                wait = backoff(attempt)
                print("cannot connect:", error, "- again in", wait, "s")
                self.sleep(wait)
                attempt += 1
        return False

    def disconnected(self):
        """Lost the broker: no controller can watch the heater, so it is off
        until the rig is back (then the last command applies again)."""
        if self.client is not None:
            try:
                self.client.sock.close()
            except Exception:
                pass
        self.client = None
        self.apply_outputs()

    # -- messages

    def on_message(self, topic, msg):
        topic = topic.decode() if isinstance(topic, bytes) else topic
        text = msg.decode() if isinstance(msg, bytes) else msg
        if topic == self.topics["control_source"]:
            try:
                source = parse_control_source(text, self.tank)
            except ValueError as error:
                self.refuse(topic, str(error))
                return
            if source != self.source:
                self.source = source
                print("taking commands from", source)
                self.publish_status("online")
                self.publish_actuators()
            return
        # {root}/{tank}/control/{actuator}, only from the tank we follow.
        parts = topic[len(self.config.TOPIC_ROOT) + 1:].split("/")
        if len(parts) != 3 or parts[0] != self.source:
            return
        try:
            if parts[2] == "all":
                commands = parse_control_all(text)
            elif parts[2] in ACTUATORS:
                commands = {parts[2]: parse_command(parts[2], text)}
            else:
                raise ValueError("unknown actuator " + parts[2])
        except ValueError as error:
            self.refuse(topic, str(error))
            return
        for name in commands:
            self.inputs[name] = commands[name]
        self.apply_outputs()
        self.publish_actuators()

    def refuse(self, topic, error):
        print("refused", topic, error)
        self.send(self.topics["errors"], json.dumps(
            {"time": self.now_iso(), "t": self.t(), "topic": topic,
             "error": error}))

    # -- outputs and publishing

    def apply_outputs(self):
        power = 0.0 if self.client is None else safe_power(
            self.inputs["heater"], self.water,
            self.config.MAX_WATER_TEMPERATURE)
        self.hw.set_output("heater", heater_relay_on(
            power, self.clock() - self.start, self.config.HEATER_WINDOW))
        for name in ("light", "pump", "topup"):
            self.hw.set_output(name, self.inputs[name])

    def send(self, topic, payload, retain=False):
        # QoS 0: umqtt.simple waits for a QoS 1 acknowledgement inside
        # publish() and may run our callback meanwhile.
        if self.client is not None:
            self.client.publish(topic, payload, retain=retain)
            self.last_sent = self.clock()

    def publish_status(self, state):
        self.send(self.topics["status"], status_payload(
            state, self.source, self.t(), self.now_iso()), retain=True)

    def publish_actuators(self):
        self.send(self.topics["actuators"],
                  actuators_payload(self.inputs, self.source), retain=True)

    def publish_readings(self):
        has_room = getattr(self.config, "ROOM_SENSOR", False)
        self.water, self.room = self.hw.read_temperatures()
        # sensors/all first, as the simulated tank does.
        self.send(self.topics["all"], readings_payload(
            self.now_iso(), self.t(), self.water, self.room, has_room),
            retain=True)
        # A sensor that cannot be read goes silent on its own topic.
        if self.water is not None:
            self.send(self.topics["temperature"],
                      format_reading(self.water), retain=True)
        if has_room and self.room is not None:
            self.send(self.topics["room_temperature"],
                      format_reading(self.room), retain=True)

    def loop_once(self):
        """One turn of the main loop: messages, a reading when due, the
        relay, a ping when quiet. Reconnects after a network error."""
        try:
            if self.client is None:
                self.connect_with_backoff()
            self.client.check_msg()
            now = self.clock()
            if now >= self.next_reading:
                self.next_reading = now + self.config.PUBLISH_PERIOD
                self.publish_readings()
            self.apply_outputs()
            if self.clock() - self.last_sent >= 15:
                self.client.ping()
                self.last_sent = self.clock()
        except OSError as error:
            print("lost the broker:", error)
            self.disconnected()
            return
        self.sleep(0.2)

    def run(self):
        self.hw.scan()
        while True:
            self.loop_once()


def main():
    import config
    hardware = Hardware(config)
    try:
        import ntptime  # the calendar time for the readings' "time"
        hardware.wifi_connect()
        ntptime.settime()
    except Exception as error:
        print("no network time yet:", error)
    Rig(config, hardware).run()


if __name__ == "__main__":
    main()
