"""The audit log page for administrators (/admin/audit): newest first, paged."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from callcenter.audit.services import audit_query
from callcenter.auth import permission_required
from callcenter.core.pagination import fetch_page
from callcenter.db import db_session
from callcenter.users.models import User
from callcenter.users.permissions import Permission

audit_bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PER_PAGE = 50
#: How each action reads on the page.
ACTION_LABELS = {
    "customer.viewed_via_call": _l("Opened a customer outside their scope, through a call"),
    "call.wrapped_up_via_call": _l("Wrapped up a call of a customer outside their scope"),
    "customer.popped_via_call": _l("Was shown a customer outside their scope in a call's "
                                   "screen pop"),
    "agent.monitored": _l("Monitored an agent's live call"),
}
#: The detail of ``agent.monitored`` is ``<mode>|<outcome>`` (callcenter.wallboard.monitor).
MONITOR_DETAIL = {
    "listen": _l("Listen"), "whisper": _l("Whisper"), "barge": _l("Barge in"),
    "asked": _l("asked, no answer recorded"), "started": _l("started"),
    "no_call": _l("not started: no call"), "own_phone": _l("not started: own phone"),
    "failed": _l("not started: the bridge did not answer"),
    "refused": _l("not started: the PBX refused"),
}


def detail_text(action: str, detail: str) -> str:
    """The audit row's detail as the reader's language says it."""
    if action != "agent.monitored" or "|" not in detail:
        return detail
    return " · ".join(str(MONITOR_DETAIL.get(part, part)) for part in detail.split("|", 1))


def _user_names(session, entries) -> dict[int, str]:
    """Names of the users the rows are about (one query for the page)."""
    ids = {e.entity_id for e in entries if e.entity == "user" and e.entity_id}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.username)
                           .where(User.id.in_(ids)))
    return {uid: display or username for uid, display, username in rows}


@audit_bp.before_request
@login_required
def _require_login():
    """Every page here needs a logged-in user; the view then needs USER_MANAGE."""


@audit_bp.route("")
@permission_required(Permission.USER_MANAGE)
def index():
    result = fetch_page(db_session(), audit_query(), page=request.args.get("page", 1, type=int),
                        per_page=PER_PAGE, clamp=True)
    return render_template("audit/list.html", result=result, labels=ACTION_LABELS,
                           user_names=_user_names(db_session(), result.items),
                           detail_text=detail_text)
