"""Background job of the CSV import: run an uploaded file on the "imports" queue."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from callcenter.core.errors import Problem
from callcenter.imports.importer import ImportFileError, import_csv
from callcenter.jobs import JobContext, get_queue, job_task
from callcenter.uploads import UPLOADS_DIR
from callcenter.users.models import User

log = logging.getLogger(__name__)

#: How often progress reaches job.meta (a Redis write), at most.
PROGRESS_EVERY_S = 0.5
#: Errors kept in job.meta for the web page; the full list is in the CLI's --errors-out.
META_ERRORS = 200
IMPORT_TIMEOUT_S = 3 * 3600
#: How long the outcome of an import stays readable on its progress page.
IMPORT_RESULT_TTL_S = 7 * 24 * 3600


def enqueue_import(kind: str, path: str, user_id: int, *, filename: str = "",
                   settings=None):
    """Queue ``run_import`` on the "imports" queue; the job's meta says who started it."""
    return get_queue("imports", settings=settings).enqueue(
        run_import, kind, str(path), user_id,
        job_timeout=IMPORT_TIMEOUT_S, result_ttl=IMPORT_RESULT_TTL_S,
        failure_ttl=IMPORT_RESULT_TTL_S,
        meta={"user_id": user_id, "kind": kind, "filename": filename[:200],
              "rows_done": 0, "bytes_done": 0, "bytes_total": None},
        description=f"import {kind} for user {user_id}")


@job_task
def run_import(ctx: JobContext, kind: str, path: str, user_id: int) -> dict:
    """Import the file at ``path`` as ``kind`` for user ``user_id``; returns the summary.

    Progress (rows_done, bytes_done, bytes_total) goes to job.meta every
    PROGRESS_EVERY_S; at the end meta holds the summary and the first META_ERRORS
    errors. An unusable file leaves ``file_error`` in meta and fails the job. Errors and
    notices are kept as ``[code, params]``, never as text: whoever reads the outcome
    later reads it in their own language (``callcenter.imports.views``).
    """
    job = ctx.job
    last_save = 0.0

    def save(**values) -> None:
        if job is not None:
            job.meta.update(values)
            job.save_meta()

    def progress(rows: int, bytes_done: int | None, bytes_total: int | None) -> None:
        nonlocal last_save
        now = time.monotonic()
        if now - last_save >= PROGRESS_EVERY_S:
            last_save = now
            save(rows_done=rows, bytes_done=bytes_done, bytes_total=bytes_total)

    file = Path(path)
    try:
        user = ctx.session.get(User, user_id)
        if user is None or not user.active:
            raise ImportFileError(Problem("import.user_gone"))
        result = import_csv(ctx.session, user, kind, file,
                            region=ctx.settings.default_phone_region, progress=progress)
    except ImportFileError as exc:
        save(file_error=[exc.problem.code, dict(exc.problem.params)])
        raise
    finally:
        _remove_upload(file, ctx.settings.instance_path)
    summary = result.summary()
    save(rows_done=result.rows_read, bytes_done=job.meta.get("bytes_total") if job else None,
         summary=summary, errors=[[e.line, e.field, e.code, dict(e.problem.params)]
                                  for e in result.errors[:META_ERRORS]])
    log.info("import %s by user %s: %s", kind, user_id, summary)
    return summary


def _remove_upload(file: Path, instance_path: Path) -> None:
    """Uploaded files are temporary; files given from elsewhere are not ours to delete."""
    uploads = (instance_path / UPLOADS_DIR).resolve()
    try:
        if file.resolve().is_relative_to(uploads):
            file.unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove uploaded file %s", file)
