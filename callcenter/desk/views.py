"""The agent desk: ``GET /desk`` (the page) and ``POST /desk/status`` (the status control);
``POST /desk/dial`` and ``POST /desk/transfer`` are in ``callcenter.desk.dial``.

The page itself is static: the pops come over Socket.IO (``static/js/desk.js``, with
``static/js/live.js`` for the connection). Everything the script needs (URLs, the
translated texts, the CSRF token) is in a ``<script type="application/json">`` block:
the CSP allows no inline script.
"""

from __future__ import annotations

import logging

import redis
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from callcenter.calls.labels import queue_labels
from callcenter.calls.services import DISPOSITIONS
from callcenter.db import db_session
from callcenter.desk import dial as desk_dial
from callcenter.desk.status import (
    DESK_ROLES,
    PAUSE_REASONS,
    StatusError,
    change_status,
    forbidden_message,
)
from callcenter.desk.tickets import desk_ticket_config, desk_ticket_strings
from callcenter.jobs import redis_connection
from callcenter.realtime import live
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from telephony.callstate import ACW_REASON

log = logging.getLogger(__name__)

desk_bp = Blueprint("desk", __name__)

#: Wrap-up dispositions (the codes the wrap-up API takes).


def _require_desk_role() -> None:
    if current_user.role not in DESK_ROLES:
        abort(403, description=_("The agent desk is for agents, supervisors and "
                                 "administrators."))


def status_labels() -> dict[str, str]:
    return {
        "available": _("Available"),
        "paused": _("Paused"),
        "logged_out": _("Logged out"),
        "ringing": _("Ringing"),
        "on_call": _("On a call"),
        "wrap_up": _("Wrap-up"),
        "unknown": _("Not known: the telephony bridge reports nothing"),
    }


def describe_state(state: dict | None) -> tuple[str, str, str | None]:
    """(code, label, pause reason label) of the bridge's view of the agent."""
    labels = status_labels()
    code = (state or {}).get("state")
    if code not in labels or code == "unknown":
        return "unknown", labels["unknown"], None
    reason = (state or {}).get("reason") or None
    reason_label = str(PAUSE_REASONS.get(reason, reason)) if reason and code == "paused" \
        else None
    return code, labels[code], reason_label


def _desk_strings() -> dict[str, object]:
    return {
        "ringing": _("Ringing"),
        "answered": _("Answered"),
        "ended": _("Call ended"),
        "transferred": _("Transferred"),
        "outbound": _("You dialled"),
        "unknownCaller": _("Unknown caller"),
        "noNumber": _("No number sent"),
        "number": _("Number"),
        "asSent": _("As the PBX sent it: {number}"),
        "callerIdName": _("Caller ID name"),
        "queue": _("Queue"),
        "waited": _("Waited"),
        "talked": _("Talk time"),
        "openTickets": _("Open tickets"),
        "noOpenTickets": _("No open tickets"),
        "products": _("Installed products"),
        "noProducts": _("No installed products"),
        "contacts": _("Contacts"),
        "lastContacts": _("Last contacts"),
        "noLastContacts": _("No earlier contacts"),
        "open360": _("Open the customer (360°)"),
        "createCustomer": _("Create a customer with this number"),
        "newTab": _("opens in a new tab"),
        "unknownHint": _("This number belongs to no customer you can see."),
        "wrapup": _("Wrap-up"),
        "disposition": _("Disposition"),
        "chooseDisposition": _("Choose…"),
        "note": _("Note"),
        "save": _("Save"),
        "saving": _("Saving…"),
        "saved": _("Wrap-up saved."),
        "wrapupOpen": _("Write the wrap-up"),
        "saveFailed": _("The wrap-up was not saved: {error}. Try again."),
        "needDisposition": _("Choose a disposition."),
        "pageExpired": _("The page has expired: reload it (your status and calls stay)."),
        "connDown": _("The live connection is down: new calls will not pop up here "
                      "until it is back. Reconnecting…"),
        "connBack": _("The live connection is back; the calls shown are up to date."),
        "connExpired": _("Your session has ended: log in again to get your calls here."),
        "connMissing": _("Live updates are not available: the browser library is missing "
                         "on the server (run npm ci)."),
        "logIn": _("Log in"),
        "live": _("Live"),
        "offline": _("Offline"),
        "connecting": _("Connecting…"),
        "callsCount": _("{n} calls"),
        "oneCall": _("1 call"),
        "incomingCall": _("Incoming call"),
        "notifyBlocked": _("Notifications are blocked in this browser's settings."),
        "statusChanged": _("Status changed."),
        "statusFailed": _("The status was not changed."),
        "pausedBecause": _("Paused: {reason}"),
        "wrapupLeft": _("{time} left for the wrap-up"),
        "serial": _("Serial number"),
        "suggested": _("Suggested answers"),
        "noSuggestions": _("No matching articles"),
        "warrantyUntil": _("until {date}"),
        "warranty": {"in_warranty": _("In warranty"), "expiring": _("Warranty ending soon"),
                     "expired": _("Warranty expired"), "none": _("No warranty")},
        "outcomes": {"in_progress": _("In progress"), "answered": _("Answered"),
                     "abandoned": _("Abandoned"), "transferred": _("Transferred"),
                     "unanswered": _("Unanswered"), "busy": _("Busy")},
        "tiers": {"vip": _("VIP"), "major": _("Major"), "ordinary": _("Ordinary"),
                  "small": _("Small")},
        **desk_dial.desk_dial_strings(),
        **desk_ticket_strings(),
    }


def desk_config() -> dict[str, object]:
    can_create = has_permission(current_user.role, Permission.CUSTOMER_CREATE)
    chosen = get_locale()
    return {
        "locale": "zh-CN" if chosen is not None and chosen.language == "zh" else "en",
        "timezone": current_app.config["TIMEZONE"],
        "userId": current_user.id,
        "csrfToken": generate_csrf(),
        "statusUrl": url_for("desk.status"),
        "createUrl": url_for("customers.create") if can_create else None,
        "customerUrl": url_for("customers.detail", customer_id=0)[:-1],
        "wrapupUrl": "/api/v1/calls/{call_id}/wrapup",
        "dispositions": [[code, label] for code, label in dispositions()],
        "reasons": {code: str(label) for code, label in PAUSE_REASONS.items()},
        "statusLabels": status_labels(),
        "queueLabels": queue_labels(db_session()),
        # After-call work: its pause reason and how long it lasts (the desk counts down).
        "acwReason": ACW_REASON,
        "acwSeconds": current_app.config["SETTINGS"].acw_seconds,
        "strings": _desk_strings(),
        # The knowledge base's suggestions under a pop (kb/api.py), for those who read it.
        "kbSuggestUrl": url_for("api.kb_suggestions")
        if "api.kb_suggestions" in current_app.view_functions
        and has_permission(current_user.role, Permission.KB_READ) else None,
        "kbEntryUrl": "/kb/{id}",
        **desk_dial.desk_dial_config(db_session()),
        **desk_ticket_config(db_session(), current_user),
    }


def dispositions() -> list[tuple[str, str]]:
    labels = {"resolved": _("Resolved"), "callback": _("Call back"),
              "ticket_needed": _("Ticket needed"), "wrong_number": _("Wrong number"),
              "other": _("Other")}
    return [(code, labels[code]) for code in DISPOSITIONS]


def _agent_state(user: User) -> dict | None:
    if not user.interface:
        return None
    try:
        return live.agent_state(redis_connection(current_app.config["SETTINGS"]),
                                user.interface)
    except redis.RedisError as exc:
        log.warning("desk: live agent state unavailable: %s", exc)
        return None


@desk_bp.route("/desk")
@login_required
def index():
    _require_desk_role()
    state = _agent_state(current_user)
    code, label, reason_label = describe_state(state)
    return render_template("desk/index.html", desk_config=desk_config(), state_code=code,
                           state_label=label, reason_label=reason_label,
                           reasons=PAUSE_REASONS, current_reason=(state or {}).get("reason"))


@desk_bp.route("/desk/status", methods=["POST"])
@login_required
def status():
    """Change a status (JSON ``{"status", "reason", "user_id"?}`` or the page's form)."""
    wants_json = request.is_json
    data = request.get_json(silent=True) if wants_json else request.form
    if not isinstance(data, dict):
        data = {}
    status_code, reason = data.get("status"), data.get("reason") or None
    try:
        target = _status_target(data.get("user_id"))
        result = change_status(
            db_session(), redis_connection(current_app.config["SETTINGS"]),
            current_user._get_current_object(), target,
            status_code if isinstance(status_code, str) else "",
            reason if isinstance(reason, str) else None,
            timeout=float(current_app.config.get("PBX_COMMAND_TIMEOUT_S", 5.0)))
    except StatusError as exc:
        if wants_json:
            response = jsonify({"ok": False, "error": exc.message})
            response.status_code = exc.http_status
            return response
        flash(exc.message, "error")
        return redirect(url_for("desk.index"))
    label = status_labels()[result.status]
    reason_label = str(PAUSE_REASONS[result.reason]) if result.reason else None
    if wants_json:
        return jsonify({"ok": True, "status": result.status, "reason": result.reason,
                        "label": label, "reason_label": reason_label,
                        "user_id": target.id})
    flash(_("Status changed to %(status)s.", status=label), "success")
    return redirect(url_for("desk.index"))


# Click-to-dial and transfer (callcenter.desk.dial).
desk_bp.add_url_rule("/desk/dial", "dial", desk_dial.dial_view, methods=["POST"])
desk_bp.add_url_rule("/desk/transfer", "transfer", desk_dial.transfer_view, methods=["POST"])


def _status_target(raw) -> User:
    """The user whose status is changed: the caller, unless ``user_id`` names another."""
    if current_user.role not in DESK_ROLES:
        raise StatusError(403, _("The agent desk is for agents, supervisors and "
                                 "administrators."))
    if raw in (None, ""):
        return current_user._get_current_object()
    try:
        target_id = int(raw)
    except (TypeError, ValueError):
        raise StatusError(400, _("No such user.")) from None
    if target_id == current_user.id:
        return current_user._get_current_object()
    target = db_session().get(User, target_id)
    if target is None:  # as for a user outside the caller's departments
        raise StatusError(403, str(forbidden_message(current_user)))
    return target
