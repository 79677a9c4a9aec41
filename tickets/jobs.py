"""The escalation timers: RQ jobs per due second, and the reconciler that rebuilds them.

A ticket's timer is the job ``sla-due-<epoch>``, ``epoch`` being its
``next_escalation_at`` rounded up to the second, enqueued with ``enqueue_once(at=...)``
after the commit that set it: every ticket due in that second shares the job, and any
number of enqueuers add one. The handler fires whatever is due by the time it runs
(``fire_due_escalations``), so it is idempotent and a late or repeated run is harmless.
A finished timer leaves no record (``result_ttl`` 0): a ticket re-armed into the same
second later gets a fresh job.

Redis may lose the timers (restarted without its data, flushed); the database may not.
``reconcile_escalations`` (a periodic job, every ``RECONCILE_EVERY_S``) fires anything
overdue and re-creates the timer of every distinct future second within
``HORIZON_S`` (one ``SELECT DISTINCT`` of second buckets). Timers further out are armed
by a later run before they are due, which keeps a run cheap with months of timers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import redis
from rq import Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.db import utcnow
from callcenter.jobs import JobContext, enqueue_once, get_queue, job_task, redis_connection
from tickets.escalation import fire_due_escalations
from tickets.models import Ticket

log = logging.getLogger(__name__)

TIMER_PREFIX = "sla-due-"
#: A timer that failed (the database was away) tries again soon: it is late already.
TIMER_RETRY = Retry(max=5, interval=[2, 5, 15, 60, 300])
TIMER_TIMEOUT_S = 900
#: How often the reconciler runs (its line in callcenter.schedule.periodic_jobs).
RECONCILE_EVERY_S = 5
#: Timers due further out than this are left to a later reconciler run.
HORIZON_S = 900


def timer_epoch(due: datetime) -> int:
    """The second whose timer fires ``due``: rounded up, so the job never runs early."""
    return math.ceil(due.timestamp())


def timer_id(epoch: int) -> str:
    return f"{TIMER_PREFIX}{epoch}"


def arm_timers(dues: Iterable[datetime], *, settings: Settings | None = None,
               connection: redis.Redis | None = None, horizon_s: float = HORIZON_S) -> int:
    """Make sure the timer job of each due's second exists (after commit). Returns how
    many were created. Redis unreachable: logged, the reconciler re-arms them later."""
    limit = time.time() + horizon_s
    epochs = sorted({timer_epoch(d) for d in dues if d is not None})
    epochs = [e for e in epochs if e <= limit]
    if not epochs:
        return 0
    try:
        connection = connection or redis_connection(settings)
        # One round trip to skip the seconds that have their job already (the usual case).
        with connection.pipeline(transaction=False) as pipe:
            for epoch in epochs:
                pipe.exists(Job.key_for(timer_id(epoch)))
            present = pipe.execute()
        created = 0
        for epoch, there in zip(epochs, present, strict=True):
            if not there:
                created += _enqueue_timer(epoch, connection)
        return created
    except redis.RedisError as exc:
        log.warning("escalation timers not armed (%s); the reconciler re-arms them", exc)
        return 0


def _enqueue_timer(epoch: int, connection: redis.Redis) -> int:
    _, created = enqueue_once(fire_due, epoch, job_id=timer_id(epoch),
                              at=datetime.fromtimestamp(epoch, UTC), retry=TIMER_RETRY,
                              timeout_s=TIMER_TIMEOUT_S, result_ttl_s=0,
                              description=f"escalation timer {epoch}",
                              connection=connection)
    return int(created)


@job_task
def fire_due(ctx: JobContext, epoch: int, batch: int | None = None) -> dict:
    """The timer of second ``epoch``: fire every step due now (not only this second's)."""
    kwargs = {"batch": batch} if batch else {}
    result = fire_due_escalations(ctx.session, ctx.settings, **kwargs)
    return {"epoch": epoch, "fired": result.fired, "rearmed": result.rearmed}


def future_timer_epochs(session: Session, *, now: datetime, horizon_s: float = HORIZON_S
                        ) -> list[int]:
    """The distinct seconds of the timers due after ``now`` within the horizon."""
    column = Ticket.next_escalation_at
    window = (column > now, column <= now + timedelta(seconds=horizon_s))
    if session.get_bind().dialect.name == "postgresql":
        bucket = func.ceil(func.extract("epoch", column))
        return sorted(int(e) for e in session.scalars(select(bucket).where(*window)
                                                      .distinct()))
    # SQLite keeps the instants as text: bucket them here (small installations).
    return sorted({timer_epoch(d) for d in session.scalars(select(column).where(*window)
                                                            .distinct())})


def reconcile_timers(session: Session, connection: redis.Redis, *, now: datetime
                     ) -> list[int]:
    """Create the missing timer jobs; returns their seconds."""
    epochs = future_timer_epochs(session, now=now)
    if not epochs:
        return []
    registry = ScheduledJobRegistry(queue=get_queue("default", connection=connection))
    scheduled = set(registry.get_job_ids())
    created = [e for e in epochs if timer_id(e) not in scheduled
               and _enqueue_timer(e, connection)]
    if created:
        log.info("escalation timers: re-created %d missing timer(s)", len(created))
    return created


@job_task(exclusive=True)
def reconcile_escalations(ctx: JobContext) -> dict:
    """The periodic job: fire what is overdue, re-create lost timers."""
    connection = ctx.job.connection if ctx.job is not None else redis_connection(ctx.settings)
    swept = fire_due_escalations(ctx.session, ctx.settings)
    created = reconcile_timers(ctx.session, connection, now=utcnow())
    return {"fired": swept.fired, "timers_created": len(created)}
