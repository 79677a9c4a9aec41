"""REST routes for ticket types (/api/v1/ticket-types). Adding and changing types needs
``ticket_type.manage`` (admins, supervisors: the desk's editors); anyone signed in may
list them (the new-ticket form does)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from callcenter.api import api_route, created
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from tickets.schemas_types import TicketType, TicketTypeCreate, TicketTypeList, TicketTypeUpdate
from tickets.types import create_type, list_types, update_type


def _one(row) -> dict[str, Any]:
    return TicketType.of(row).model_dump(mode="json")


@api_route("GET", "/ticket-types", summary="List ticket types", tag="tickets",
           query=(Param("active", {"type": "boolean"}, "Only the active ones."),),
           response=TicketTypeList)
def ticket_types_list():
    active_only = request.args.get("active", "").lower() in ("1", "true", "yes")
    return jsonify({"items": [_one(t) for t in list_types(db_session(),
                                                          active_only=active_only)]})


@api_route("POST", "/ticket-types", summary="Add a ticket type", tag="tickets",
           permission=Permission.TICKET_TYPE_MANAGE, body=TicketTypeCreate,
           response=TicketType, status=201, errors=(409,))
def ticket_types_create(body: dict[str, Any]):
    return created(_one(create_type(db_session(), api_user(), body)))


@api_route("PATCH", "/ticket-types/<code>", summary="Rename or switch a ticket type",
           tag="tickets", permission=Permission.TICKET_TYPE_MANAGE, body=TicketTypeUpdate,
           response=TicketType)
def ticket_types_update(code: str, body: dict[str, Any]):
    return jsonify(_one(update_type(db_session(), api_user(), code, body)))
