"""REST routes for a user's own ticket notices (/api/v1/notices).

Every user has notices (the assignee is warned, the lead hears of an escalation), so
these need a login but no particular permission; a notice of someone else's is "not
found", as any record outside one's scope.
"""

from __future__ import annotations

from flask import jsonify

from callcenter.api import PAGE_PARAMS, api_route, arg, paginate
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.pagination import page_schema
from callcenter.db import db_session
from callcenter.openapi import Param, register_schemas
from tickets.notices import mark_read, notice_to_dict, notices_query, notices_to_dicts

NOTICE_SCHEMA = {
    "type": "object",
    "required": ["id", "ticket_id", "subject", "kind", "level", "created_at", "read_at"],
    "properties": {
        "id": {"type": "integer"},
        "ticket_id": {"type": "integer"},
        "subject": {"type": "string", "description": "The ticket's subject."},
        "kind": {"enum": ["warn", "lead", "up"],
                 "description": "warn: the SLA is at risk; lead: breached, escalated to "
                                "the team lead; up: escalated further up."},
        "level": {"type": "integer", "description": "The ticket's escalation level."},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
register_schemas({"Notice": NOTICE_SCHEMA, "NoticePage": page_schema("Notice")})


@api_route("GET", "/notices", summary="My ticket notices", tag="tickets",
           query=(Param("unread", {"type": "boolean"}, "Only the unread ones."),)
           + PAGE_PARAMS, response="NoticePage",
           description="The caller's own notices, newest first.")
def notices_list():
    unread = arg("unread")
    if unread not in (None, "true", "false", "1", "0"):
        raise ValidationError({"unread": Problem("not_boolean")})
    page = paginate(notices_query(api_user(), unread=unread in ("true", "1")),
                    lambda notice: notice)
    page["items"] = notices_to_dicts(db_session(), page["items"])
    return jsonify(page)


@api_route("POST", "/notices/<id:notice_id>/read", summary="Mark a notice read",
           tag="tickets", response="Notice",
           description="Idempotent; someone else's notice is not found.")
def notice_read(notice_id: int):
    notice = mark_read(db_session(), api_user(), notice_id)
    subject = notices_to_dicts(db_session(), [notice])[0]["subject"]
    return jsonify(notice_to_dict(notice, subject))
