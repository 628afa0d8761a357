"""Loaded by Python at start-up when the fish tank harness runs a controller:
the harness puts this folder first on PYTHONPATH, and Python imports any
`sitecustomize` module it finds there before the program starts.

It turns off Nagle's algorithm (sets TCP_NODELAY) on every TCP connection the
program opens. Why: a controller that publishes two small messages in a row
(a command, then another command or its ack) with QoS 0 has the second one
held back by the kernel until the broker acknowledges the first, and the
broker's kernel delays that acknowledgement by up to 40 ms. Each step of a
lockstep run then takes 40 ms instead of a fraction of one. With TCP_NODELAY
each message leaves at once. paho-mqtt (1.x and 2.x) does not set it.

It also loads `_fishtank_done`, which tells the harness, on the program's
own MQTT connection, when paho has handed each message to the program's
callbacks and they have returned (see that module).

Nothing else changes: other sockets (UDP, Unix, already connected ones) are
left alone, errors are ignored, and the `sitecustomize` this one hides (Debian
ships one) still runs afterwards.
"""

import socket as _socket


def _install_nodelay():
    cls = _socket.socket
    if getattr(cls.connect, "_fishtank_nodelay", False):
        return
    families = tuple(getattr(_socket, name) for name in ("AF_INET", "AF_INET6")
                     if hasattr(_socket, name))
    original_connect = cls.connect
    original_connect_ex = cls.connect_ex

    def nodelay(sock):
        try:
            if sock.family in families and sock.type == _socket.SOCK_STREAM:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        except (OSError, AttributeError, ValueError):
            pass

    # Before connecting, so that it also holds for non-blocking connects
    # (asyncio, paho's own loop) that return before the connection is up.
    def connect(self, address):
        nodelay(self)
        return original_connect(self, address)

    def connect_ex(self, address):
        nodelay(self)
        return original_connect_ex(self, address)

    connect.__doc__ = original_connect.__doc__
    connect_ex.__doc__ = original_connect_ex.__doc__
    connect._fishtank_nodelay = True
    # socket.create_connection() and ssl's sockets go through these two.
    cls.connect = connect
    cls.connect_ex = connect_ex


def _run_hidden_sitecustomize():
    """Runs the next `sitecustomize` on sys.path, which this module hides."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path
            if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_install_nodelay()
try:
    import _fishtank_done  # noqa: F401  (reports when paho's callbacks return)
except Exception:
    pass
_run_hidden_sitecustomize()
