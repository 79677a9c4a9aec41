"""The places where callcenter.realtime relies on python-socketio's and python-engineio's
inner workings (see ``CHECKED_WITH`` in callcenter/realtime/server.py) still hold.

The first test fails on any newer release than the one checked, on purpose: check the
places the comment names against the new release, then raise ``CHECKED_WITH``.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import socketio
from engineio.async_drivers import _websocket_wsgi

from callcenter.config import load_settings
from callcenter.realtime.live import channel_for
from callcenter.realtime.server import (
    CHECKED_WITH,
    _EmbeddedRedisManager,
    _message_queue,
    _wait_until_listening,
)


def _release(dist: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(dist).split(".")[:2])


def test_the_installed_releases_are_no_newer_than_the_checked_ones():
    for dist, checked in CHECKED_WITH.items():
        assert _release(dist) <= checked, (
            f"{dist} {version(dist)} is newer than the {checked} checked: check the places "
            "named above CHECKED_WITH in callcenter/realtime/server.py, then raise it")


def _settings(tmp_path, redis_url):
    return load_settings({"CALLCENTER_INSTANCE": str(tmp_path), "REDIS_URL": redis_url,
                          "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                          "SECRET_KEY": "pins-test-secret-key"})


def _listening_server(manager) -> socketio.Server:
    server = socketio.Server(async_mode="threading", client_manager=manager)
    server.manager.initialize()  # what the server does on its first connection
    return server


def test_the_lazy_manager_listens_on_the_url_it_learns_in_initialize(tmp_path, redis_url,
                                                                       redis_conn):
    manager = _EmbeddedRedisManager(_settings(tmp_path, redis_url))
    _listening_server(manager)
    _wait_until_listening(manager, timeout=5)
    # The listener read the URL and channel set in initialize(), not the placeholders.
    assert manager.pubsub is not None and manager.pubsub.subscribed
    assert manager.redis_url == redis_url
    assert set(manager.pubsub.channels) == {channel_for(redis_url).encode()}
    assert redis_conn.pubsub_numsub(channel_for(redis_url))[0][1] >= 1


def test_a_known_url_gets_the_library_manager_as_it_is(tmp_path, redis_url, redis_conn):
    manager = _message_queue(_settings(tmp_path, redis_url))
    assert type(manager) is socketio.RedisManager
    _listening_server(manager)
    _wait_until_listening(manager, timeout=5)
    assert manager.pubsub.subscribed


def test_engineio_ends_websocket_sessions_on_werkzeug_with_connection_error():
    # callcenter.realtime.werkzeug_socket shuts the socket down on exactly this.
    source = inspect.getsource(_websocket_wsgi.SimpleWebSocketWSGI.__call__)
    assert "'werkzeug'" in source and "raise ConnectionError()" in source
    assert "'gunicorn'" in source and "raise StopIteration()" in source
