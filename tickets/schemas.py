"""The ticket domain's schemas: one per resource (tickets, transitions, comments,
history items, attachments, links), as ``callcenter.core.schema`` wants them.

Each validates the API body (unknown fields 422), describes it in the OpenAPI document
and serializes the answer. The limits (``LIMITS``) are read from here by the services
and the web forms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Id, Schema, json_schemas, max_lengths
from callcenter.customers.schemas import UserRef
from callcenter.openapi import register_schemas
from tickets.models import Channel, Priority, SlaState, TicketStatus

TypeCode = Annotated[str, Field(min_length=1, max_length=40, pattern="^[a-z0-9_]+$",
                                description="inquiry, complaint, suggestion, "
                                            "service_request, or an added type's code.")]
Subject = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=20000)]
Resolution = Annotated[str, Field(max_length=20000,
                                  description="The result of the service given.")]
Note = Annotated[str, Field(max_length=2000)]
CommentBody = Annotated[str, Field(min_length=1, max_length=20000)]
RelatedIds = Annotated[list[Id], Field(max_length=50,
                                       description="Employees related to the ticket.")]
CallRef = Annotated[int | str, Field(description="The call log id (integer) or the "
                                                 "call's Linkedid (text).")]


class Reporter(Schema):
    """Who reported it: found among the customer's contacts by phone, else added."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    phone: Annotated[str, Field(min_length=1, max_length=64)]


class TicketCreate(Schema):
    read_only = frozenset({"id", "status", "version", "escalation_level", "created_at",
                           "updated_at", "sla", "creator_id", "merged_into_id"})
    pattern_codes = {"type": "ticket.type_code"}

    type: TypeCode
    subject: Subject
    description: Description = ""
    customer_id: Id
    priority: Priority = Priority.NORMAL
    installed_product_id: Id | None = None
    contact_id: Id | None = None
    call_id: CallRef | None = None
    channel: Channel = Channel.PHONE
    assignee_id: Id | None = None
    department_id: Id | None = None
    reporter: Reporter | None = None
    related_user_ids: RelatedIds = []
    round_robin: Annotated[bool, Field(
        description="Without an assignee: give it to the team's next available member "
                    "in turn (it stays unassigned when nobody is available).")] = False


class TicketPatch(Schema):
    """Only the fields given change; ``version`` is the one the client read."""

    read_only = TicketCreate.read_only - {"version"}
    refused = {"status": "ticket.use_transition", "assignee_id": "ticket.use_transition",
               "customer_id": "ticket.customer_fixed"}
    pattern_codes = TicketCreate.pattern_codes

    version: Id
    type: TypeCode | None = None
    subject: Subject | None = None
    description: Description | None = None
    priority: Priority | None = None
    installed_product_id: Id | None = None
    contact_id: Id | None = None
    department_id: Id | None = None
    resolution: Resolution | None = None
    related_user_ids: RelatedIds | None = None


class TicketTransition(Schema):
    to: TicketStatus
    version: Id
    assignee_id: Annotated[Id | None, Field(description="Required for `assigned`.")] = None
    note: Note = ""
    resolution: Annotated[Resolution | None, Field(
        description="The service result, when resolving.")] = None


class CommentCreate(Schema):
    body: CommentBody
    internal: Annotated[bool, Field(description="Staff only (true) or a reply the "
                                                "customer sees (false).")] = True


class TicketLinkCreate(Schema):
    other_id: Id


class TicketMerge(Schema):
    into_id: Annotated[Id, Field(description="The ticket that stays open.")]
    note: Note = ""


# --- answers ------------------------------------------------------------------------

class Sla(Schema):
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    state: SlaState


class Ticket(Schema):
    id: Annotated[int, Field(description="Also the ticket's number.")]
    type: str
    subject: str
    description: str
    resolution: str
    status: TicketStatus
    priority: Priority
    channel: Channel
    version: int
    escalation_level: int
    customer_id: int
    contact_id: int | None
    installed_product_id: int | None
    creator_id: int | None
    assignee_id: int | None
    department_id: int | None
    merged_into_id: int | None
    related_user_ids: list[int]
    call_ids: list[int]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla: Sla


class SystemNote(Schema):
    """What the system noted about a change, for programs to branch on."""

    code: Annotated[str, Field(description="history.customers_merged, "
                                           "ticket.escalation.warn|lead|up, "
                                           "repair.history.settlement, "
                                           "repair.history.from_ticket, repair.rule.<outcome>")]
    params: Annotated[dict[str, Any], Field(description="Its values as stored: ids, amounts "
                                                        "as text (\"0.00\"), codes.")]


class HistoryDisplay(Schema):
    """A history item in words, in the reader's language (``Accept-Language``, else their
    setting), as the page shows it."""

    who: Annotated[str, Field(description="A person's name, or \"system\" in words.")]
    what: Annotated[str, Field(description="The field or event in words.")]
    old: Annotated[str | None, Field(description="The old value in words; null: none.")]
    new: Annotated[str | None, Field(description="The new value in words; null: none.")]
    system_note: Annotated[str | None, Field(description="`system_note` in words.")]


class HistoryItem(Schema):
    id: int
    field: str
    old_value: Annotated[str | None, Field(
        description="As stored: ids as digits (a set of ids as `3,9`), codes by value, "
                    "times in ISO 8601.")]
    new_value: Annotated[str | None, Field(description="As stored, like `old_value`.")]
    changed_at: Annotated[datetime, Field(description="ISO 8601 with an offset.")]
    user: Annotated[UserRef | None, Field(description="Who; null: the system.")]
    note: Annotated[str, Field(description="A person's own words about the change.")]
    system_note: Annotated[SystemNote | None, Field(
        description="What the system noted (a merge, an escalation, a settlement's "
                    "figures); null: nothing.")]
    display: Annotated[HistoryDisplay, Field(description=(
        "The same item in words: names instead of ids (a customer outside the reader's "
        "scope by its number), labels instead of codes, amounts and times as the pages "
        "show them."))]


class Comment(Schema):
    id: int
    ticket_id: int
    author_id: int | None
    body: str
    internal: bool
    created_at: datetime


class Attachment(Schema):
    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    created_at: datetime
    url: str


class TicketLinkOut(Schema):
    id: int
    ticket_id: int
    other_id: int
    kind: str
    created_at: datetime


#: The longest text per ticket field: the one definition (API, services, web form).
LIMITS = max_lengths(TicketCreate) | max_lengths(TicketPatch) | {
    "note": 2000, "body": max_lengths(CommentCreate)["body"]}
REPORTER_LIMITS = max_lengths(Reporter)

register_schemas(json_schemas([SystemNote, HistoryDisplay, HistoryItem, Comment, Attachment,
                               TicketLinkOut], mode="serialization"))
register_schemas({"TicketPage": page_schema("Ticket"),
                  "TicketHistory": list_schema("HistoryItem"),
                  "CommentList": list_schema("Comment"),
                  "AttachmentList": list_schema("Attachment"),
                  "TicketLinkList": list_schema("TicketLinkOut")})
