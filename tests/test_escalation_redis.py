# ruff: noqa: F811 - the fixtures imported from escalation_support are test arguments
"""Redis restarts empty while escalations are pending: the timers come back from the
database (the reconciler) and every step fires exactly once.

A worker ``--with-scheduler`` runs all along against a Redis server of this test's own,
which is stopped and started again on the same port, empty, before the timers are due.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from escalation_support import (  # noqa: F401 - fixtures
    bulk_tickets,
    counts,
    db,
    esc_database,
    esc_factory,
    esc_settings,
    make_customer_for,
    make_org,
    minutes,
    wait_until,
)
from redis_server import PrivateRedis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from callcenter.jobs import get_queue
from tickets.jobs import arm_timers
from tickets.models import Ticket, TicketEscalation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def _restart_empty(server: PrivateRedis) -> None:
    port = server.port
    server.stop()
    server.port = port
    assert server._launch(), "redis-server did not come back on its port"


def test_timers_lost_with_redis_come_back_and_fire_once(db, esc_settings, own_redis, tmp_path):
    settings = replace(esc_settings, redis_url=own_redis.url)
    conn = redis.Redis.from_url(own_redis.url)
    org = make_org(db)
    customer = make_customer_for(db, org.agent)
    # 40 tickets whose warning falls due 6 to 14 s from now, 10 of them per second.
    now = datetime.now(UTC)
    ids = []
    for k in range(4):
        created = now - minutes(8) + minutes((6 + 2 * k) / 60)
        ids += bulk_tickets(db, customer.id, org, 10, created_at=created,
                            resolution_minutes=10)
    db.commit()
    dues = list(db.scalars(select(Ticket.next_escalation_at).where(Ticket.id.in_(ids))))
    assert arm_timers(dues, connection=conn) == 4

    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": own_redis.url,
           "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
           "CALLCENTER_INSTANCE": str(tmp_path / "instance")}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "callcenter", "worker",
                               "--with-scheduler"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        registry = ScheduledJobRegistry(queue=get_queue("default", connection=conn))
        wait_until(lambda: any(j.startswith("periodic-sla_reconcile")
                               for j in registry.get_job_ids()), 30, "the worker")
        assert len([j for j in registry.get_job_ids() if j.startswith("sla-due-")]) == 4

        # Redis goes away and comes back with nothing: no timer, no periodic job. (The
        # worker may write its own keys again at once: the server's run id says it is a
        # new, empty one, not what it holds a moment later.)
        before = conn.info("server")["run_id"]
        _restart_empty(own_redis)
        conn = redis.Redis.from_url(own_redis.url)
        assert conn.info("server")["run_id"] != before
        assert db.scalar(select(func.count()).select_from(TicketEscalation).where(
            TicketEscalation.ticket_id.in_(ids))) == 0

        # The worker's reconciler re-creates the periodic jobs, whose run re-arms the
        # timers, which fire: each ticket warned once.
        def fired():
            db.expire_all()
            return db.scalar(select(func.count()).select_from(TicketEscalation).where(
                TicketEscalation.ticket_id.in_(ids))) == len(ids)
        wait_until(fired, 60, "the escalations after the restart")
        assert counts(db, ids) == {"escalations": 40, "notices": 40, "level_history": 0,
                                   "priority_history": 0}
        rows = db.execute(select(TicketEscalation.fired_at, TicketEscalation.due_at).where(
            TicketEscalation.ticket_id.in_(ids))).all()
        assert all(fired_at >= due_at for fired_at, due_at in rows)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
    # Nothing fired twice, and nothing more fires (the next step is minutes away).
    assert counts(db, ids)["escalations"] == 40
