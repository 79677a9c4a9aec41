"""``GET /api/v1/wallboard/tickets``: the wallboard's ticket panel as JSON (what the page
re-fetches when a ``ticket.changed`` / ``ticket.escalated`` event reaches it)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify

from callcenter.api import api_route
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import register_schemas
from callcenter.users.permissions import Permission
from tickets.figures import ticket_panel

_COUNT = {"type": "integer", "minimum": 0}
_BREACH = {
    "type": ["object", "null"],
    "required": ["ticket_id", "subject", "breached_at", "breached_for_s"],
    "properties": {
        "ticket_id": {"type": "integer"},
        "subject": {"type": "string"},
        "breached_at": {"type": ["string", "null"], "format": "date-time"},
        "breached_for_s": {"type": ["number", "null"], "minimum": 0},
        "priority": {"enum": ["low", "normal", "high", "urgent"]},
        "escalation_level": {"type": "integer", "minimum": 0},
        "department_id": {"type": ["integer", "null"]},
    },
}

register_schemas({
    "TicketPanelTeam": {
        "type": "object",
        "required": ["department_id", "name", "open", "at_risk", "breached", "oldest_breach"],
        "properties": {
            "department_id": {"type": ["integer", "null"],
                              "description": "null: tickets no team owns yet."},
            "name": {"type": "string"},
            "open": _COUNT, "at_risk": _COUNT, "breached": _COUNT,
            "oldest_breach": _BREACH,
        },
    },
    "TicketPanel": {
        "type": "object",
        "description": "Open tickets of the teams the caller oversees: how many are at "
                       "risk (80 % of a target used) and breached, per team, and the "
                       "breach that has lasted longest.",
        "required": ["teams", "totals", "oldest_breach", "updated_at"],
        "properties": {
            "teams": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                         "TicketPanelTeam"}},
            "totals": {"type": "object", "required": ["open", "at_risk", "breached"],
                       "properties": {"open": _COUNT, "at_risk": _COUNT,
                                      "breached": _COUNT}},
            "oldest_breach": _BREACH,
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
})


@api_route("GET", "/wallboard/tickets", summary="The wallboard's ticket panel",
           tag="wallboard", permission=Permission.WALLBOARD_VIEW, response="TicketPanel",
           description="Open, at-risk and breached tickets per team of the caller's "
                       "department and its sub-departments (admins and scope `all`: "
                       "every team), and the oldest breach.")
def get_ticket_panel():
    response = jsonify(ticket_panel(db_session(), api_user(), now=datetime.now(UTC)))
    response.headers["Cache-Control"] = "no-store"
    return response
