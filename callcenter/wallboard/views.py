"""The page ``/wallboard``: rendered with today's figures, then kept live by
``static/js/wallboard.js`` over Socket.IO (``queue.update`` / ``agent.update`` in the
rooms ``queue:<name>``); a reconnect re-fetches ``GET /api/v1/wallboard``."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from callcenter.auth import permission_required
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from callcenter.wallboard.figures import ABANDON_RATE_LIMIT, AGENT_STATES, SL_TARGET
from callcenter.wallboard.services import current_live_state, wallboard

wallboard_bp = Blueprint("wallboard", __name__)

#: Where the page takes the Socket.IO client library from (node_modules/socket.io-client
#: /dist/socket.io.min.js, served by the app). Without a route serving it the page
#: re-fetches the API every POLL_S seconds instead.
SOCKETIO_SCRIPT = "/vendor/socket.io.min.js"
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


def _socketio_script() -> str | None:
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(SOCKETIO_SCRIPT, method="GET")
    except HTTPException:
        return None
    return SOCKETIO_SCRIPT


@wallboard_bp.app_template_filter("wb_duration")
def _duration_filter(seconds):
    return duration(seconds)


@wallboard_bp.app_template_filter("wb_percent")
def _percent_filter(ratio):
    return percent(ratio)


@wallboard_bp.route("/wallboard")
@login_required
@permission_required(Permission.WALLBOARD_VIEW)
def index():
    settings = current_app.config["SETTINGS"]
    now = datetime.now(UTC)
    board = wallboard(db_session(), current_user, now,
                      current_live_state(settings), timezone=settings.timezone)
    from tickets.figures import ticket_panel
    return render_template("wallboard/index.html", board=board, states=AGENT_STATES,
                           tickets=ticket_panel(db_session(), current_user, now=now),
                           socketio_src=_socketio_script(), poll_s=POLL_S,
                           sl_target=SL_TARGET, abandon_rate_limit=ABANDON_RATE_LIMIT)
