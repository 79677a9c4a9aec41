"""The ticket type's schemas: what ``/api/v1/ticket-types`` accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from callcenter.core.schema import Schema, max_lengths
from tickets.models import TicketType as TicketTypeRow

Name = Annotated[str, Field(min_length=1, max_length=80)]


class TicketTypeCreate(Schema):
    read_only = frozenset({"builtin", "active", "created_at"})
    pattern_codes = {"code": "ticket.type_code"}

    code: Annotated[str, Field(min_length=1, max_length=40, pattern="^[a-z0-9_]+$",
                               description="Lower-case letters, digits and _; fixed once "
                                           "created (tickets and SLA policies name it).")]
    name_zh: Name
    name_en: Name


class TicketTypeUpdate(Schema):
    read_only = frozenset({"code", "builtin", "created_at"})

    name_zh: Name | None = None
    name_en: Name | None = None
    active: Annotated[bool | None, Field(description="False: new tickets can't take it "
                                                      "(built-in types stay active).")] = None


class TicketType(Schema):
    code: str
    name_zh: str
    name_en: str
    builtin: bool
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: TicketTypeRow) -> TicketType:
        return cls(code=row.code, name_zh=row.name_zh, name_en=row.name_en,
                   builtin=bool(row.builtin), active=bool(row.active),
                   created_at=row.created_at)


class TicketTypeList(Schema):
    items: list[TicketType]


TYPE_LIMITS = max_lengths(TicketTypeCreate)
