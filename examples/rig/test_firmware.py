"""Tests of the rig firmware's logic (firmware/main.py) on a laptop, with
CPython and no board: small stand-ins for MicroPython's machine, onewire,
ds18x20, network and umqtt.simple record what the firmware does with them.

    python3 examples/rig/test_firmware.py

These are unit tests of the firmware's own decisions (which topics, which
payloads, when the relay switches, what happens when the network goes). The
demo rig and a real broker are tested by tests/rig_examples_test.ts.
"""

import json
import os
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "firmware"))


# ------------------------------------------------------------ stand-ins

class FakePin:
    """machine.Pin: remembers the level of each pin by number."""
    OUT = 1
    IN = 0
    levels = {}

    def __init__(self, number, mode=None):
        self.number = number

    def value(self, level=None):
        if level is None:
            return FakePin.levels.get(self.number, 0)
        FakePin.levels[self.number] = level


class FakeOneWire:
    def __init__(self, pin):
        self.pin = pin


class FakeDS18X20:
    """ds18x20.DS18X20 with the sensors a test puts on the wire."""
    temperatures = {}    # ROM bytes -> °C, or an exception to raise
    bus_error = None     # raised by convert_temp: no sensor answers

    def __init__(self, onewire):
        self.onewire = onewire

    def scan(self):
        return [bytearray(rom) for rom in FakeDS18X20.temperatures]

    def convert_temp(self):
        if FakeDS18X20.bus_error is not None:
            raise FakeDS18X20.bus_error

    def read_temp(self, rom):
        value = FakeDS18X20.temperatures[bytes(rom)]
        if isinstance(value, Exception):
            raise value
        return value


class FakeWLAN:
    reachable = True

    def __init__(self, interface):
        self.connected = False

    def active(self, on=None):
        return True

    def connect(self, ssid, password):
        self.connected = FakeWLAN.reachable

    def isconnected(self):
        return self.connected

    def ifconfig(self):
        return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "8.8.8.8")


class FakeBroker:
    """What the fake umqtt clients did, and what they will be made to do."""

    def __init__(self):
        self.calls = []          # ("will"/"connect"/"subscribe", ...)
        self.published = []      # (topic, payload text, retain)
        self.inbox = []          # (topic, payload) for check_msg
        self.refuse_connects = 0
        self.drop_on_check = False
        self.clients = []

    def client_class(self, client_id, server, port=0, user=None,
                     password=None, keepalive=0):
        client = FakeMQTTClient(self, client_id, server, port, user,
                                password, keepalive)
        self.clients.append(client)
        return client

    def last(self, topic):
        for t, payload, retain in reversed(self.published):
            if t == topic:
                return payload, retain
        return None

    def topics(self):
        return [t for t, _, _ in self.published]


class FakeSocket:
    def close(self):
        pass


class FakeMQTTClient:
    """umqtt.simple.MQTTClient's calls, recorded on a FakeBroker."""

    def __init__(self, broker, client_id, server, port, user, password,
                 keepalive):
        self.broker = broker
        self.args = (client_id, server, port, user, password, keepalive)
        self.callback = None
        self.sock = FakeSocket()

    def set_callback(self, callback):
        self.callback = callback

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.broker.calls.append(("will", topic, msg, retain, qos))

    def connect(self, clean_session=True):
        if self.broker.refuse_connects > 0:
            self.broker.refuse_connects -= 1
            raise OSError(113, "ECONNABORTED")
        self.broker.calls.append(("connect", self.args))
        return False

    def subscribe(self, topic, qos=0):
        self.broker.calls.append(("subscribe", topic, qos))

    def publish(self, topic, msg, retain=False, qos=0):
        self.broker.published.append((topic, msg, retain))

    def check_msg(self):
        if self.broker.drop_on_check:
            self.broker.drop_on_check = False
            raise OSError(104, "ECONNRESET")
        while self.broker.inbox:
            topic, msg = self.broker.inbox.pop(0)
            self.callback(topic.encode(), msg.encode())

    def ping(self):
        self.broker.calls.append(("ping",))


def install_fakes():
    machine = types.ModuleType("machine")
    machine.Pin = FakePin
    onewire = types.ModuleType("onewire")
    onewire.OneWire = FakeOneWire
    ds18x20 = types.ModuleType("ds18x20")
    ds18x20.DS18X20 = FakeDS18X20
    network = types.ModuleType("network")
    network.STA_IF = 0
    network.WLAN = FakeWLAN
    umqtt = types.ModuleType("umqtt")
    simple = types.ModuleType("umqtt.simple")
    simple.MQTTClient = FakeMQTTClient
    umqtt.simple = simple
    sys.modules.update({"machine": machine, "onewire": onewire,
                        "ds18x20": ds18x20, "network": network,
                        "umqtt": umqtt, "umqtt.simple": simple})


install_fakes()
import config_example  # noqa: E402 (after the stand-ins, like main)
import main as firmware  # noqa: E402

WATER_ROM = b"\x28\x01\x00\x00\x00\x00\x00\xaa"
ROOM_ROM = b"\x28\x02\x00\x00\x00\x00\x00\xbb"
HEATER = "fishtank/rig1/control/heater"


class Clock:
    """A clock that moves only when the firmware sleeps (or a test says)."""

    def __init__(self):
        self.now = 1_000_000.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def gmtime(self):
        return (2026, 1, 15, 6, 0, 10, 3, 15)


class FirmwareTest(unittest.TestCase):
    def setUp(self):
        FakePin.levels = {}
        FakeDS18X20.temperatures = {WATER_ROM: 24.5625}
        FakeDS18X20.bus_error = None
        FakeWLAN.reachable = True
        self.config = types.SimpleNamespace(**{
            name: getattr(config_example, name)
            for name in dir(config_example) if name.isupper()})
        self.config.MQTT_HOST = "127.0.0.1"
        self.broker = FakeBroker()
        self.clock = Clock()

    def rig(self):
        hardware = firmware.Hardware(self.config, sleep=self.clock.sleep)
        hardware.scan()
        return firmware.Rig(self.config, hardware, clock=self.clock.time,
                            sleep=self.clock.sleep, gmtime=self.clock.gmtime,
                            client_class=self.broker.client_class)

    def heater_relay(self):
        return FakePin.levels.get(self.config.HEATER_PIN)

    def command(self, rig, topic, payload):
        self.broker.inbox.append((topic, payload))
        rig.loop_once()

    # -- publishing

    def test_sets_the_last_will_offline_retained_before_connecting(self):
        rig = self.rig()
        rig.loop_once()
        kinds = [call[0] for call in self.broker.calls]
        self.assertLess(kinds.index("will"), kinds.index("connect"))
        self.assertIn(("will", "fishtank/rig1/status",
                       '{"state": "offline"}', True, 1), self.broker.calls)

    def test_publishes_status_readings_and_actuators_on_contract_topics(self):
        rig = self.rig()
        rig.loop_once()
        status, retained = self.broker.last("fishtank/rig1/status")
        self.assertTrue(retained)
        self.assertEqual(json.loads(status)["state"], "online")
        self.assertEqual(json.loads(status)["controlSource"], "rig1")
        self.assertEqual(self.broker.last("fishtank/rig1/sensors/temperature"),
                         ("24.5625", True))
        text, retained = self.broker.last("fishtank/rig1/sensors/all")
        self.assertTrue(retained)
        self.assertEqual(json.loads(text), {
            "time": "2026-01-15T06:00:10.000Z", "t": 0,
            "temperature": 24.5625})
        actuators = json.loads(self.broker.last("fishtank/rig1/actuators")[0])
        self.assertEqual(actuators, {"heater": 0.0, "light": False,
                                     "pump": False, "topup": False,
                                     "source": "rig1"})
        # sensors/all before the single reading, as the simulated tank does.
        topics = self.broker.topics()
        self.assertLess(topics.index("fishtank/rig1/sensors/all"),
                        topics.index("fishtank/rig1/sensors/temperature"))

    def test_subscribes_to_control_source_and_control_topics(self):
        self.rig().loop_once()
        subscribed = [c[1] for c in self.broker.calls if c[0] == "subscribe"]
        self.assertEqual(subscribed, ["fishtank/rig1/control_source",
                                      "fishtank/+/control/+"])

    def test_publishes_readings_every_period_not_every_turn(self):
        rig = self.rig()
        rig.loop_once()
        rig.loop_once()
        count = self.broker.topics().count("fishtank/rig1/sensors/all")
        self.assertEqual(count, 1)
        self.clock.now += self.config.PUBLISH_PERIOD
        rig.loop_once()
        count = self.broker.topics().count("fishtank/rig1/sensors/all")
        self.assertEqual(count, 2)

    def test_a_room_sensor_on_the_same_wire_publishes_room_temperature(self):
        FakeDS18X20.temperatures = {ROOM_ROM: 20.5, WATER_ROM: 24.0}
        self.config.ROOM_SENSOR = True
        self.config.WATER_SENSOR_ROM = firmware.rom_hex(WATER_ROM)
        self.rig().loop_once()
        all_ = json.loads(self.broker.last("fishtank/rig1/sensors/all")[0])
        self.assertEqual((all_["temperature"], all_["room_temperature"]),
                         (24.0, 20.5))
        self.assertEqual(
            self.broker.last("fishtank/rig1/sensors/room_temperature"),
            ("20.5", True))

    # -- commands

    def test_heater_commands_switch_the_relay(self):
        rig = self.rig()
        rig.loop_once()
        self.assertEqual(self.heater_relay(), 0)
        for payload, level, shown in (("on", 1, 100.0), ("off", 0, 0.0),
                                      ("True", 1, 100.0), ("0", 0, 0.0),
                                      ("100", 1, 100.0)):
            self.command(rig, HEATER, payload)
            self.assertEqual(self.heater_relay(), level, payload)
            actuators = self.broker.last("fishtank/rig1/actuators")[0]
            self.assertEqual(json.loads(actuators)["heater"], shown, payload)
        self.command(rig, "fishtank/rig1/control/all",
                     '{"heater": false, "light": "on"}')
        self.assertEqual(self.heater_relay(), 0)
        self.assertTrue(json.loads(
            self.broker.last("fishtank/rig1/actuators")[0])["light"])

    def test_an_active_low_relay_module_gets_the_inverse_level(self):
        self.config.RELAY_ACTIVE_LOW = True
        rig = self.rig()
        rig.loop_once()
        self.assertEqual(self.heater_relay(), 1)  # off
        self.command(rig, HEATER, "on")
        self.assertEqual(self.heater_relay(), 0)

    def test_a_bad_command_is_refused_on_errors_and_changes_nothing(self):
        rig = self.rig()
        rig.loop_once()
        self.command(rig, HEATER, "on")
        for payload in ("maybe", "0.5", "150"):
            self.command(rig, HEATER, payload)
            self.assertEqual(self.heater_relay(), 1, payload)
            error = json.loads(self.broker.last("fishtank/rig1/errors")[0])
            self.assertEqual(error["topic"], HEATER)
        self.command(rig, "fishtank/rig1/control/all",
                     '{"heater": false, "kettle": true}')
        self.assertEqual(self.heater_relay(), 1)
        self.assertIn("kettle", json.loads(
            self.broker.last("fishtank/rig1/errors")[0])["error"])

    def test_follows_the_tank_named_by_control_source_and_self_again(self):
        rig = self.rig()
        rig.loop_once()
        self.command(rig, "fishtank/rig1/control_source", "tank1")
        status = json.loads(self.broker.last("fishtank/rig1/status")[0])
        self.assertEqual(status["controlSource"], "tank1")
        self.command(rig, "fishtank/tank1/control/heater", "on")
        self.assertEqual(self.heater_relay(), 1)
        self.command(rig, HEATER, "off")  # its own topics are ignored now
        self.assertEqual(self.heater_relay(), 1)
        self.command(rig, "fishtank/tank2/control/heater", "off")
        self.assertEqual(self.heater_relay(), 1)
        actuators = json.loads(self.broker.last("fishtank/rig1/actuators")[0])
        self.assertEqual(actuators["source"], "tank1")
        self.command(rig, "fishtank/rig1/control_source", "self")
        self.command(rig, HEATER, "off")
        self.assertEqual(self.heater_relay(), 0)
        self.command(rig, "fishtank/rig1/control_source", "tank/+")
        self.assertIn("fishtank/rig1/control_source",
                      self.broker.last("fishtank/rig1/errors")[0])
        self.assertEqual(rig.source, "rig1")

    def test_a_heater_power_is_spread_over_the_window(self):
        self.config.HEATER_WINDOW = 20
        rig = self.rig()
        rig.loop_once()
        start = rig.start
        self.command(rig, HEATER, "25")
        levels = []
        for second in range(40):
            self.clock.now = start + second
            rig.apply_outputs()
            levels.append(self.heater_relay())
        self.assertEqual(levels, ([1] * 5 + [0] * 15) * 2)
        self.assertFalse(firmware.heater_relay_on(0.0, 3, 20))
        self.assertTrue(firmware.heater_relay_on(1.0, 19.9, 20))

    # -- safety

    def test_heater_off_when_the_sensor_cannot_be_read(self):
        rig = self.rig()
        rig.loop_once()
        self.command(rig, HEATER, "on")
        self.assertEqual(self.heater_relay(), 1)
        FakeDS18X20.temperatures[WATER_ROM] = Exception("CRC error")
        self.clock.now += self.config.PUBLISH_PERIOD
        before = self.broker.topics().count(
            "fishtank/rig1/sensors/temperature")
        rig.loop_once()
        self.assertEqual(self.heater_relay(), 0)
        all_ = json.loads(self.broker.last("fishtank/rig1/sensors/all")[0])
        self.assertIsNone(all_["temperature"])
        # The single reading goes silent instead of publishing nonsense.
        self.assertEqual(self.broker.topics().count(
            "fishtank/rig1/sensors/temperature"), before)
        FakeDS18X20.temperatures[WATER_ROM] = 24.0
        self.clock.now += self.config.PUBLISH_PERIOD
        rig.loop_once()
        self.assertEqual(self.heater_relay(), 1)

    def test_no_sensor_on_the_wire_is_no_reading(self):
        FakeDS18X20.bus_error = OSError("no presence pulse")
        rig = self.rig()
        rig.loop_once()
        all_ = json.loads(self.broker.last("fishtank/rig1/sensors/all")[0])
        self.assertIsNone(all_["temperature"])

    def test_the_power_on_value_85_is_not_a_reading(self):
        FakeDS18X20.temperatures[WATER_ROM] = 85.0
        self.rig().loop_once()
        all_ = json.loads(self.broker.last("fishtank/rig1/sensors/all")[0])
        self.assertIsNone(all_["temperature"])

    def test_heater_off_above_the_limit_whatever_the_command(self):
        FakeDS18X20.temperatures[WATER_ROM] = \
            self.config.MAX_WATER_TEMPERATURE + 0.5
        rig = self.rig()
        rig.loop_once()
        self.command(rig, HEATER, "on")
        self.assertEqual(self.heater_relay(), 0)
        actuators = json.loads(self.broker.last("fishtank/rig1/actuators")[0])
        self.assertEqual(actuators["heater"], 100.0)  # what was commanded

    # -- connection

    def test_connects_with_backoff_after_failures(self):
        self.broker.refuse_connects = 3
        rig = self.rig()
        rig.loop_once()
        waits = [s for s in self.clock.sleeps if s >= 1]
        self.assertEqual(waits, [1, 2, 4])
        self.assertEqual(len(self.broker.clients), 4)
        # Every try sets the last will again before it connects.
        kinds = [c[0] for c in self.broker.calls if c[0] != "subscribe"]
        self.assertEqual(kinds[:2], ["will", "will"])
        self.assertEqual(self.broker.last("fishtank/rig1/status")[1], True)

    def test_backoff_doubles_up_to_a_minute(self):
        self.assertEqual([firmware.backoff(n) for n in range(8)],
                         [1, 2, 4, 8, 16, 32, 60, 60])
        self.assertEqual(firmware.backoff(1000), 60)

    def test_wifi_that_never_comes_is_retried_not_fatal(self):
        FakeWLAN.reachable = False
        rig = self.rig()
        self.assertFalse(rig.connect_with_backoff(attempts=3))
        self.assertEqual([s for s in self.clock.sleeps if s >= 1],
                         [1, 2, 4])
        self.assertEqual(self.broker.clients, [])
        FakeWLAN.reachable = True
        self.assertTrue(rig.connect_with_backoff(attempts=1))

    def test_reconnects_after_losing_the_broker_heater_off_meanwhile(self):
        rig = self.rig()
        rig.loop_once()
        self.command(rig, HEATER, "on")
        self.assertEqual(self.heater_relay(), 1)
        self.broker.drop_on_check = True
        self.broker.refuse_connects = 1
        rig.loop_once()
        self.assertIsNone(rig.client)
        self.assertEqual(self.heater_relay(), 0)
        onlines = [p for t, p, _ in self.broker.published
                   if t == "fishtank/rig1/status"]
        rig.loop_once()
        self.assertIsNotNone(rig.client)
        self.assertEqual(len(self.broker.clients), 3)
        after = [p for t, p, _ in self.broker.published
                 if t == "fishtank/rig1/status"]
        self.assertEqual(len(after), len(onlines) + 1)
        self.assertEqual(json.loads(after[-1])["state"], "online")
        subscribed = [c[1] for c in self.broker.calls if c[0] == "subscribe"]
        self.assertEqual(subscribed.count("fishtank/+/control/+"), 2)
        # The last command applies again once a controller can watch.
        self.assertEqual(self.heater_relay(), 1)

    def test_pings_when_quiet(self):
        self.config.PUBLISH_PERIOD = 60
        rig = self.rig()
        rig.loop_once()
        self.clock.now += 16
        rig.loop_once()
        self.assertIn(("ping",), self.broker.calls)

    def test_uses_the_configured_broker_and_credentials(self):
        self.config.MQTT_USERNAME = "rig1"
        self.config.MQTT_PASSWORD = "secret"
        self.rig().loop_once()
        client_id, server, port, user, password, keepalive = \
            self.broker.clients[0].args
        self.assertEqual((client_id, server, port, user, password),
                         ("rig-rig1", "127.0.0.1", 1883, "rig1", "secret"))
        self.assertGreater(keepalive, 0)

    # -- parsing, as the simulated tank parses

    def test_heater_payloads_read_like_the_simulated_tank(self):
        parse = firmware.parse_command
        self.assertEqual(parse("heater", "50"), 0.5)
        self.assertEqual(parse("heater", "50%"), 0.5)
        self.assertEqual(parse("heater", "1"), 1.0)
        self.assertEqual(parse("heater", '"off"'), 0.0)
        self.assertAlmostEqual(parse("heater", "0.5%"), 0.005)
        for bad in ("0.5", "101", "-1", "warm", ""):
            with self.assertRaises(ValueError, msg=bad):
                parse("heater", bad)
        self.assertIs(parse("pump", "True"), True)
        with self.assertRaises(ValueError):
            parse("pump", "50")


if __name__ == "__main__":
    # buffer: the firmware's prints show only for a failing test.
    unittest.main(verbosity=2, buffer=True)
