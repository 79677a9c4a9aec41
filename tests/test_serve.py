"""`callcenter serve`: the production server (gunicorn, one gthread worker), as a process.

Real processes, a real Redis message queue and real WebSocket clients: the server
answers pages, carries Socket.IO over WebSocket (not only long-polling), logs no request
unless asked, warns about no development server, and stops on SIGTERM (closing its
Socket.IO sessions first) and on SIGINT.
"""

from __future__ import annotations

import signal
import time

import pytest
import requests
import socketio
from serve_support import ServeProcess, serve_env
from stack import Inbox, Stack, seed, wait_until

from callcenter.config import load_settings
from callcenter.realtime.live import agent_room, channel_for


@pytest.fixture
def database(fresh_database):
    url, (ids, tokens) = fresh_database.seeded("sqlite", seed)
    return url, ids, tokens


def _start(database, redis_url, tmp_path, *args: str) -> tuple[ServeProcess, Stack]:
    url, ids, tokens = database
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    env = serve_env(url, redis_url, instance)
    server = ServeProcess(env, tmp_path / f"serve-{len(list(tmp_path.glob('serve-*')))}.log",
                          *args).wait_ready()
    settings = load_settings({k: env[k] for k in ("DATABASE_URL", "REDIS_URL",
                                                   "CALLCENTER_INSTANCE", "SECRET_KEY")})
    return server, Stack(server.base, settings, ids, tokens)


@pytest.fixture
def served(database, redis_url, redis_conn, tmp_path):
    server, stack = _start(database, redis_url, tmp_path)
    yield server, stack
    server.kill()


def test_pages_and_websocket_pops_through_gunicorn_without_request_logs(served, redis_url):
    server, stack = served
    response = requests.get(stack.base + "/login", timeout=10)
    assert response.status_code == 200 and "<form" in response.text
    inbox = Inbox.connect(stack, "agent1")  # transports=["websocket"] only
    try:
        assert inbox.sio.transport() == "websocket"
        inbox.wait_for("calls.snapshot")
        # An event published on the message queue, as the bridge does, reaches the agent.
        queue = socketio.RedisManager(redis_url, channel=channel_for(redis_url),
                                      write_only=True)
        queue.emit("call.ringing", {"call_id": "1.1", "seq": 1}, namespace="/",
                   room=agent_room(stack.ids["agent1"]))
        assert inbox.wait_for("call.ringing")["call_id"] == "1.1"
    finally:
        inbox.close()
    out = server.output()
    assert "gunicorn" in out and "SocketIOThreadWorker" in out
    assert "development server" not in out.lower()
    assert "GET /login" not in out and "/socket.io" not in out  # no access log


def test_sigterm_closes_the_live_sessions_and_stops_the_server(served):
    server, stack = served
    inbox = Inbox.connect(stack, "agent2")
    inbox.wait_for("calls.snapshot")
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    # Well inside gunicorn's graceful timeout: the WebSocket did not hold the stop up.
    assert time.monotonic() - started < 8, server.output()
    wait_until(lambda: not inbox.sio.connected, what="the client saw the server go")
    assert "Worker exiting" in server.output()


def test_sigint_stops_at_once(served):
    server, _stack = served
    assert server.stop(signal.SIGINT) == 0
    assert "Shutting down" in server.output()


def test_access_log_on_request(database, redis_url, redis_conn, tmp_path):
    server, stack = _start(database, redis_url, tmp_path, "--access-log")
    try:
        requests.get(stack.base + "/login", timeout=10)
        wait_until(lambda: "GET /login" in server.output(), what="an access log line")
    finally:
        server.kill()
