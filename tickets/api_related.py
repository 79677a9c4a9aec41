"""REST routes around a ticket: its links, merging it into another, its attachments.

Registered on the API blueprint by ``tickets.api``. Uploads are ``multipart/form-data``
with the file in the field ``file``; downloads are served as attachments with a safe
content type, only to users who may see the ticket.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from callcenter.api import api_route, created
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.db import db_session
from callcenter.openapi import register_schemas
from callcenter.users.permissions import Permission
from tickets.api import TICKET_ID, as_json, settings, tz
from tickets.attachments import (
    Upload,
    add_attachment,
    get_attachment,
    ticket_attachments,
)
from tickets.downloads import send_attachment
from tickets.merge import link_tickets, merge_tickets, other_ticket, ticket_links
from tickets.queries import get_ticket
from tickets.schemas import Attachment, TicketLinkCreate, TicketLinkOut, TicketMerge
from tickets.serializers import attachment_to_dict, link_to_dict

#: Room for the multipart envelope around the largest accepted file.
_FORM_OVERHEAD = 64 * 1024

register_schemas({"TicketMergeResult": {
    "type": "object", "required": ["merged", "into"],
    "properties": {"merged": {"$ref": "#/components/schemas/Ticket",
                              "description": "The duplicate, now closed."},
                   "into": {"$ref": "#/components/schemas/Ticket"}}}})


@api_route("GET", TICKET_ID + "/links", summary="Tickets linked to a ticket", tag="tickets",
           permission=Permission.TICKET_READ, response="TicketLinkList")
def ticket_links_list(ticket_id: int):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    zone = tz()
    return jsonify({"items": [link_to_dict(link, zone)
                              for link in ticket_links(db_session(), ticket)]})


@api_route("POST", TICKET_ID + "/links", summary="Link two tickets", tag="tickets",
           permission=Permission.TICKET_WRITE, body=TicketLinkCreate, response=TicketLinkOut,
           status=201, description="Idempotent: linking again answers the existing link.")
def ticket_link(ticket_id: int, body: dict[str, Any]):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    other = other_ticket(db_session(), api_user(), body["other_id"], "other_id")
    return created(link_to_dict(link_tickets(db_session(), api_user(), ticket, other), tz()))


@api_route("POST", TICKET_ID + "/merge", summary="Merge a duplicate into another ticket",
           tag="tickets", permission=Permission.TICKET_MERGE, body=TicketMerge,
           response="TicketMergeResult", errors=(409,),
           description="The ticket in the URL is closed with `merged_into_id` set; both "
                       "get a history row. Both must be open and of the same customer.")
def ticket_merge(ticket_id: int, body: dict[str, Any]):
    duplicate = get_ticket(db_session(), api_user(), ticket_id)
    into = other_ticket(db_session(), api_user(), body["into_id"], "into_id")
    merge_tickets(db_session(), api_user(), duplicate, into, settings=settings(),
                  note=body.get("note", ""))
    return jsonify({"merged": as_json(duplicate), "into": as_json(into)})


def _attachment_json(row) -> dict[str, Any]:
    url = url_for("api.ticket_attachment_get", ticket_id=row.ticket_id, attachment_id=row.id)
    return attachment_to_dict(row, tz(), url)


@api_route("GET", TICKET_ID + "/attachments", summary="A ticket's attachments",
           tag="tickets", permission=Permission.TICKET_READ, response="AttachmentList")
def ticket_attachments_list(ticket_id: int):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    return jsonify({"items": [_attachment_json(r)
                              for r in ticket_attachments(db_session(), ticket)]})


@api_route("POST", TICKET_ID + "/attachments", summary="Attach a file to a ticket",
           tag="tickets", permission=Permission.TICKET_WRITE, response=Attachment,
           status=201, errors=(413, 422),
           description="`multipart/form-data` with the file in the field `file`. Images "
                       "(PNG, JPEG, GIF, WebP), PDF, office documents and UTF-8 text are "
                       "accepted, judged by the content; larger than the configured "
                       "TICKET_ATTACHMENT_MAX_BYTES: 413.")
def ticket_attachment_add(ticket_id: int):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    limit = settings().ticket_attachment_max_bytes
    # The API's JSON limit is far smaller than a file may be: this route reads more.
    request.max_content_length = limit + _FORM_OVERHEAD
    file = request.files.get("file")
    if file is None:
        raise ValidationError({"file": Problem("ticket.attachment_missing")})
    row = add_attachment(db_session(), api_user(), ticket,
                         Upload(file.filename or "", file.stream), settings=settings())
    return created(_attachment_json(row))


@api_route("GET", TICKET_ID + "/attachments/<id:attachment_id>",
           summary="Download an attachment", tag="tickets",
           permission=Permission.TICKET_READ,
           description="Served as a download (`Content-Disposition: attachment`) with the "
                       "content type its bytes were accepted as.")
def ticket_attachment_get(ticket_id: int, attachment_id: int):
    ticket = get_ticket(db_session(), api_user(), ticket_id)
    return send_attachment(settings(), get_attachment(db_session(), ticket, attachment_id))
