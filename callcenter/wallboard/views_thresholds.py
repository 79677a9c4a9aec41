"""The page ``/wallboard/thresholds``: a supervisor sets, per queue of their wallboard,
at what the wallboard alerts (service level, longest wait, abandon rate), or puts a
queue back to the defaults. A thin shell over ``threshold_edits``; a form that does not
pass shows the page again with its errors (422) and what was typed."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from callcenter.auth import permission_required
from callcenter.core.errors import AppError, StaleVersion, ValidationError
from callcenter.core.messages import error_message, field_messages
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from callcenter.wallboard.threshold_edits import (
    queue_thresholds,
    reset_thresholds,
    set_thresholds,
)
from callcenter.wallboard.thresholds import (
    DEFAULT_ABANDON_RATE_PERCENT,
    DEFAULT_SERVICE_LEVEL_PERCENT,
    FIELDS,
    RANGES,
)
from callcenter.wallboard.views import wallboard_bp


@wallboard_bp.route("/wallboard/thresholds", methods=["GET", "POST"])
@login_required
@permission_required(Permission.WALLBOARD_VIEW)
def thresholds_page():
    dbs = db_session()
    errors: dict[str, str] = {}
    theirs: dict[str, int] = {}
    failure = ""
    posted_queue = ""
    status = 200
    if request.method == "POST":
        posted_queue = request.form.get("queue", "")[:80]
        settings = current_app.config["SETTINGS"]
        try:
            if request.form.get("action") == "reset":
                queue, _limits = reset_thresholds(dbs, current_user, posted_queue,
                                                  settings=settings)
                flash(_("The alerts of %(queue)s are back to the defaults.",
                        queue=queue.display_name or queue.name), "success")
            else:
                queue, _limits = set_thresholds(
                    dbs, current_user, posted_queue,
                    {name: request.form.get(name, "") for name in FIELDS},
                    version=_version(request.form.get("version")), settings=settings)
                flash(_("The alerts of %(queue)s are saved.",
                        queue=queue.display_name or queue.name), "success")
            return redirect(url_for("wallboard.thresholds_page"))
        except ValidationError as exc:
            dbs.rollback()
            errors, status = field_messages(exc), 422
        except StaleVersion:
            # Another supervisor saved meanwhile: their values in words and beside each
            # field that differs, ours still in the form, which now carries their
            # version (a second save replaces them).
            dbs.rollback()
            failure, theirs = _stale(dbs, current_user, posted_queue)
            status = 409
        except AppError as exc:
            dbs.rollback()
            failure, status = error_message(exc), exc.status
    rows = queue_thresholds(dbs, current_user)
    posted_label = next((q.display_name or q.name for q, _t in rows if q.name == posted_queue),
                        posted_queue)
    return render_template(
        "wallboard/thresholds.html", rows=rows, errors=errors, failure=failure,
        posted_queue=posted_queue, posted_label=posted_label, posted=request.form,
        theirs=theirs,
        ranges=RANGES, default_sl=DEFAULT_SERVICE_LEVEL_PERCENT,
        default_abandon=DEFAULT_ABANDON_RATE_PERCENT), status


def _version(text: str | None) -> int | str | None:
    """The form's hidden version: None when the form has none (last save wins)."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 10 else text


def _stale(dbs, actor, queue_name: str) -> tuple[str, dict[str, int]]:
    """What to say to a stale save, and the values saved now."""
    for queue, limits in queue_thresholds(dbs, actor):
        if queue.name == queue_name:
            return _("Someone else saved the alerts of %(queue)s meanwhile. They are now: "
                     "service level below %(sl)s %%, longest wait over %(wait)s s, abandoned "
                     "above %(ab)s %%. Your values are still in the form: save again to "
                     "replace theirs.", queue=queue.display_name or queue.name,
                     sl=limits.service_level_percent, wait=limits.longest_wait_s,
                     ab=limits.abandon_rate_percent), limits.values()
    return "", {}
