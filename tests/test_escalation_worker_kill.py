# ruff: noqa: F811 - the fixtures imported from escalation_support are test arguments
"""A worker SIGKILLed in the middle of an escalation job: what it committed is whole,
what it did not is redone by the reconciler, and nothing happens twice.

1,500 tickets are overdue for every step of the ladder (warn, lead, up); one timer job
works through them 25 tickets per transaction. The worker and its work horse are
killed once some but not all batches are committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

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
from sqlalchemy import func, select

from callcenter.jobs import enqueue_once
from tickets.escalation import fire_due_escalations
from tickets.jobs import fire_due, timer_id
from tickets.models import Priority, Ticket, TicketEscalation, TicketHistory, TicketNotice

ROOT = Path(__file__).resolve().parent.parent
N = 1500
#: Notices after 0, 1, 2 or 3 steps: warn (agent), lead (lead + agent), up (top lead).
NOTICES_AFTER = (0, 1, 3, 4)


def _fired(db) -> int:
    db.rollback()   # a fresh snapshot: see what the workers committed since
    return db.scalar(select(func.count()).select_from(TicketEscalation))


def _settled(db) -> int:
    """The count once no commit is landing any more: a COMMIT the killed work horse sent
    just before the SIGKILL still completes on the server a moment later."""
    last = _fired(db)
    while True:
        time.sleep(0.5)
        now = _fired(db)
        if now == last:
            return now
        last = now


def _per_ticket(db, model, *where) -> dict[int, int]:
    return dict(db.execute(select(model.ticket_id, func.count()).where(*where)
                           .group_by(model.ticket_id)).all())


def _consistent(db, ids) -> dict[int, int]:
    """Every ticket's rows match its steps fired exactly; returns steps per ticket."""
    db.rollback()
    steps = _per_ticket(db, TicketEscalation)
    notices = _per_ticket(db, TicketNotice)
    levels = _per_ticket(db, TicketHistory, TicketHistory.field == "escalation_level")
    raised = _per_ticket(db, TicketHistory, TicketHistory.field == "priority")
    for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(ids))):
        n = steps.get(ticket.id, 0)
        assert notices.get(ticket.id, 0) == NOTICES_AFTER[n], ticket.id
        assert levels.get(ticket.id, 0) == max(0, n - 1)
        assert raised.get(ticket.id, 0) == (1 if n >= 2 else 0)
        assert ticket.escalation_level == max(0, n - 1)
        assert ticket.priority == (Priority.HIGH if n >= 2 else Priority.NORMAL)
        assert (ticket.next_escalation_at is None) == (n == 3)
    return steps


def _start_worker(env, log, *args):
    return subprocess.Popen([sys.executable, "-m", "callcenter", "worker", *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill_with_horse(worker) -> None:
    """SIGKILL the worker and the work horse running the job. RQ's horse calls setsid(),
    so it is in a session of its own: killing the worker's process group misses it."""
    horses = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True,
                            text=True).stdout.split()
    assert horses, "no work horse: the job is not running"
    for pid in horses:
        os.kill(int(pid), signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def _stop(worker, sig=signal.SIGTERM):
    try:
        os.killpg(worker.pid, sig)
    except ProcessLookupError:
        return
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def test_a_worker_killed_mid_sweep_changes_nothing_twice(db, esc_settings, redis_conn,
                                                         redis_url, tmp_path):
    org = make_org(db)
    customer = make_customer_for(db, org.agent)
    ids = bulk_tickets(db, customer.id, org, N,
                       created_at=datetime.now(UTC) - minutes(200), resolution_minutes=100)
    db.commit()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url,
           "DATABASE_URL": esc_settings.database_url, "SECRET_KEY": esc_settings.secret_key,
           "CALLCENTER_INSTANCE": str(tmp_path / "instance")}
    epoch = int(time.time())
    enqueue_once(fire_due, epoch, 25, job_id=timer_id(epoch), connection=redis_conn)

    log = (tmp_path / "worker.log").open("w")
    worker = _start_worker(env, log)  # no scheduler: only the timer job runs
    try:
        wait_until(lambda: _fired(db) > 0, 60, "the first batch")
        _kill_with_horse(worker)
        done = _settled(db)
        assert 0 < done < 3 * N, f"the sweep was not caught in the middle: {done}"
        _consistent(db, ids)

        # A worker with the scheduler: the reconciler sweeps what is left.
        worker = _start_worker(env, log, "--with-scheduler")
        wait_until(lambda: _fired(db) == 3 * N, 120, "the rest of the sweep")
    finally:
        _stop(worker)
        log.close()
    steps = _consistent(db, ids)
    assert set(steps.values()) == {3}
    assert counts(db, ids) == {"escalations": 3 * N, "notices": 4 * N,
                               "level_history": 2 * N, "priority_history": N}
    # Run again, as the killed job's retry would: nothing left to do.
    assert fire_due_escalations(db, replace(esc_settings, redis_url=redis_url)).fired == 0
