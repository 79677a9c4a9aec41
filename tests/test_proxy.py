"""deploy/haproxy/haproxy.cfg in front of two real `callcenter serve` processes.

No Docker here, so the test runs the real haproxy binary (Debian's) on the deployed
config with two changes only: it listens on a free port, and the two servers are named
by address instead of found through docker's DNS. Socket.IO clients on the long-polling
transport (many HTTP requests per session, the case stickiness is for) connect through
it, are spread over both processes, and get their pops. Skipped without haproxy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import socketio
from serve_support import ServeProcess, free_port, serve_env
from stack import Stack, seed, wait_until

from callcenter.config import load_settings
from callcenter.realtime.live import agent_room, channel_for

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
CLIENTS = 6

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed")


def local_config(ports: list[int], listen: int) -> str:
    """The deployed config, listening on ``listen``, with the servers at ``ports``."""
    cfg = HAPROXY_CFG.read_text()
    cfg, bound = re.subn(r"^(\s*)bind :\d+$", rf"\1bind 127.0.0.1:{listen}", cfg, flags=re.M)
    servers = "\n".join(f"    server web{n} 127.0.0.1:{port} check inter 1s"
                        for n, port in enumerate(ports, 1))
    cfg, templated = re.subn(r"^\s*server-template .*$", servers, cfg, flags=re.M)
    cfg = re.sub(r"^resolvers docker\n(    .*\n)+", "", cfg, flags=re.M)  # no docker DNS
    assert bound == 1 and templated == 1 and "127.0.0.11" not in cfg
    return cfg


@pytest.fixture
def proxied(fresh_database, redis_url, redis_conn, tmp_path):
    url = fresh_database.create("sqlite")
    ids, tokens = seed(url)
    instance = tmp_path / "instance"
    instance.mkdir()
    env = serve_env(url, redis_url, instance)
    servers = [ServeProcess(env, tmp_path / f"serve-{n}.log") for n in (1, 2)]
    listen = free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(local_config([s.port for s in servers], listen))
    proxy = None
    try:
        for server in servers:
            server.wait_ready()
        # Started once both answer, so its first health checks find both up.
        with (tmp_path / "haproxy.log").open("wb") as log:
            proxy = subprocess.Popen(["haproxy", "-W", "-db", "-f", str(cfg)],  # noqa: S603,S607
                                     stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{listen}"
        wait_until(lambda: _answers(base), 20, what="haproxy answers")
        settings = load_settings({k: env[k] for k in ("DATABASE_URL", "REDIS_URL",
                                                       "CALLCENTER_INSTANCE", "SECRET_KEY")})
        yield Stack(base, settings, ids, tokens)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        for server in servers:
            server.kill()


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/login", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_polling_sessions_stick_to_one_process_through_the_proxy(proxied, redis_url):
    received: dict[int, list] = {n: [] for n in range(CLIENTS)}
    clients = []
    try:
        for n in range(CLIENTS):
            client = socketio.Client(reconnection=False)
            client.on("call.ringing", lambda data, n=n: received[n].append(data))
            # Polling only: every packet is an HTTP request of its own through the proxy.
            client.connect(proxied.base, auth={"token": proxied.tokens["agent1"]},
                           transports=["polling"], wait_timeout=10)
            clients.append(client)
        # Spread over both processes, each session pinned by the proxy's cookie.
        pinned = {client.eio.http.cookies.get("CC_WEB") for client in clients}
        assert None not in pinned and len(pinned) == 2, pinned
        queue = socketio.RedisManager(redis_url, channel=channel_for(redis_url),
                                      write_only=True)
        queue.emit("call.ringing", {"call_id": "9.1", "seq": 1}, namespace="/",
                   room=agent_room(proxied.ids["agent1"]))
        wait_until(lambda: all(received.values()), what="the pop on every client")
        time.sleep(0.3)  # a few more polls: a session sent to the wrong process breaks
        assert all(client.connected for client in clients)
        assert all(len(pops) == 1 for pops in received.values()), received
    finally:
        for client in clients:
            client.disconnect()
