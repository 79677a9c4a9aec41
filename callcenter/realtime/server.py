"""The Socket.IO server inside ``callcenter serve``: who may connect, which rooms they join.

One ``flask_socketio.SocketIO`` per app (``app.extensions["socketio"]``, or
``get_socketio(app)``), ``async_mode="threading"``, with Redis as the message queue on
the default ``flask-socketio`` channel: events published by the bridge
(``callcenter.realtime.publish``) reach every server process.

Connect: ``auth={"token": "<API token>"}`` or the Flask-Login session cookie; anyone
else is refused. The user joins ``agent:<user_id>``, ``department:<id>`` and, for
supervisors and admins, ``queue:<name>`` rooms (the rule: ``callcenter.realtime.rooms``).
Then the server emits ``calls.snapshot`` ``{"seq", "calls"}``.

Client events: ``call.ack {"seq": n}`` (the highest is kept in ``cc:ack:<user_id>``) and
``calls.sync`` (send me ``calls.snapshot`` again, e.g. after a gap in ``seq``). There is
no way for a client to join a room or to emit to anyone else.
"""

from __future__ import annotations

import logging
import socket as socket_module
import threading
import time
from pathlib import Path

import redis
import socketio
from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from flask_login import current_user
from flask_socketio import SocketIO, emit, join_room

from callcenter.config import Settings
from callcenter.db import db_session
from callcenter.jobs import redis_connection, redis_url
from callcenter.realtime import agent_calls
from callcenter.realtime.live import CHANNEL, channel_for
from callcenter.realtime.rooms import user_rooms
from callcenter.users.models import User
from callcenter.users.services import user_for_token

log = logging.getLogger(__name__)

#: Seconds between pings, and to wait for the answer: a dead link shows within ~20 s.
PING_INTERVAL_S = 10
PING_TIMEOUT_S = 10

realtime_bp = Blueprint("realtime", __name__)

#: Browser libraries served from node_modules (installed by npm, never committed).
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "socket.io.min.js.map": "socket.io-client/dist/socket.io.min.js.map",
}


@realtime_bp.route("/vendor/<path:name>")
def vendor(name: str):
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    folder = Path(current_app.config["NODE_MODULES"]) / Path(relative).parent
    if not (folder / Path(relative).name).is_file():
        abort(404, description="browser libraries are missing: run `npm ci`")
    return send_from_directory(folder, Path(relative).name, max_age=3600)


class _LazyRedisManager(socketio.RedisManager):
    """The message queue; the Redis URL is resolved on first use, so creating the app
    starts no embedded Redis and opens no connection."""

    def __init__(self, settings: Settings):
        super().__init__(url="redis://unresolved", channel=CHANNEL)
        self._settings = settings

    def _resolve(self) -> None:
        if self.redis_url == "redis://unresolved":
            self.redis_url = redis_url(self._settings)
            self.channel = channel_for(self.redis_url)

    def _redis_connect(self):
        self._resolve()
        super()._redis_connect()

    def _listen(self):
        # The base class reads the channel name before it first connects.
        self._resolve()
        yield from super()._listen()


class _SocketTuning:
    """WSGI middleware for Socket.IO connections on Werkzeug's server.

    - TCP_NODELAY: without it, an event of a kilobyte or more (a pop with the customer
      card) waits for Nagle's algorithm and the peer's delayed ACK: 13 ms median, 40 ms
      worst, measured on loopback; with it, under 1.5 ms at p99.
    - When a WebSocket session ends, the connection is shut down: Werkzeug would keep
      it and read the client's close frame as a new HTTP request (an error in the log
      for every closed tab, and a client left waiting for the close handshake).
    """

    def __init__(self, wsgi_app, path: str = "/socket.io"):
        self.wsgi_app = wsgi_app
        self.path = path

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.path):
            return self.wsgi_app(environ, start_response)
        sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
        if sock is not None:
            try:
                sock.setsockopt(socket_module.IPPROTO_TCP, socket_module.TCP_NODELAY, 1)
            except (OSError, AttributeError):  # not TCP (a unix socket, a test)
                pass
        try:
            return self.wsgi_app(environ, start_response)
        except ConnectionError:
            # engine.io's way of telling Werkzeug that a WebSocket session is over.
            if sock is not None and environ.get("werkzeug.socket") is sock:
                _shut_down(sock)
            raise


def _shut_down(sock) -> None:
    """Close both directions and drop what the client sent after the session ended, so
    Werkzeug's next read sees the end of the connection."""
    try:
        sock.shutdown(socket_module.SHUT_RDWR)
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            for _ in range(64):
                if not sock.recv(65536):
                    break
        except (BlockingIOError, OSError):
            pass
        finally:
            sock.settimeout(timeout)
    except OSError:
        pass


def _wait_until_listening(manager, timeout: float = 2.0) -> None:
    """The first connection starts the message-queue listener; wait until it subscribed,
    so nothing published after the snapshot is read can be missed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pubsub = getattr(manager, "pubsub", None)
        if pubsub is None and not hasattr(manager, "_redis_connect"):
            return  # not a Redis manager
        if pubsub is not None and pubsub.subscribed:
            return
        time.sleep(0.01)
    log.warning("Socket.IO message queue not subscribed after %.1f s", timeout)


class _Connections:
    """sid -> user id of the clients of this server process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}

    def add(self, sid: str, user_id: int) -> None:
        with self._lock:
            self._users[sid] = user_id

    def get(self, sid: str) -> int | None:
        with self._lock:
            return self._users.get(sid)

    def remove(self, sid: str) -> None:
        with self._lock:
            self._users.pop(sid, None)

    def sids(self, user_id: int | None = None) -> list[str]:
        """The connected clients (of ``user_id``)."""
        with self._lock:
            return [sid for sid, uid in self._users.items()
                    if user_id is None or uid == user_id]


def _authenticate(auth) -> User | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if token is not None:
        if not isinstance(token, str) or not token:
            return None
        return user_for_token(db_session(), token)  # a bad token is refused, cookie or not
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def init_realtime(app: Flask) -> SocketIO:
    """Attach the Socket.IO server to ``app`` and register the vendor route."""
    settings: Settings = app.config["SETTINGS"]
    sio = SocketIO(app, async_mode="threading", client_manager=_LazyRedisManager(settings),
                   manage_session=False, ping_interval=PING_INTERVAL_S,
                   ping_timeout=PING_TIMEOUT_S, logger=False, engineio_logger=False)
    app.wsgi_app = _SocketTuning(app.wsgi_app)
    connections = _Connections()
    app.extensions["realtime_connections"] = connections
    app.register_blueprint(realtime_bp)

    def redis_client():
        return redis_connection(settings)

    def send_snapshot(user_id: int) -> None:
        emit("calls.snapshot", agent_calls.read_snapshot(redis_client(), user_id),
             ignore_queue=True)

    @sio.on("connect")
    def _connect(auth=None):
        user = _authenticate(auth)
        if user is None:
            raise ConnectionRefusedError("authentication required")
        try:
            rooms = user_rooms(db_session(), user, redis_client())
            _wait_until_listening(sio.server.manager)
            for room in rooms:
                join_room(room)
            connections.add(request.sid, user.id)
            send_snapshot(user.id)
        except redis.RedisError as exc:
            log.warning("refusing a live connection: Redis failed: %s", exc)
            raise ConnectionRefusedError("live state unavailable") from exc
        return True

    @sio.on("disconnect")
    def _disconnect(*_reason):
        connections.remove(request.sid)

    @sio.on("call.ack")
    def _ack(data=None):
        user_id = connections.get(request.sid)
        seq = data.get("seq") if isinstance(data, dict) else None
        if user_id is None or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            return None
        try:
            return {"seq": agent_calls.store_ack(redis_client(), user_id, seq)}
        except redis.RedisError as exc:
            log.warning("call.ack not stored: %s", exc)
            return None

    @sio.on("calls.sync")
    def _sync(*_args):
        user_id = connections.get(request.sid)
        if user_id is None:
            return
        try:
            send_snapshot(user_id)
        except redis.RedisError as exc:
            log.warning("calls.sync failed: %s", exc)

    return sio


def get_socketio(app: Flask | None = None) -> SocketIO:
    """The app's ``SocketIO`` (the current app's by default)."""
    return (app or current_app).extensions["socketio"]
