"""``POST /wallboard/monitor``: a supervisor starts live monitoring of an agent's call.

JSON ``{"interface": <the agent's phone, as the wallboard's agent rows name it>,
"mode": "listen" | "whisper" | "barge"}`` with the page's CSRF token. Answers
``{"ok": true, "call_id", "agent", "mode", "message"}``, or ``{"ok": false, "error"}``
with 400 (a field), 403 (not a supervisor of that agent's department), 404 (no such
phone), 409 (no phone of one's own; the agent is on no call), 502 (the PBX refused),
503 (the bridge did not answer). The rules: ``callcenter.wallboard.monitor``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from callcenter.db import db_session, own_transaction
from callcenter.jobs import redis_connection
from callcenter.wallboard.monitor import MonitorError, monitor_agent

monitor_bp = Blueprint("wallboard_monitor", __name__)


@monitor_bp.route("/wallboard/monitor", methods=["POST"])
@login_required
def monitor():
    # Who may is the service's rule (supervisors of the agent's department, with a
    # phone); its refusals answer in JSON like the rest of this endpoint.
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        data = {}
    try:
        started = monitor_agent(
            db_session(), redis_connection(current_app.config["SETTINGS"]),
            current_user._get_current_object(), data.get("interface"), data.get("mode"),
            audit_session=own_transaction,
            timeout=float(current_app.config.get("PBX_COMMAND_TIMEOUT_S", 5.0)))
    except MonitorError as exc:
        response = jsonify({"ok": False, "error": exc.message})
        response.status_code = exc.http_status
        return response
    name = started.agent.display_name or started.agent.username
    return jsonify({"ok": True, "call_id": started.call_id, "agent": name,
                    "mode": started.mode,
                    "message": _("Your phone rings: pick it up to join %(agent)s's call.",
                                 agent=name)})
