"""``GET /api/v1/wallboard``: the caller's wallboard as JSON (the page's initial state and
what it re-fetches after a Socket.IO reconnect)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, jsonify

from callcenter.api import api_route
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import register_schemas
from callcenter.users.permissions import Permission
from callcenter.wallboard.figures import AGENT_STATES
from callcenter.wallboard.services import current_live_state, wallboard

_TIME = {"type": ["string", "null"], "format": "date-time"}
_SECONDS = {"type": ["number", "null"], "minimum": 0}
_RATIO = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0}

register_schemas({
    "WallboardCaller": {
        "type": "object",
        "required": ["call_id", "caller_number", "caller_display", "queued_at", "wait_s"],
        "properties": {
            "call_id": {"type": "string"},
            "caller_number": {"type": "string", "description": "As the PBX reported it."},
            "caller_display": {"type": "string",
                               "description": "The number as people read it: national "
                                              "format in the call center's country, "
                                              "international otherwise."},
            "queued_at": _TIME,
            "wait_s": _SECONDS,
        },
    },
    "WallboardQueue": {
        "type": "object",
        "description": (
            "Today's figures of one queue (today: from midnight in the call center's "
            "time zone) and its live waiting callers. Also the payload of the Socket.IO "
            "event `queue.update`. service_level = answered within sl_threshold_s / "
            "(offered - callers still waiting and not yet past sl_threshold_s); "
            "abandoned calls count against it. abandon_rate = abandoned / offered. "
            "asa_s: mean queue wait of answered calls; aht_s: mean talk time of finished "
            "answered calls (no wrap-up). Rates are fractions 0..1; null while there is "
            "nothing to divide by."),
        "required": ["queue", "display_name", "waiting", "longest_wait_s", "offered",
                     "answered", "abandoned", "service_level", "abandon_rate", "asa_s",
                     "aht_s", "sl_threshold_s", "updated_at"],
        "properties": {
            "queue": {"type": "string", "description": "The Asterisk queue name."},
            "display_name": {"type": "string"},
            "waiting": {"type": ["integer", "null"], "minimum": 0,
                        "description": "Callers waiting now; null without live data."},
            "longest_wait_s": {**_SECONDS,
                               "description": "How long the first caller has waited at "
                                              "updated_at; null without live data."},
            "callers": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                           "WallboardCaller"},
                        "description": "The longest-waiting callers (at most 10)."},
            "members": {"type": ["integer", "null"], "minimum": 0},
            "offered": _COUNT,
            "answered": _COUNT,
            "abandoned": _COUNT,
            "answered_within_sl": _COUNT,
            "service_level": _RATIO,
            "abandon_rate": _RATIO,
            "asa_s": _SECONDS,
            "aht_s": _SECONDS,
            "sl_threshold_s": {"type": "integer", "minimum": 0},
            "longest_wait_limit_s": {"type": "integer", "minimum": 0,
                                     "description": "A caller waiting longer is flagged "
                                                    "(the queue's alert threshold)."},
            "sl_target": {"type": "number", "minimum": 0, "maximum": 1,
                          "description": "Service level below this is flagged."},
            "abandon_rate_limit": {"type": "number", "minimum": 0, "maximum": 1,
                                   "description": "Abandon rate above this is flagged."},
            "alerts": {"type": "array",
                       "items": {"enum": ["service_level", "abandon_rate", "longest_wait"]},
                       "description": "The thresholds these figures cross."},
            "live": {"type": "boolean", "description": "Whether live data was there."},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "WallboardAgent": {
        "type": "object",
        "description": "One agent (queue member interface); also the payload of "
                       "`agent.update`.",
        "required": ["interface", "user_id", "name", "state", "reason", "since",
                     "seconds_in_state", "queues"],
        "properties": {
            "interface": {"type": "string"},
            "user_id": {"type": ["integer", "null"],
                        "description": "null when no user has this interface."},
            "name": {"type": "string"},
            "state": {"enum": list(AGENT_STATES)},
            "reason": {"type": ["string", "null"], "description": "The pause reason."},
            "since": _TIME,
            "seconds_in_state": _SECONDS,
            "queues": {"type": "array", "items": {"type": "string"}},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "Wallboard": {
        "type": "object",
        "required": ["queues", "agents", "updated_at", "live"],
        "properties": {
            "queues": {"type": "array",
                       "items": {"$ref": "#/components/schemas/WallboardQueue"}},
            "agents": {"type": "array",
                       "items": {"$ref": "#/components/schemas/WallboardAgent"}},
            "updated_at": {"type": "string", "format": "date-time"},
            "day_start": {"type": "string", "format": "date-time",
                          "description": "Where today's figures begin."},
            "timezone": {"type": "string"},
            "live": {
                "type": "object",
                "required": ["available", "skipped"],
                "properties": {
                    "available": {"type": "boolean",
                                  "description": "False: Redis could not be reached; "
                                                 "only the call log's figures show."},
                    "skipped": {"type": "integer", "minimum": 0,
                                "description": "Live entries that could not be read."},
                },
            },
        },
    },
})


@api_route("GET", "/wallboard", summary="The supervisor's wallboard: queues and agents today",
           tag="wallboard", permission=Permission.WALLBOARD_VIEW, response="Wallboard",
           description="The queues of the caller's department and its sub-departments "
                       "(admins and scope `all`: every queue) with today's figures, and "
                       "the members' live states.")
def get_wallboard():
    settings = current_app.config["SETTINGS"]
    data = wallboard(db_session(), api_user(), datetime.now(UTC),
                     current_live_state(settings), timezone=settings.timezone,
                     region=settings.default_phone_region)
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


# The charts and the alert thresholds (their routes register on import).
from callcenter.wallboard import api_charts as _api_charts  # noqa: E402,F401
