# Settings for the fish tank firmware (main.py). Copy this file to config.py,
# fill it in, and copy both files to the board:
#
#     cp config_example.py config.py
#     mpremote cp main.py config.py :
#
# config.py holds your Wi-Fi password: keep it out of version control.

# The classroom Wi-Fi (2.4 GHz: the Pico W and the ESP32 have no 5 GHz).
WIFI_SSID = "classroom"
WIFI_PASSWORD = "change me"

# The computer running `deno task sim --host 0.0.0.0 --rig rig1`.
MQTT_HOST = "192.168.1.20"
MQTT_PORT = 1883
# With `deno task sim --lock`: user "rig1" and the password the teacher gives
# you. None without --lock.
MQTT_USERNAME = None
MQTT_PASSWORD = None

# Every topic starts with TOPIC_ROOT/TANK_ID: fishtank/rig1/sensors/...
TOPIC_ROOT = "fishtank"
TANK_ID = "rig1"

# Pins, as GPIO numbers (on the Pico W GP22 is the board's pin 29).
# Raspberry Pi Pico W: ONEWIRE_PIN = 22, HEATER_PIN = 15.
# ESP32 DevKit: ONEWIRE_PIN = 4, HEATER_PIN = 26 (avoid 0, 2, 12 and 15:
# they decide how the chip boots).
ONEWIRE_PIN = 22
HEATER_PIN = 15
# Many relay modules switch on when their input is LOW: then set True.
RELAY_ACTIVE_LOW = False
# More relays, if you have them (None: not fitted; commands are still
# accepted and shown on .../actuators).
LIGHT_PIN = None
PUMP_PIN = None
TOPUP_PIN = None

# A second DS18B20 on the same wire, outside the water, reads the room
# temperature. The firmware prints the sensors it finds at start; write the
# one in the water here (e.g. "28ff641e8216c3a1") when there are two.
ROOM_SENSOR = False
WATER_SENSOR_ROM = None

# Seconds between readings (a DS18B20 needs 0.75 s per reading).
PUBLISH_PERIOD = 10
# A heater power between 0 and 100 % switches the relay on for that share of
# each window of this many seconds (a relay is either on or off).
HEATER_WINDOW = 20
# The firmware switches the heater off by itself above this water
# temperature, and whenever the water temperature cannot be read.
MAX_WATER_TEMPERATURE = 30.0
