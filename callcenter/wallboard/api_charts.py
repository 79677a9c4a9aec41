"""The wallboard's charts and alert thresholds over the API:

- ``GET /api/v1/wallboard/today``: the queues' figures per 15 minutes today and each
  agent's calls, handling and pause time (what the page's charts fetch on every push);
- ``GET /api/v1/wallboard/thresholds``, ``PUT`` / ``DELETE
  /api/v1/wallboard/thresholds/<queue>``: the queues' alert thresholds (set, or back to
  the defaults), for the queues of the caller's wallboard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify

from callcenter.api import api_route
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import register_schemas
from callcenter.users.permissions import Permission
from callcenter.wallboard.schemas import (
    WallboardThresholds,
    WallboardThresholdsList,
    WallboardThresholdsUpdate,
)
from callcenter.wallboard.services import current_live_state, day_so_far
from callcenter.wallboard.threshold_edits import (
    queue_thresholds,
    reset_thresholds,
    set_thresholds,
    thresholds_dict,
)

_COUNTS = {"type": "array", "items": {"type": "integer", "minimum": 0}}
_RATIOS = {"type": "array", "items": {"type": ["number", "null"], "minimum": 0, "maximum": 1}}
_SERIES = {
    "offered": _COUNTS, "answered": _COUNTS, "abandoned": _COUNTS,
    "answered_within_sl": _COUNTS,
    "service_level": {**_RATIOS, "description": "Per interval, as the day's: answered "
                                                "within the service-level time / (offered "
                                                "- callers still waiting within it)."},
    "sl_target": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
}
_SECONDS = {"type": ["number", "null"], "minimum": 0}

register_schemas({
    "WallboardToday": {
        "type": "object",
        "description": (
            "Today so far, per 15 minutes from local midnight (a call counts in the "
            "interval it entered the queue in, so the intervals add up to the day's "
            "figures), from the earlier of the first interval with a call and two hours "
            "ago to the current one; and per agent of the board: calls answered, mean "
            "talk time of those finished, time paused by choice and in after-call work."),
        "required": ["interval_s", "intervals", "total", "queues", "agents", "updated_at",
                     "day_start", "timezone"],
        "properties": {
            "interval_s": {"type": "integer", "const": 900},
            "intervals": {"type": "array", "items": {
                "type": "object", "required": ["start", "label"],
                "properties": {"start": {"type": "string", "format": "date-time"},
                               "label": {"type": "string",
                                         "description": "Local time it begins, HH:MM."}}}},
            "total": {"type": "object", "properties": _SERIES,
                      "description": "All the board's queues; sl_target only when they "
                                     "share one."},
            "queues": {"type": "array", "items": {
                "type": "object", "required": ["queue", "display_name", "offered"],
                "properties": {"queue": {"type": "string"}, "display_name": {"type": "string"},
                               **_SERIES}}},
            "agents": {"type": "array", "items": {
                "type": "object",
                "required": ["interface", "handled", "aht_s", "pause_s", "wrap_up_s"],
                "properties": {
                    "interface": {"type": "string"},
                    "handled": {"type": "integer", "minimum": 0},
                    "aht_s": _SECONDS,
                    "pause_s": {"type": "number", "minimum": 0},
                    "wrap_up_s": {"type": "number", "minimum": 0},
                    "paused_since": {"type": ["string", "null"], "format": "date-time"}}}},
            "updated_at": {"type": "string", "format": "date-time"},
            "day_start": {"type": "string", "format": "date-time"},
            "timezone": {"type": "string"},
        },
    },
})


def _no_store(payload: dict[str, Any]):
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


@api_route("GET", "/wallboard/today", summary="Today per 15 minutes and per agent",
           tag="wallboard", permission=Permission.WALLBOARD_VIEW, response="WallboardToday",
           description="The queues and agents of the caller's wallboard (as "
                       "`GET /wallboard`).")
def get_wallboard_today():
    settings = current_app.config["SETTINGS"]
    return _no_store(day_so_far(db_session(), api_user(), datetime.now(UTC),
                                current_live_state(settings), timezone=settings.timezone))


def _one(pair) -> dict[str, Any]:
    queue, limits = pair
    return WallboardThresholds(**thresholds_dict(queue, limits)).model_dump(mode="json")


@api_route("GET", "/wallboard/thresholds", summary="The queues' alert thresholds",
           tag="wallboard", permission=Permission.WALLBOARD_VIEW,
           response=WallboardThresholdsList,
           description="Every queue of the caller's wallboard, with the thresholds its "
                       "figures are flagged at (its own, or the defaults).")
def list_wallboard_thresholds():
    return _no_store({"items": [_one(p) for p in queue_thresholds(db_session(), api_user())]})


@api_route("PUT", "/wallboard/thresholds/<queue>", summary="Set a queue's alert thresholds",
           tag="wallboard", permission=Permission.WALLBOARD_VIEW,
           body=WallboardThresholdsUpdate, response=WallboardThresholds,
           errors=(404, 409),
           description="For a queue of the caller's wallboard (another is 404). All three "
                       "values, and the `version` read: a stale one is a 409 carrying "
                       "`current_version`. The queue's wallboards re-colour at once.")
def put_wallboard_thresholds(queue: str, body: dict[str, Any]):
    values = {k: v for k, v in body.items() if k != "version"}
    return jsonify(_one(set_thresholds(db_session(), api_user(), queue, values,
                                       version=body.get("version"),
                                       settings=current_app.config["SETTINGS"])))


@api_route("DELETE", "/wallboard/thresholds/<queue>",
           summary="A queue's alert thresholds back to the defaults", tag="wallboard",
           permission=Permission.WALLBOARD_VIEW, response=WallboardThresholds, errors=(404,))
def delete_wallboard_thresholds(queue: str):
    return jsonify(_one(reset_thresholds(db_session(), api_user(), queue,
                                         settings=current_app.config["SETTINGS"])))
