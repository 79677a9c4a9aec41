"""REST routes for the call log (/api/v1/calls). Thin shells over ``calls.services``.

A call outside the caller's scope is a 404 exactly like a missing one; bad filters are
422 naming the parameter, as everywhere in the API.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from callcenter.api import PAGE_PARAMS, api_route, arg, paginate
from callcenter.auth import api_user
from callcenter.calls.models import Direction, Outcome
from callcenter.calls.schemas import DISPOSITIONS, Call, CallWrapup
from callcenter.calls.serializers import call_to_dict
from callcenter.calls.services import (
    calls_query,
    get_call,
    save_wrapup,
    user_names,
)
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission

READ = Permission.CUSTOMER_READ
CALL_ID = "/calls/<call_id>"

CALL_FILTERS = (
    Param("since", {"type": "string", "maxLength": 40},
          "Calls that started at or after this ISO 8601 date or date and time; without a "
          "zone it is read in the call center's time zone."),
    Param("until", {"type": "string", "maxLength": 40},
          "Calls that started before this ISO 8601 date and time; a bare date means to the "
          "end of that day."),
    Param("queue", {"type": "string", "maxLength": 80}, "Queue name, e.g. `support`."),
    Param("agent", {"type": "string", "maxLength": 80},
          "The agent who talked last: user id or username."),
    Param("customer", {"type": "integer", "minimum": 1},
          "Customer id (also finds calls of records merged into it)."),
    Param("outcome", {"enum": [m.value for m in Outcome]}),
    Param("direction", {"enum": [d.value for d in Direction]},
          "`inbound`: callers who came in; `outbound`: calls an agent dialled."),
    Param("disposition", {"enum": [*DISPOSITIONS, "none"]},
          "The wrap-up's disposition; `none`: calls not wrapped up yet."),
    Param("number", {"type": "string", "maxLength": 40},
          "The caller's number in any format (a phone number is matched as E.164)."),
) + PAGE_PARAMS

SCOPE_TEXT = ("Only calls the caller may see: those they handled, those of customers in "
              "their scope, for supervisors those of the queues of their department and "
              "its sub-departments; admins and scope `all` see every call.")


def _serialize_page(page: dict[str, Any]) -> dict[str, Any]:
    """Fill in the agents' usernames of a page of calls with one query."""
    users = user_names(db_session(), [i for item in page["items"]
                                      for i in (item["agent_id"], item["wrapup_by_id"])])
    for item in page["items"]:
        for key, id_key in (("agent", "agent_id"), ("wrapup_by", "wrapup_by_id")):
            user = users.get(item[id_key])
            item[key] = user.username if user is not None else None
    return page


def detail(call) -> dict[str, Any]:
    return call_to_dict(call, user_names(db_session(), [call.agent_id, call.wrapup_by_id]))


@api_route("GET", "/calls", summary="The call log", tag="calls", permission=READ,
           query=CALL_FILTERS, response="CallPage",
           description="Newest first. " + SCOPE_TEXT)
def calls_list():
    stmt = calls_query(api_user(), since=arg("since"), until=arg("until"),
                       queue=arg("queue"), agent=arg("agent"), customer=arg("customer"),
                       outcome=arg("outcome"), disposition=arg("disposition"),
                       direction=arg("direction"),
                       number=arg("number"), region=current_app.config["DEFAULT_PHONE_REGION"],
                       tz=current_app.config["TIMEZONE"])
    return jsonify(_serialize_page(paginate(stmt, call_to_dict)))


@api_route("GET", CALL_ID, summary="One call", tag="calls", permission=READ,
           response=Call, description="`call_id` is Asterisk's Linkedid. " + SCOPE_TEXT)
def call_get(call_id: str):
    return jsonify(detail(get_call(db_session(), api_user(), call_id)))


@api_route("POST", CALL_ID + "/wrapup", summary="Save a call's wrap-up", tag="calls",
           permission=READ, body=CallWrapup, response=Call,
           description="Disposition and note; who and when are recorded, saving again "
                       "replaces them. Allowed to an agent who talked to the caller and "
                       "to a supervisor or admin whose scope covers the call (else 403). "
                       "When the caller is outside the agent's customer scope, the call "
                       "is the only reason: saved once, within `CALL_ACCESS_HOURS` of "
                       "the call's start, and written to the audit log.")
def call_wrapup(call_id: str, body: dict[str, Any]):
    call = save_wrapup(db_session(), api_user(), call_id, body["disposition"],
                       body.get("notes", ""),
                       access_window_h=current_app.config["SETTINGS"].call_access_hours)
    return jsonify(detail(call))
