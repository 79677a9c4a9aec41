"""Each test run has a Redis of its own (tests/redis_server.py), never a shared server.

Two suites on one machine used to share 127.0.0.1:6379: their bridges fought over one
leader lock and one command channel. These tests pin the fixture's promise.
"""

from __future__ import annotations

import os

import pytest
import redis
from redis_server import PrivateRedis

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_REDIS_URL")),
                                reason="TEST_REDIS_URL names a server of the caller's choice")


def test_the_runs_redis_is_the_server_this_run_started(private_redis, redis_url):
    assert redis_url == private_redis.url
    conn = redis.Redis.from_url(redis_url)
    try:
        server = conn.info("server")
        assert server["process_id"] == private_redis.pid
        assert server["tcp_port"] == private_redis.port != 6379  # never the shared server
    finally:
        conn.close()


def test_two_private_servers_do_not_see_each_others_keys(redis_conn, tmp_path):
    redis_conn.set("cc:isolation", "this run")
    with PrivateRedis(tmp_path / "other") as other:
        theirs = redis.Redis.from_url(other.url)
        try:
            assert theirs.dbsize() == 0
            theirs.set("cc:isolation", "the other run")
            # pub/sub is server-wide (database numbers do not separate it): not shared either
            assert theirs.pubsub_numsub("flask-socketio") == [(b"flask-socketio", 0)]
        finally:
            theirs.close()
        pid = other.pid
    assert redis_conn.get("cc:isolation") == b"this run"
    assert not _alive(pid), "stop() ends the server process"


def test_a_subscriber_of_this_run_hears_nothing_from_another_run(redis_conn, tmp_path):
    listener = redis_conn.pubsub()
    listener.subscribe("flask-socketio")
    assert listener.get_message(timeout=1)["type"] == "subscribe"
    with PrivateRedis(tmp_path / "other") as other:
        theirs = redis.Redis.from_url(other.url)
        try:
            assert theirs.publish("flask-socketio", "a pop for someone else") == 0
        finally:
            theirs.close()
    redis_conn.publish("flask-socketio", "ours")
    message = listener.get_message(timeout=2)
    listener.close()
    assert message is not None and message["data"] == b"ours"


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
