"""Fixtures of the fault tests: ``rig``, a real Asterisk with the product around it.

``rig`` (live_pbx tests): a fresh PostgreSQL database seeded like tests/stack.py (agents
agent1..agent5 on ``Local/agentN@agents/n``, the support and repairs queues), a private
Redis of the test's own (AOF on, as compose runs it, so a test may stop and restart it),
a private Asterisk 22 (tests/live_pbx.py) whose dialplan dials the test's FastAGI port,
and ``rig.start_bridge()``: ``python -m callcenter bridge`` as a real process. PostgreSQL
only: the bridge and the test are separate processes, as in production, and one backend
keeps the live tests inside their time budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from live_oracle import Counters, disagreements
from live_pbx import BridgeProcess, PrivateAsterisk, free_port, require_asterisk
from redis_server import PrivateRedis
from serve_support import serve_env
from sqlalchemy.orm import Session
from stack import seed

from callcenter.db import make_engine, utcnow
from callcenter.realtime.live import read_bridge_status


@dataclass
class Rig:
    tmp: Path
    pbx: PrivateAsterisk
    redis_server: PrivateRedis
    database_url: str
    ids: dict[str, int]
    engine: object
    day_start: datetime
    bridges: list[BridgeProcess] = field(default_factory=list)

    @property
    def agents(self) -> dict[int, int]:
        return {n: self.ids[f"agent{n}"] for n in range(1, 6)}

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url, socket_timeout=5)

    def env(self, ami_port: int | None = None, **extra: str) -> dict[str, str]:
        env = serve_env(self.database_url, self.redis_server.url, self.tmp / "instance")
        env.update(AMI_HOST="127.0.0.1", AMI_PORT=str(ami_port or self.pbx.ami_port),
                   AMI_USERNAME=self.pbx.bridge_user, AMI_SECRET=self.pbx.bridge_secret,
                   AGI_HOST="127.0.0.1", AGI_PORT=str(self.pbx.agi_port),
                   BRIDGE_LEADER_TTL="5", PBX_QUEUE_LOG=str(self.pbx.queue_log), **extra)
        return env

    def start_bridge(self, ami_port: int | None = None, **extra_env: str) -> BridgeProcess:
        bridge = BridgeProcess(self.env(ami_port, **extra_env),
                               self.tmp / "bridge.log").start()
        self.bridges.append(bridge)
        return bridge

    def start_worker(self, **extra_env: str) -> BridgeProcess:
        """``callcenter worker --with-scheduler``: the jobs (after-call work's end, ...)."""
        worker = BridgeProcess(self.env(**extra_env), self.tmp / "worker.log",
                               command=("worker", "--with-scheduler")).start()
        self.bridges.append(worker)
        return worker

    def wait_bridge(self, bridge: BridgeProcess, since: float, timeout: float = 30.0) -> float:
        """Seconds until the bridge (started at ``since``, epoch) is active and logged in
        to the AMI, as its status in Redis says."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert bridge.alive(), "the bridge exited:\n" + bridge.output()
            client = self.redis()
            try:
                status = read_bridge_status(client)
            except redis.RedisError:
                status = None
            finally:
                client.close()
            if status and status["at"] >= since and status["ami_up"] \
                    and status["counters"].get("ami_resyncs", 0) >= 1:
                return time.time() - since
            time.sleep(0.2)
        raise AssertionError(f"the bridge was not up in {timeout} s:\n" + bridge.output())

    def check(self) -> tuple[list[str], int, int]:
        client = self.redis()
        try:
            with Session(self.engine) as session:
                return disagreements(self.pbx.queue_log, session, client, self.agents,
                                     day_start=self.day_start)
        finally:
            client.close()

    def settle(self, counters: Counters, until: float) -> list[str]:
        """Checks until they hold or the monotonic time ``until``; the last problems."""
        began = time.monotonic()
        while True:
            problems, counters.calls_checked, counters.pops_checked = self.check()
            if not problems:
                counters.converged_after_s = round(time.monotonic() - began, 1)
                return []
            if time.monotonic() >= until:
                return problems
            time.sleep(1.0)

    def close(self) -> None:
        for bridge in self.bridges:
            bridge.stop()
        self.pbx.stop()
        self.redis_server.stop()
        self.engine.dispose()


@pytest.fixture
def rig(fresh_database, tmp_path) -> Iterator[Rig]:
    binary = require_asterisk()  # skips (fails under CI) before anything is built
    url, (ids, _tokens) = fresh_database.seeded("postgresql", seed)
    server = PrivateRedis(tmp_path / "redis", persist=True)
    server.start()
    pbx = PrivateAsterisk(tmp_path / "pbx", agi_port=free_port(), binary=binary)
    try:
        pbx.start()
    except BaseException:
        server.stop()
        raise
    the_rig = Rig(tmp_path, pbx, server, url, ids, make_engine(url),
                  utcnow() - timedelta(minutes=1))
    try:
        yield the_rig
    finally:
        the_rig.close()
