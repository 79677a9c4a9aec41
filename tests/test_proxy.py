"""deploy/haproxy/haproxy.cfg in front of two real `callcenter serve` processes.

No Docker here, so the test runs the real haproxy binary (Debian's) on the deployed
config with changes for the host only (tests/proxy_support.py): free ports, a throwaway
certificate, the servers named by address instead of found through docker's DNS.
Socket.IO clients on the long-polling transport (many HTTP requests per session, the
case stickiness is for) connect through it over HTTPS, are spread over both processes,
and get their pops. Skipped without haproxy or openssl. TLS itself:
tests/security/test_proxy_tls.py.
"""

from __future__ import annotations

import shutil
import time

import pytest
import requests
import socketio
from proxy_support import proxied_serves
from stack import Stack, seed, wait_until

from callcenter.config import load_settings
from callcenter.realtime.live import agent_room, channel_for

CLIENTS = 6

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None
                                or shutil.which("openssl") is None,
                                reason="haproxy or openssl is not installed")


@pytest.fixture
def proxied(fresh_database, redis_url, redis_conn, tmp_path):
    url, seeded = fresh_database.seeded("sqlite", seed)
    with proxied_serves(url, redis_url, tmp_path, seeded=seeded) as proxy:
        env = proxy.env
        settings = load_settings({k: env[k] for k in ("DATABASE_URL", "REDIS_URL",
                                                       "CALLCENTER_INSTANCE", "SECRET_KEY")})
        stack = Stack(proxy.https, settings, proxy.ids, proxy.tokens)
        stack.cert = proxy.cert  # type: ignore[attr-defined]
        yield stack


def test_polling_sessions_stick_to_one_process_through_the_proxy(proxied, redis_url):
    received: dict[int, list] = {n: [] for n in range(CLIENTS)}
    clients = []
    try:
        for n in range(CLIENTS):
            http = requests.Session()
            http.trust_env = False  # else REQUESTS_CA_BUNDLE would replace verify
            http.verify = str(proxied.cert)
            client = socketio.Client(reconnection=False, http_session=http)
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
