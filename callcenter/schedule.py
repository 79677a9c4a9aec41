"""Periodic jobs: declared once here, kept scheduled by a reconciler that Redis can't fool.

Each periodic job runs once per *slot*: slot ``k`` of a job starts at
``k * interval_s + offset_s`` (the offset spreads jobs with the same interval over
it). A slot's RQ job id is deterministic, ``periodic-<name>-<definition digest>-<k>``,
so every worker, and every restart, computes the same ids, and RQ's atomic ``unique``
enqueue turns a second scheduling into a no-op.

``reconcile`` makes sure of two jobs per definition:

* the current slot's (enqueued now if it is missing: first start, or Redis lost it;
  a finished run keeps its record for ``interval_s`` so it is not run twice);
* the next slot's, waiting in RQ's scheduled registry until it is due.

Scheduled jobs of definitions that changed or went away (another digest) are removed,
as redash's ``schedule_periodic_jobs`` does. The reconciler runs in every worker started
``--with-scheduler``, at start and every ``RECONCILE_EVERY_S``; deterministic ids make
two of them agree rather than race.

Why not RQ's own ``CronScheduler`` (rq.cron, RQ ≥ 2.5)? It keeps "last enqueued" in the
memory of one process: two schedulers (two workers, or one restarted at the wrong
moment) enqueue the same run twice, and nothing re-creates a run Redis lost between
two of its ticks. Deterministic slot ids need neither a single scheduler nor memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from rq import Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from callcenter.jobs import DEFAULT_RETRY, RECONCILE_EVERY_S, enqueue_once, get_queue

log = logging.getLogger(__name__)

PERIODIC_PREFIX = "periodic-"


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic job: ``func`` (an enqueueable function) every ``interval_s``."""

    #: Stable and short (letters, digits, '_'): part of the job ids and of the logs.
    name: str
    func: Callable
    interval_s: int
    queue: str = "default"
    timeout_s: int = 600
    retry: Retry | None = DEFAULT_RETRY
    args: tuple = ()
    #: A job every few seconds: its routine runs are logged at DEBUG, not INFO (RQ's
    #: four lines a run would bury everything else). Failures are logged as ever.
    quiet: bool = False

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c == "_" for c in self.name):
            raise ValueError(f"periodic job name {self.name!r}: letters, digits and '_'")
        if self.interval_s < 1:
            raise ValueError(f"periodic job {self.name}: interval_s must be at least 1")

    @property
    def func_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def digest(self) -> str:
        """Changes when the definition does: its old scheduled runs are then removed."""
        blob = json.dumps([self.name, self.func_path, self.interval_s, self.queue,
                           self.timeout_s, list(self.args)], sort_keys=True)
        return hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()[:8]

    @property
    def offset_s(self) -> int:
        seed = hashlib.sha1(self.name.encode(), usedforsecurity=False).digest()
        return int.from_bytes(seed[:4], "big") % self.interval_s

    @property
    def key(self) -> str:
        """The id prefix shared by every run of this definition."""
        return f"{PERIODIC_PREFIX}{self.name}-{self.digest}-"

    def slot(self, at: float) -> int:
        return math.floor((at - self.offset_s) / self.interval_s)

    def slot_start(self, slot: int) -> float:
        return slot * self.interval_s + self.offset_s

    def job_id(self, slot: int) -> str:
        return f"{self.key}{slot}"


def periodic_jobs() -> list[PeriodicJob]:
    """Every periodic job of the product (a new domain adds its own line here)."""
    from callcenter.desk.acw import RECONCILE_EVERY_S as ACW_EVERY_S
    from callcenter.desk.acw import reconcile_after_call_work
    from callcenter.uploads import SWEEP_EVERY_S, sweep_uploads
    from tickets.attachments import SWEEP_ORPHANS_EVERY_S, sweep_orphan_attachments
    from tickets.jobs import RECONCILE_EVERY_S as SLA_EVERY_S
    from tickets.jobs import reconcile_escalations

    return [
        PeriodicJob("sweep_uploads", sweep_uploads, SWEEP_EVERY_S, timeout_s=300,
                    retry=Retry(max=2, interval=[60, 300])),
        PeriodicJob("sweep_orphan_attachments", sweep_orphan_attachments,
                    SWEEP_ORPHANS_EVERY_S, timeout_s=300, retry=Retry(max=2, interval=[60, 300])),
        PeriodicJob("sla_reconcile", reconcile_escalations, SLA_EVERY_S, timeout_s=600,
                    retry=None, quiet=True),
        PeriodicJob("acw_reconcile", reconcile_after_call_work, ACW_EVERY_S, timeout_s=120,
                    retry=None, quiet=True),
    ]


@dataclass
class ReconcileResult:
    enqueued: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def reconcile(connection: redis.Redis, definitions: list[PeriodicJob] | None = None, *,
              now: float | None = None) -> ReconcileResult:
    """Schedule what is missing, remove what is no longer declared; idempotent."""
    definitions = periodic_jobs() if definitions is None else definitions
    now = time.time() if now is None else now
    result = ReconcileResult()
    for d in definitions:
        current = d.slot(now)
        options = {"queue": d.queue, "retry": d.retry, "timeout_s": d.timeout_s,
                   # A finished run stays known until its slot is over: not run twice.
                   "result_ttl_s": d.interval_s + d.timeout_s,
                   "description": f"periodic {d.name} (every {d.interval_s} s)",
                   "meta": {"periodic": d.name}, "connection": connection}
        _, created = enqueue_once(d.func, *d.args, job_id=d.job_id(current), **options)
        if created:
            result.enqueued.append(d.job_id(current))
        at = datetime.fromtimestamp(d.slot_start(current + 1), UTC)
        _, created = enqueue_once(d.func, *d.args, job_id=d.job_id(current + 1), at=at,
                                  **options)
        if created:
            result.scheduled.append(d.job_id(current + 1))
    wanted = {d.key for d in definitions}
    for queue in {d.queue for d in definitions} | {"default"}:
        registry = ScheduledJobRegistry(queue=get_queue(queue, connection=connection))
        for job_id in registry.get_job_ids():
            if job_id.startswith(PERIODIC_PREFIX) and job_id[:job_id.rfind("-") + 1] \
                    not in wanted:
                registry.remove(job_id, delete_job=True)
                result.removed.append(job_id)
    quiet = tuple(d.key for d in definitions if d.quiet)
    for what, ids in (("enqueued", result.enqueued), ("scheduled", result.scheduled),
                      ("removed", result.removed)):
        for job_id in ids:
            level = logging.DEBUG if quiet and job_id.startswith(quiet) else logging.INFO
            log.log(level, "periodic jobs: %s %s", what, job_id)
    return result


def periodic_job_ids(connection: redis.Redis, definition: PeriodicJob) -> list[str]:
    """The ids of this definition's runs that Redis knows (any state), sorted."""
    keys = connection.scan_iter(match=f"{Job.redis_job_namespace_prefix}{definition.key}*",
                                count=500)
    prefix = len(Job.redis_job_namespace_prefix)
    return sorted(k.decode()[prefix:] if isinstance(k, bytes) else k[prefix:] for k in keys)


#: Jobs that run with every call (after-call work's end, its default wrap-up, the end on
#: a saved wrap-up): their routine runs are DEBUG too, else a busy queue's console is
#: four lines of RQ per call. Their failures are logged as ever.
QUIET_JOBS = ("acw-end-", "acw-default-", "acw-saved-", "callcenter.desk.acw.")


class QuietPeriodicRuns(logging.Filter):
    """Demotes RQ's INFO lines about the runs of quiet periodic jobs (by id or by their
    description, as "Successfully completed periodic ..." names them) and of the
    per-call jobs of ``QUIET_JOBS`` to DEBUG."""

    def __init__(self, definitions: list[PeriodicJob] | None = None) -> None:
        super().__init__()
        definitions = periodic_jobs() if definitions is None else definitions
        quiet = [d for d in definitions if d.quiet]
        self.prefixes = (tuple(d.key for d in quiet)
                         + tuple(f"periodic {d.name} (every" for d in quiet) + QUIET_JOBS)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self.prefixes:
            return True
        message = record.getMessage()
        if not any(prefix in message for prefix in self.prefixes):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class Reconciler:
    """``reconcile`` at start and then every ``every_s``, in a daemon thread.

    Its Redis client is its own: the worker forks a work horse per job, and a child
    must never inherit a connection a thread was using at that moment.
    """

    def __init__(self, connection: redis.Redis, *, every_s: float = RECONCILE_EVERY_S,
                 definitions: list[PeriodicJob] | None = None) -> None:
        self.connection = connection
        self.every_s = every_s
        self.definitions = definitions
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic-reconciler",
                                        daemon=True)

    def run_once(self) -> ReconcileResult | None:
        try:
            return reconcile(self.connection, self.definitions)
        except redis.RedisError as exc:
            log.warning("periodic jobs: could not reconcile (%s); next try in %.0f s",
                        exc, self.every_s)
            return None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()
