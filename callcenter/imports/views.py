"""Web import of a CSV file: upload (supervisors, admins), then a page that shows progress.

The upload is saved under ``instance/uploads`` with a random name and handed to the
``imports`` queue (``callcenter.imports.jobs.run_import``); the progress page polls
``/imports/<job_id>/status``, which answers only the user who started the import, or
an administrator (anyone else gets 404, as for a job that does not exist).
"""

from __future__ import annotations

import logging
import secrets

import redis
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from rq.job import Job, JobStatus
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from callcenter.auth import permission_required
from callcenter.core.messages import render
from callcenter.imports.jobs import enqueue_import
from callcenter.imports.write import KINDS
from callcenter.jobs import fetch_job
from callcenter.uploads import uploads_dir
from callcenter.users.models import Role
from callcenter.users.permissions import Permission

log = logging.getLogger(__name__)

imports_bp = Blueprint("imports", __name__, url_prefix="/imports")

KIND_LABELS = {"customers": _l("Customers"), "contacts": _l("Contacts"),
               "products": _l("Installed products")}
RUN_IMPORT = "callcenter.imports.jobs.run_import"


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file contains"),
                       choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()])
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])


def _render_form(form: ImportForm, status: int = 200, error: str | None = None):
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return render_template("imports/import.html", form=form, kinds=KINDS,
                           kind_labels=KIND_LABELS, limit_mb=limit_mb, error=error), status


@imports_bp.route("/", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CUSTOMER_IMPORT)
def upload():
    form = ImportForm()
    try:
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _render_form(form, 413, _("The file is larger than the limit of %(mb)d MB.",
                                         mb=(current_app.config["MAX_CONTENT_LENGTH"]
                                             // (1024 * 1024))))
    if not valid:
        return _render_form(form, 422 if form.is_submitted() else 200)
    uploads = uploads_dir(current_app.config["SETTINGS"])
    uploads.mkdir(parents=True, exist_ok=True)
    # A random name: the user's file name never reaches the file system.
    path = uploads / f"{secrets.token_hex(16)}.csv"
    form.file.data.save(path)
    if path.stat().st_size == 0:
        path.unlink()
        return _render_form(form, 422, _("The file is empty."))
    try:
        job = enqueue_import(form.kind.data, str(path), current_user.id,
                             filename=form.file.data.filename or "",
                             settings=current_app.config["SETTINGS"])
    except redis.RedisError:
        log.exception("could not queue an import")
        path.unlink(missing_ok=True)
        return _render_form(form, 503, _("The background worker cannot be reached right "
                                         "now. Try again in a minute."))
    return redirect(url_for("imports.progress", job_id=job.id))


def _own_import(job_id: str) -> Job:
    """The import job, if the current user started it or is an admin; else 404."""
    try:
        job = fetch_job(job_id, settings=current_app.config["SETTINGS"])
    except redis.RedisError:
        abort(503)
    if job is None or job.func_name != RUN_IMPORT:
        abort(404)
    if job.meta.get("user_id") != current_user.id and current_user.role != Role.ADMIN:
        abort(404)
    return job


@imports_bp.route("/<job_id>")
@login_required
def progress(job_id: str):
    job = _own_import(job_id)
    return render_template("imports/import_progress.html", job=job, meta=job.meta,
                           kind_label=KIND_LABELS.get(job.meta.get("kind"), ""),
                           status_url=url_for("imports.status", job_id=job.id))


@imports_bp.route("/<job_id>/status")
@login_required
def status(job_id: str):
    job = _own_import(job_id)
    return jsonify(import_status(job))


def import_status(job: Job) -> dict:
    """What the progress page shows: state, progress, and at the end summary and errors."""
    meta = job.meta
    rq_status = job.get_status(refresh=False)
    if rq_status == JobStatus.FINISHED:
        state = "finished"
    elif rq_status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        state = "failed"
    elif rq_status == JobStatus.STARTED:
        state = "running"
    else:
        state = "queued"
    done, total = meta.get("bytes_done"), meta.get("bytes_total")
    percent = 100 if state == "finished" else (
        min(99, int(done * 100 / total)) if done and total else 0)
    summary = meta.get("summary")
    if summary is not None:
        summary = {**summary, "notices": [_words(n) for n in summary.get("notices", [])]}
    body = {"id": job.id, "state": state, "kind": meta.get("kind"),
            "filename": meta.get("filename", ""), "rows_done": meta.get("rows_done", 0),
            "bytes_done": done, "bytes_total": total, "percent": percent,
            "summary": summary,
            # Each error is a code and its values, worded here in the reader's language.
            "errors": [{"line": line, "field": field, "code": code,
                        "message": render(code, params)}
                       for line, field, code, params in meta.get("errors", [])]}
    if state == "failed":
        # The file's own problem is worth showing; a crash's traceback is not.
        file_error = meta.get("file_error")
        body["message"] = _words(file_error) if file_error else _(
            "The import failed. Try again, or ask an administrator to look at the "
            "worker's log.")
        if isinstance(file_error, list):
            body["code"] = file_error[0]
    return body


def _words(kept) -> str:
    """A kept ``[code, params]`` in the reader's language (text kept by an older
    version as it is)."""
    if isinstance(kept, list | tuple) and len(kept) == 2:
        return render(kept[0], kept[1])
    return str(kept)
