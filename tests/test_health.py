"""/healthz and /metrics against the real parts: a live web server, the bridge on the PBX
simulator, a `callcenter worker` process, PostgreSQL that isn't there, and a private
redis-server that the test stops.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from simulator_support import originate_inbound
from stack import WAIT_S, BridgeThread, wait_until
from tcp_proxy import TcpProxy

from callcenter.app import create_app
from callcenter.config import ConfigError, load_settings
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

ROOT = Path(__file__).resolve().parent.parent
METRICS_TOKEN = "scrape-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page (it must parse)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def health(base: str) -> tuple[int, dict]:
    response = requests.get(base + "/healthz", timeout=WAIT_S)
    return response.status_code, response.json()


@pytest.fixture
def worker_process(sqlite_stack):
    settings = sqlite_stack.settings
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "CALLCENTER_INSTANCE": str(settings.instance_path),
           "SECRET_KEY": settings.secret_key}
    process = subprocess.Popen([sys.executable, "-m", "callcenter", "worker",
                                "--with-scheduler"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    process.terminate()
    process.wait(timeout=20)


def test_healthz_ready_with_everything_up_and_metrics_follow_a_pop(sqlite_stack, redis_conn,
                                                                   worker_process):
    stack = sqlite_stack
    config = SimulatorConfig(ami_port=0, rate=0, seed=3, agents=2,
                             queues=parse_queues("support:ringall=1-2", 2),
                             answer_delay=(3.0, 4.0), abandon_prob=0.0, no_answer_prob=0.0)
    with ThreadedSimulator(config) as sim, TcpProxy(sim.ami_port) as proxy:
        bridge = BridgeThread(stack.settings, proxy.port).start()
        try:
            assert bridge.leader.wait(15)
            code, body = wait_until(lambda: (r := health(stack.base))[0] == 200
                                    and r[1]["status"] == "ready" and r, 20,
                                    what="/healthz ready")
            assert {name: c["ok"] for name, c in body["checks"].items()} == {
                "database": True, "redis": True, "bridge": True, "worker": True,
                "scheduler": True, "jobs": True, "dead_letters": True}
            raw = requests.get(stack.base + "/healthz", timeout=WAIT_S).text
            for secret in ("redis://", "sqlite", "127.0.0.1", stack.settings.secret_key):
                assert secret not in raw

            # /metrics: who may read it.
            assert requests.get(stack.base + "/metrics", timeout=WAIT_S).status_code == 401
            assert stack.api("/metrics", user="agent1").status_code == 403
            bad = requests.get(stack.base + "/metrics", timeout=WAIT_S,
                               headers={"Authorization": "Bearer not-a-token"})
            assert bad.status_code == 401
            page = stack.api("/metrics")
            assert page.status_code == 200
            assert page.headers["Content-Type"].startswith("text/plain")
            before = samples(page.text)
            assert before[("callcenter_bridge_up", ())] == 1
            assert before[("callcenter_ami_link_up", ())] == 1
            assert before[("callcenter_workers", ())] >= 1
            assert before[("callcenter_jobs_failed", (("queue", "imports"),))] == 0
            pops = ("callcenter_bridge_pops_sent_total", ())
            assert before[pops] == 0

            originate_inbound(sim.ami_port, '"Health Check" <13800138000>')
            # Both members ring: two pops, published within BRIDGE_STATUS_EVERY_S.
            after = wait_until(lambda: (s := samples(stack.api("/metrics").text))[pops] >= 2
                               and s, 15, what="pops_sent to move")
            assert after[("callcenter_ami_reconnects_total", ())] == 0
            assert after[("callcenter_bridge_effect_failures_total",
                          (("worker", "pops"),))] == 0

            # The AMI link breaks and the PBX refuses the bridge for a while.
            proxy.pause(accept=False)
            assert proxy.cut() == 1
            code, body = wait_until(lambda: (r := health(stack.base))[1]["checks"]["bridge"]
                                    ["reason"] == "ami down" and r, 15, what="ami down")
            assert code == 200 and body["status"] == "degraded"
            assert samples(stack.api("/metrics").text)[("callcenter_ami_link_up", ())] == 0
            proxy.resume()
            wait_until(lambda: health(stack.base)[1]["status"] == "ready", 20,
                       what="ready again after the reconnect")
            again = wait_until(lambda: (s := samples(stack.api("/metrics").text))[
                ("callcenter_ami_reconnects_total", ())] == 1 and s, 15, what="reconnects")
            assert again[("callcenter_ami_disconnects_total", ())] == 1
            # Same bridge term: its counters went on (the resync may pop the ringing
            # call again); only a take-over by another bridge starts them at 0.
            assert again[pops] >= after[pops]
        finally:
            bridge.stop()
            close_probes(stack.app)
    # The bridge is gone: the web still serves (200), degraded, and says why.
    code, body = wait_until(lambda: (r := health(stack.base))[1]["status"] == "degraded"
                            and r, 20, what="/healthz degraded")
    assert code == 200
    assert body["checks"]["bridge"] == {"ok": False, "reason": "no leader", "required": False}
    close_probes(stack.app)


def close_probes(app) -> None:
    """The probes' Redis client lives as long as its app; a test's app ends with it."""
    client = app.extensions.get("health_redis")
    if client is not None:
        client.close()


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def factory(**env):
        apps.append(create_app(load_settings({
            "CALLCENTER_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "x" * 24,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'health.sqlite3'}", **env})))
        return apps[-1]
    yield factory
    for app in apps:
        close_probes(app)
        app.extensions["db_engine"].dispose()


def test_healthz_503_when_the_database_is_unreachable(make_app, redis_url):
    # Port 1 on this host: nothing listens, the connection is refused.
    app = make_app(REDIS_URL=redis_url,
                   DATABASE_URL="postgresql://cc:s3cret-pass@127.0.0.1:1/callcenter")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == {"ok": False, "reason": "unreachable",
                                          "required": True}
    assert body["checks"]["redis"]["ok"] is True
    assert "s3cret" not in response.get_data(as_text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_to_stop():
    port = _free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        wait_until(lambda: _pings(client), 10, what="redis-server up")
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_healthz_503_and_metrics_say_so_when_redis_is_down(make_app, redis_to_stop):
    process, url = redis_to_stop
    client = make_app(REDIS_URL=url, METRICS_TOKEN=METRICS_TOKEN).test_client()
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    up = client.get("/healthz")
    assert up.status_code == 200 and up.get_json()["status"] == "degraded"  # no bridge
    assert samples(client.get("/metrics", headers=scrape).get_data(as_text=True))[
        ("callcenter_redis_up", ())] == 1

    process.terminate()
    process.wait(timeout=10)
    down = client.get("/healthz")
    assert down.status_code == 503
    checks = down.get_json()["checks"]
    assert checks["redis"] == {"ok": False, "reason": "unreachable", "required": True}
    assert checks["database"]["ok"] is True
    assert checks["bridge"]["reason"] == "unknown"
    page = client.get("/metrics", headers=scrape)
    assert page.status_code == 200
    assert samples(page.get_data(as_text=True))[("callcenter_redis_up", ())] == 0


def test_metrics_token_is_checked_at_start(tmp_path):
    base = {"CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "x" * 24}
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings({**base, "METRICS_TOKEN": "short"})
    assert load_settings(base).metrics_token is None
    assert load_settings({**base, "METRICS_TOKEN": METRICS_TOKEN}).metrics_token == \
        METRICS_TOKEN
