"""The page ``/wallboard``: rendered with today's figures, then kept live by
``static/js/wallboard.js`` over Socket.IO (``queue.update`` / ``agent.update`` in the
rooms ``queue:<name>``); a reconnect re-fetches ``GET /api/v1/wallboard``."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException

from callcenter.auth import permission_required
from callcenter.calls.labels import queue_labels
from callcenter.db import db_session
from callcenter.desk.status import PAUSE_REASONS
from callcenter.users.permissions import Permission
from callcenter.wallboard.figures import ABANDON_RATE_LIMIT, AGENT_STATES, SL_TARGET
from callcenter.wallboard.monitor import monitorable_interfaces
from callcenter.wallboard.services import current_live_state, day_so_far, wallboard
from telephony.callstate import ACW_REASON

wallboard_bp = Blueprint("wallboard", __name__)

#: Where the page takes the Socket.IO client library from (node_modules/socket.io-client
#: /dist/socket.io.min.js, served by the app). Without a route serving it the page
#: re-fetches the API every POLL_S seconds instead.
SOCKETIO_SCRIPT = "/vendor/socket.io.min.js"
#: The charting library (node_modules/chart.js/dist/chart.umd.min.js); without it the
#: page shows the charts' figures as a table.
CHART_SCRIPT = "/vendor/chart.umd.min.js"
POLL_S = 10


def duration(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on); "–" for None. Same as wallboard.js."""
    if seconds is None:
        return "–"
    total = max(0, math.floor(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(ratio: float | None) -> str:
    """Whole percent rounded half up (as Math.round in wallboard.js); "–" for None."""
    return "–" if ratio is None else f"{math.floor(ratio * 100 + 0.5)}%"


def _served(path: str) -> str | None:
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except HTTPException:
        return None
    return path


@wallboard_bp.app_template_filter("wb_duration")
def _duration_filter(seconds):
    return duration(seconds)


@wallboard_bp.app_template_filter("wb_percent")
def _percent_filter(ratio):
    return percent(ratio)


@wallboard_bp.app_template_filter("wb_queue_label")
def _queue_label_filter(name: str, labels: dict[str, str]) -> str:
    return labels.get(name, name)


def pause_reason_labels() -> dict[str, str]:
    """Pause reason code (as the PBX carries it) -> the words shown: the desk's reasons
    and after-call work's ``wrap-up``."""
    labels = {code: str(label) for code, label in PAUSE_REASONS.items()}
    labels[ACW_REASON] = _("Wrap-up")
    return labels


def _monitor_settings() -> dict | None:
    """What wallboard/monitor.js needs for the listen / whisper / barge buttons; None
    when this user may monitor nobody (the column is then left out)."""
    phones = monitorable_interfaces(db_session(), current_user._get_current_object())
    if not phones:
        return None
    return {"url": url_for("wallboard_monitor.monitor"), "csrfToken": generate_csrf(),
            "phones": phones,
            "texts": {"listen": _("Listen"), "whisper": _("Whisper"), "barge": _("Barge in"),
                      "listenHint": _("Hear the agent and the customer; neither hears you."),
                      "whisperHint": _("Talk to the agent only; the customer does not "
                                       "hear you."),
                      "bargeHint": _("Talk to both the agent and the customer."),
                      "asking": _("Asking the PBX to ring your phone…"),
                      "pageExpired": _("This page has expired: reload it and try again.")}}


@wallboard_bp.route("/wallboard")
@login_required
@permission_required(Permission.WALLBOARD_VIEW)
def index():
    settings = current_app.config["SETTINGS"]
    now = datetime.now(UTC)
    live = current_live_state(settings)
    board = wallboard(db_session(), current_user, now, live, timezone=settings.timezone,
                      region=settings.default_phone_region)
    today = day_so_far(db_session(), current_user, now, live, timezone=settings.timezone)
    from tickets.figures import ticket_panel
    return render_template("wallboard/index.html", board=board, states=AGENT_STATES,
                           today=today, monitor=_monitor_settings(),
                           reason_labels=pause_reason_labels(),
                           queue_labels=queue_labels(db_session()),
                           agent_day={a["interface"]: a for a in today["agents"]},
                           tickets=ticket_panel(db_session(), current_user, now=now),
                           socketio_src=_served(SOCKETIO_SCRIPT),
                           chart_src=_served(CHART_SCRIPT), poll_s=POLL_S,
                           sl_target=SL_TARGET, abandon_rate_limit=ABANDON_RATE_LIMIT)


# The thresholds page (its route registers on wallboard_bp on import).
from callcenter.wallboard import views_thresholds as _views_thresholds  # noqa: E402,F401
