"""Fish tank harness: tells the broker when a paho-mqtt controller has
finished handling each message it received ("done markers").

Imported by the harness's sitecustomize.py. After the student's message
callbacks (on_message and message_callback_add ones) for one incoming PUBLISH
have returned, a marker PUBLISH is queued on the same connection, behind
everything the callbacks published:

    topic   $fishtank/handled
    QoS 0, retain 0, no properties (MQTT 5: property length 0)
    payload decimal count of PUBLISH packets received on this connection
            and fully handled so far (ASCII digits, no newline)

It is also sent with the current count right after each CONNACK has been
handled (so after the SUBSCRIBEs that on_connect sends) and after each
SUBSCRIBE. The count restarts at 0 on every new connection, as the broker's
count of delivered packets does.

The marker is written as a raw packet into paho's outgoing packet queue
(Client._packet_queue) under a command code that is not PUBLISH, so paho
calls no on_publish for it, uses no message id and logs nothing. TCP keeps
the order, so every command the callback published reaches the broker before
the marker.

paho is patched on first import of paho.mqtt.client (a one-shot meta path
finder), and only if its internals look as expected (tested with 1.6.1 and
2.1.0); otherwise nothing changes. No error of this module ever reaches the
program.
"""

import sys as _sys

_TOPIC = b"$fishtank/handled"
_MODULE = "paho.mqtt.client"
_PUBLISH_FAKE_COMMAND = 0  # not PUBLISH (0x30) nor DISCONNECT (0xE0)


def _remaining_length(n):
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            byte |= 0x80
        out.append(byte)
        if not n:
            return bytes(out)


def _patch(module):
    cls = getattr(module, "Client", None)
    if cls is None or getattr(cls, "_fishtank_done", False):
        return
    needed = ("_handle_publish", "_handle_pubrel", "_handle_connack",
              "_send_subscribe", "_packet_queue", "_handle_on_message")
    if not all(callable(getattr(cls, name, None)) for name in needed):
        return
    try:
        import inspect
        params = list(inspect.signature(cls._packet_queue).parameters)
        if params[:5] != ["self", "command", "packet", "mid", "qos"]:
            return
    except (TypeError, ValueError):
        return
    mqttv5 = getattr(module, "MQTTv5", 5)

    orig_publish = cls._handle_publish
    orig_pubrel = cls._handle_pubrel
    orig_connack = cls._handle_connack
    orig_subscribe = cls._send_subscribe

    def send_marker(client):
        try:
            count = client.__dict__.get("_fishtank_handled", 0)
            body = (len(_TOPIC).to_bytes(2, "big") + _TOPIC
                    + (b"\x00" if client._protocol == mqttv5 else b"")
                    + str(count).encode("ascii"))
            packet = b"\x30" + _remaining_length(len(body)) + body
            orig_packet_queue(client, _PUBLISH_FAKE_COMMAND, packet, 0, 0)
        except Exception:
            pass

    orig_packet_queue = cls._packet_queue

    def handled(client):
        try:
            client.__dict__["_fishtank_handled"] = (
                client.__dict__.get("_fishtank_handled", 0) + 1)
        except Exception:
            return
        send_marker(client)

    def _handle_publish(self, *args, **kwargs):
        qos = None
        try:
            qos = (self._in_packet["command"] & 0x06) >> 1
        except Exception:
            pass
        try:
            return orig_publish(self, *args, **kwargs)
        finally:
            # QoS 2: the callbacks run when PUBREL arrives (counted there).
            if qos is not None and qos < 2:
                handled(self)

    def _handle_pubrel(self, *args, **kwargs):
        pending = False
        try:
            mid = int.from_bytes(self._in_packet["packet"][:2], "big")
            pending = mid in self._in_messages
        except Exception:
            pass
        try:
            return orig_pubrel(self, *args, **kwargs)
        finally:
            if pending:
                handled(self)

    def _handle_connack(self, *args, **kwargs):
        accepted = False
        try:
            accepted = self._in_packet["packet"][1] == 0
            if accepted:
                self.__dict__["_fishtank_handled"] = 0
        except Exception:
            pass
        result = orig_connack(self, *args, **kwargs)
        if accepted:
            send_marker(self)
        return result

    def _send_subscribe(self, *args, **kwargs):
        result = orig_subscribe(self, *args, **kwargs)
        send_marker(self)
        return result

    for fn, orig in ((_handle_publish, orig_publish),
                     (_handle_pubrel, orig_pubrel),
                     (_handle_connack, orig_connack),
                     (_send_subscribe, orig_subscribe)):
        fn.__name__ = orig.__name__
        fn.__qualname__ = orig.__qualname__
        fn.__doc__ = orig.__doc__
        setattr(cls, orig.__name__, fn)
    cls._fishtank_done = True


class _Finder:
    """One-shot: patches paho.mqtt.client right after it is first executed."""

    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        try:
            _sys.meta_path.remove(self)
        except ValueError:
            pass
        try:
            import importlib.util
            spec = importlib.util.find_spec(name)
            loader = spec.loader if spec is not None else None
            exec_module = getattr(loader, "exec_module", None)
            if exec_module is None:
                return None

            def exec_and_patch(module):
                exec_module(module)
                try:
                    _patch(module)
                except Exception:
                    pass

            loader.exec_module = exec_and_patch
            return spec
        except Exception:
            return None

    def invalidate_caches(self):
        pass


def install():
    try:
        module = _sys.modules.get(_MODULE)
        if module is not None:
            _patch(module)
        elif not any(isinstance(f, _Finder) for f in _sys.meta_path):
            _sys.meta_path.insert(0, _Finder())
    except Exception:
        pass


install()
