"""One MQTT 5 connection with paho-mqtt 2, for mqtt5_properties_test.ts.

Argument: JSON {"port", "role": "publish" | "subscribe", "id", "clean", "expiry" (session expiry, seconds)}.
publish: also "messages": [{"topic", "payload", "qos", "retain", "properties"}], properties as MQTT.js names them
(userProperties {name: value}, contentType, payloadFormatIndicator, responseTopic, correlationData (text),
messageExpiryInterval); publishes them in order, waits for each acknowledgement, prints {"done": true}.
subscribe: also "subscriptions" ([{"topic", "nl", "rap", "rh"}], QoS 1, in order), "publish" (messages as above, sent
once subscribed), "count", "wait" (seconds); prints {"ready": true} once subscribed and published, then, after "count"
messages or "wait" seconds, {"received": [{"topic", "payload", "retain", "properties"}]}.
"""

import json
import os
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

args = json.loads(sys.argv[1])
client = mqtt.Client(
    mqtt.CallbackAPIVersion.VERSION2, client_id=args.get("id", ""), protocol=mqtt.MQTTv5
)
connect_properties = Properties(PacketTypes.CONNECT)
connect_properties.SessionExpiryInterval = args.get("expiry", 0)
connected = threading.Event()
subscribed = threading.Event()
enough = threading.Event()
received = []


def say(value):
    print(json.dumps(value), flush=True)


def to_paho(props):
    out = Properties(PacketTypes.PUBLISH)
    for name, value in (props.get("userProperties") or {}).items():
        out.UserProperty = (name, value)
    if "contentType" in props:
        out.ContentType = props["contentType"]
    if "payloadFormatIndicator" in props:
        out.PayloadFormatIndicator = int(props["payloadFormatIndicator"])
    if "responseTopic" in props:
        out.ResponseTopic = props["responseTopic"]
    if "correlationData" in props:
        out.CorrelationData = props["correlationData"].encode()
    if "messageExpiryInterval" in props:
        out.MessageExpiryInterval = props["messageExpiryInterval"]
    return out


def from_paho(props):
    out = {}
    if props is None:
        return out
    if hasattr(props, "UserProperty"):
        out["userProperties"] = dict(props.UserProperty)
    if hasattr(props, "ContentType"):
        out["contentType"] = props.ContentType
    if hasattr(props, "PayloadFormatIndicator"):
        out["payloadFormatIndicator"] = bool(props.PayloadFormatIndicator)
    if hasattr(props, "ResponseTopic"):
        out["responseTopic"] = props.ResponseTopic
    if hasattr(props, "CorrelationData"):
        out["correlationData"] = props.CorrelationData.decode()
    if hasattr(props, "MessageExpiryInterval"):
        out["messageExpiryInterval"] = props.MessageExpiryInterval
    return out


def on_message(_client, _userdata, message):
    received.append(
        {
            "topic": message.topic,
            "payload": message.payload.decode(),
            "retain": bool(message.retain),
            "properties": from_paho(message.properties),
        }
    )
    if len(received) >= args.get("count", 0):
        enough.set()


client.on_connect = lambda *_: connected.set()
client.on_message = on_message
client.on_subscribe = lambda *_: subscribed.set()
client.connect(
    "127.0.0.1",
    args["port"],
    keepalive=30,
    clean_start=args.get("clean", True),
    properties=connect_properties,
)
client.loop_start()
if not connected.wait(5):
    say({"error": "no CONNACK within 5 s"})
    os._exit(1)


def publish_all(messages):
    for m in messages:
        info = client.publish(
            m["topic"],
            m["payload"],
            qos=m.get("qos", 0),
            retain=m.get("retain", False),
            properties=to_paho(m.get("properties") or {}),
        )
        info.wait_for_publish(5)


if args["role"] == "publish":
    publish_all(args["messages"])
    say({"done": True})
else:
    for sub in args.get("subscriptions") or []:
        subscribed.clear()
        options = SubscribeOptions(
            qos=1,
            noLocal=sub.get("nl", False),
            retainAsPublished=sub.get("rap", False),
            retainHandling=sub.get("rh", 0),
        )
        client.subscribe(sub["topic"], options=options)
        if not subscribed.wait(5):
            say({"error": "no SUBACK within 5 s"})
            os._exit(1)
    publish_all(args.get("publish") or [])
    say({"ready": True})
    if args.get("count", 0) > 0:
        enough.wait(args.get("wait", 5))
    say({"received": received})
client.disconnect()
client.loop_stop()
