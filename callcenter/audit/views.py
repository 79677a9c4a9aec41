"""The audit log page for administrators (/admin/audit): newest first, paged."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from callcenter.audit.services import audit_query
from callcenter.auth import permission_required
from callcenter.core.pagination import fetch_page
from callcenter.db import db_session
from callcenter.users.permissions import Permission

audit_bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PER_PAGE = 50
#: How each action reads on the page.
ACTION_LABELS = {
    "customer.viewed_via_call": _l("Opened a customer outside their scope, through a call"),
    "call.wrapped_up_via_call": _l("Wrapped up a call of a customer outside their scope"),
    "customer.popped_via_call": _l("Was shown a customer outside their scope in a call's "
                                   "screen pop"),
}


@audit_bp.before_request
@login_required
def _require_login():
    """Every page here needs a logged-in user; the view then needs USER_MANAGE."""


@audit_bp.route("")
@permission_required(Permission.USER_MANAGE)
def index():
    result = fetch_page(db_session(), audit_query(), page=request.args.get("page", 1, type=int),
                        per_page=PER_PAGE, clamp=True)
    return render_template("audit/list.html", result=result, labels=ACTION_LABELS)
