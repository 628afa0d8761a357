"""One MQTT 5 connection with paho-mqtt 2, for mqtt5_sessions_test.ts.

Argument: JSON {"port", "id", "clean", "expiry" (seconds or null: no property), "subscribe" (topics, QoS 1),
"will" ({"topic", "payload", "delay"} or null), "wait" (seconds to collect messages), "end" ("disconnect" or
"drop": close the socket without DISCONNECT)}. Prints one JSON line: {"session_present", "received": [[payload, qos]]}.
"""

import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

args = json.loads(sys.argv[1])
client = mqtt.Client(
    mqtt.CallbackAPIVersion.VERSION2, client_id=args["id"], protocol=mqtt.MQTTv5
)
if args.get("will"):
    will = Properties(PacketTypes.WILLMESSAGE)
    will.WillDelayInterval = args["will"]["delay"]
    client.will_set(
        args["will"]["topic"], args["will"]["payload"], qos=1, properties=will
    )
properties = None
if args.get("expiry") is not None:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = args["expiry"]

result = {"session_present": None, "received": []}
connected = threading.Event()
subscribed = threading.Event()


def on_connect(_client, _userdata, flags, reason_code, _properties):
    result["session_present"] = bool(flags.session_present)
    result["reason_code"] = int(reason_code.value)
    connected.set()


def on_message(_client, _userdata, message):
    result["received"].append([message.payload.decode(), message.qos])


client.on_connect = on_connect
client.on_message = on_message
client.on_subscribe = lambda *_: subscribed.set()
client.connect(
    "127.0.0.1", args["port"], keepalive=30, clean_start=args["clean"], properties=properties
)
client.loop_start()
if not connected.wait(5):
    print(json.dumps({"error": "no CONNACK within 5 s"}), flush=True)
    os._exit(1)
for topic in args.get("subscribe") or []:
    subscribed.clear()
    client.subscribe(topic, qos=1)
    subscribed.wait(5)
time.sleep(args.get("wait", 0))
print(json.dumps(result), flush=True)
if args["end"] == "drop":
    os._exit(0)  # the socket closes without DISCONNECT
client.disconnect()
client.loop_stop()
