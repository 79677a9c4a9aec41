"""Temporary upload files (``<instance>/uploads``) and the periodic job that sweeps them.

A CSV import saves the upload here and its job deletes the file when it ends. Files are
left behind when that never happens: the work horse was killed (out of memory, a
deploy), or Redis lost the queued job, so no worker will ever read the file. Customer
data must not pile up on disk, so ``sweep_uploads`` (every ``SWEEP_EVERY_S``, declared in
``callcenter.schedule``) removes every file older than ``UPLOAD_MAX_AGE_S`` that no live
import job (queued, scheduled, running or waiting to be retried) still names.

It is idempotent: a second run right after the first finds nothing more to remove.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import redis
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from callcenter.config import Settings
from callcenter.jobs import JobContext, get_queue, job_task, redis_connection

log = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
#: An upload this old is no import's any more, unless a live job still names it.
UPLOAD_MAX_AGE_S = 24 * 3600
SWEEP_EVERY_S = 3600
#: The queue whose jobs read uploads (``callcenter.imports.jobs.enqueue_import``).
IMPORT_QUEUE = "imports"


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.instance_path) / UPLOADS_DIR


def files_in_use(connection: redis.Redis, queue_name: str = IMPORT_QUEUE) -> set[Path]:
    """The upload paths named by the queue's live jobs (any string argument that is one)."""
    queue = get_queue(queue_name, connection=connection)
    ids = set(queue.get_job_ids())
    for registry in (StartedJobRegistry, ScheduledJobRegistry, DeferredJobRegistry):
        ids.update(registry(queue=queue).get_job_ids())
    paths = set()
    for job in queue.job_class.fetch_many(sorted(ids), connection=connection):
        if job is None:
            continue
        for arg in job.args or ():
            if isinstance(arg, str) and arg.endswith(".csv"):
                paths.add(Path(arg).resolve())
    return paths


def sweep(settings: Settings, connection: redis.Redis, *,
          max_age_s: float = UPLOAD_MAX_AGE_S, now: float | None = None) -> dict:
    """Remove stale, unused uploads; returns ``{"removed": n, "kept": n}``."""
    folder = uploads_dir(settings)
    if not folder.is_dir():
        return {"removed": 0, "kept": 0}
    in_use = files_in_use(connection)
    return remove_stale_files(folder, lambda path: path.resolve() in in_use,
                              max_age_s=max_age_s, now=now, what="upload")


def remove_stale_files(folder: Path, in_use: Callable[[Path], bool], *, max_age_s: float,
                       now: float | None = None, what: str = "file") -> dict:
    """Remove the plain files of ``folder`` older than ``max_age_s`` for which ``in_use``
    is false; returns ``{"removed": n, "kept": n}``. Idempotent, and safe beside another
    sweep or the file's owner removing it first. (Uploads and ticket attachments.)"""
    now = time.time() if now is None else now
    removed = kept = 0
    for path in folder.iterdir():
        try:
            if not path.is_file() or path.is_symlink():
                continue
            if now - path.stat().st_mtime < max_age_s or in_use(path):
                kept += 1
                continue
            path.unlink(missing_ok=True)
            removed += 1
        except OSError as exc:  # another sweep or the owner removed it first
            log.warning("%s sweep: %s: %s", what, path.name, exc)
    if removed:
        log.info("%s sweep: removed %d stale file(s), kept %d", what, removed, kept)
    return {"removed": removed, "kept": kept}


@job_task(exclusive=True)
def sweep_uploads(ctx: JobContext) -> dict:
    """The periodic job: ``sweep`` with the worker's settings and Redis."""
    connection = ctx.job.connection if ctx.job is not None else redis_connection(ctx.settings)
    return sweep(ctx.settings, connection)
