"""REST routes for tickets (/api/v1/tickets): create, list, read, change, move along the
states, comment, history. Thin: the rules are in ``tickets.services`` and its siblings.

A ticket outside the caller's scope is a 404, exactly like a missing one. A write with a
stale ``version`` is a 409 whose body carries ``current_version``; a move the state
machine refuses is a 422 with the code ``ticket.transition_refused``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, url_for

from callcenter.api import PAGE_PARAMS, api_route, arg, created, paginate
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from tickets.comments import add_comment, list_comments
from tickets.history import ticket_history
from tickets.models import Priority, SlaState, TicketStatus
from tickets.queries import MAX_Q, QUEUES, SORTS, get_ticket, tickets_query
from tickets.schemas import (
    Comment,
    CommentCreate,
    Ticket,
    TicketCreate,
    TicketPatch,
    TicketTransition,
)
from tickets.serializers import comment_to_dict, history_to_dicts, ticket_to_dict
from tickets.services import create_ticket, update_ticket
from tickets.transitions import transition_ticket

TICKET_ID = "/tickets/<id:ticket_id>"

TICKET_FILTERS = (
    Param("queue", {"enum": list(QUEUES)},
          "A work queue: mine (assigned to me), team (my department's), unassigned, "
          "at_risk, breached; open tickets only."),
    Param("status", {"type": "string"}, "One status or several, comma-separated: "
          + ", ".join(s.value for s in TicketStatus) + "."),
    Param("type", {"type": "string", "maxLength": 200}, "Type code(s), comma-separated."),
    Param("priority", {"type": "string"}, "One priority or several: "
          + ", ".join(p.value for p in Priority) + "."),
    Param("sla_state", {"type": "string"}, "One SLA state or several: "
          + ", ".join(s.value for s in SlaState) + "."),
    Param("customer_id", {"type": "integer", "minimum": 1}, "The customer."),
    Param("assignee_id", {"type": ["integer", "string"]}, "A user id, or `none`."),
    Param("department_id", {"type": "integer", "minimum": 1}, "The team."),
    Param("q", {"type": "string", "maxLength": MAX_Q},
          "Text in the subject or description, or the ticket number."),
    Param("sort", {"enum": list(SORTS), "default": "due"},
          "due: the resolution due time, soonest first (the default); newest; oldest."),
) + PAGE_PARAMS


def settings():
    return current_app.config["SETTINGS"]


def tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def as_json(ticket) -> dict[str, Any]:
    return ticket_to_dict(db_session(), ticket, tz())


@api_route("GET", "/tickets", summary="List tickets", tag="tickets",
           permission=Permission.TICKET_READ, query=TICKET_FILTERS, response="TicketPage",
           description="Only tickets in the caller's scope; by default ordered by the "
                       "resolution due time.")
def tickets_list():
    stmt = tickets_query(api_user(), queue=arg("queue"), status=arg("status"),
                         type=arg("type"), priority=arg("priority"),
                         customer_id=arg("customer_id"), assignee_id=arg("assignee_id"),
                         department_id=arg("department_id"), sla_state=arg("sla_state"),
                         q=arg("q"), sort=arg("sort"))
    session, zone = db_session(), tz()
    return jsonify(paginate(stmt, lambda t: ticket_to_dict(session, t, zone)))


@api_route("POST", "/tickets", summary="Open a ticket", tag="tickets",
           permission=Permission.TICKET_WRITE, body=TicketCreate, response=Ticket,
           status=201,
           description="The customer must be in the caller's scope; the contact and the "
                       "installed product must be the customer's. A `reporter` is found "
                       "among the customer's contacts by phone, else added. Without an "
                       "assignee the ticket goes round-robin to an available member of "
                       "its team, or stays unassigned.")
def tickets_create(body: dict[str, Any]):
    ticket = create_ticket(db_session(), api_user(), body, settings=settings())
    response = created(as_json(ticket))
    response.headers["Location"] = url_for("api.ticket_get", ticket_id=ticket.id)
    return response


@api_route("GET", TICKET_ID, summary="A ticket", tag="tickets",
           permission=Permission.TICKET_READ, response=Ticket)
def ticket_get(ticket_id: int):
    return jsonify(as_json(get_ticket(db_session(), api_user(), ticket_id)))


@api_route("PATCH", TICKET_ID, summary="Change a ticket", tag="tickets",
           permission=Permission.TICKET_WRITE, body=TicketPatch, response=Ticket,
           errors=(409,),
           description="Send the `version` you read: a stale one is a 409 carrying "
                       "`current_version`. Status and assignee change with transitions.")
def ticket_patch(ticket_id: int, body: dict[str, Any]):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    update_ticket(db_session(), api_user(), ticket, body, settings=settings())
    return jsonify(as_json(ticket))


@api_route("POST", TICKET_ID + "/transitions", summary="Move a ticket to another status",
           tag="tickets", permission=Permission.TICKET_WRITE, body=TicketTransition,
           response=Ticket, errors=(409,),
           description="new → assigned → in_progress ⇄ pending → resolved → closed; "
                       "resolved → in_progress reopens. `assignee_id` is required for "
                       "`assigned`. A refused move is a 422 with the code "
                       "`ticket.transition_refused`; a stale `version` a 409.")
def ticket_transition(ticket_id: int, body: dict[str, Any]):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    transition_ticket(db_session(), api_user(), ticket, body, settings=settings())
    return jsonify(as_json(ticket))


@api_route("GET", TICKET_ID + "/history", summary="A ticket's history", tag="tickets",
           permission=Permission.TICKET_READ, response="TicketHistory",
           description="Every change, oldest first: `field`, `old_value`, `new_value` (as "
                       "stored), `changed_at`, `user`, `note` (a person's words), "
                       "`system_note` (the system's, as a code), and `display`: the item in "
                       "words, in the reader's language. An escalation is an item with the "
                       "field `escalation_level`.")
def ticket_history_list(ticket_id: int):
    from tickets.presenters import history_row_words, history_words

    user = api_user()
    ticket = get_ticket(db_session(), user, ticket_id)
    rows = ticket_history(db_session(), ticket.id)
    words = history_words(db_session(), user, rows)
    display = {row.id: history_row_words(row, words) for row in rows}
    return jsonify({"items": history_to_dicts(db_session(), rows, tz(), display)})


@api_route("POST", TICKET_ID + "/comments", summary="Comment on a ticket", tag="tickets",
           permission=Permission.TICKET_WRITE, body=CommentCreate, response=Comment,
           status=201,
           description="`internal`: staff only (the default) or a reply the customer "
                       "sees; the first customer-visible one is the first response.")
def ticket_comment(ticket_id: int, body: dict[str, Any]):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    comment = add_comment(db_session(), api_user(), ticket, body["body"],
                          internal=body.get("internal", True), settings=settings())
    return created(comment_to_dict(comment, tz()))


@api_route("GET", TICKET_ID + "/comments", summary="A ticket's comments", tag="tickets",
           permission=Permission.TICKET_READ, response="CommentList",
           query=(Param("internal", {"enum": ["true", "false"]},
                        "Only internal notes (true) or only customer-visible ones."),))
def ticket_comments(ticket_id: int):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    flag = arg("internal")
    if flag not in (None, "true", "false"):
        raise ValidationError({"internal": Problem("choice", {"choices": "true, false"})})
    internal = None if flag is None else flag == "true"
    zone = tz()
    return jsonify({"items": [comment_to_dict(c, zone)
                              for c in list_comments(db_session(), ticket, internal=internal)]})


# The routes around a ticket (links, merge, attachments) register themselves too.
from tickets import api_related as _api_related  # noqa: E402,F401
