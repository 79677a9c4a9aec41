"""The SLA policy's and the calendar day's schemas: what the API accepts and answers,
and the limits the services read (``POLICY_LIMITS``, ``DAY_LIMITS``).

Minutes are checked by the service (``sla.minutes``: a whole number in range, with the
range in the message); the schema only documents the range, so that 0 or a year and a
day get that message rather than the generic "enter a number".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from callcenter.core.schema import Schema, max_lengths
from callcenter.customers.models import Tier
from tickets.models import CalendarDay as CalendarDayRow
from tickets.models import Priority, SlaCalendar
from tickets.models import SlaPolicy as SlaPolicyRow

#: Longest target a policy may set: a year of minutes (a business year is far less).
MAX_TARGET_MINUTES = 525_600

Minutes = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_TARGET_MINUTES},
                               description="Minutes on the policy's calendar (business "
                                           "minutes for `business`).")]
TypeCode = Annotated[str | None, Field(max_length=40,
                                       description="A ticket type code; null: any type.")]


class SlaPolicyCreate(Schema):
    read_only = frozenset({"id", "active", "created_at", "created_by_id"})

    name: Annotated[str, Field(min_length=1, max_length=120)]
    ticket_type: TypeCode = None
    priority: Annotated[Priority | None, Field(description="null: any priority.")] = None
    customer_tier: Annotated[Tier | None, Field(description="null: any tier.")] = None
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    calendar: SlaCalendar = SlaCalendar.BUSINESS


class SlaPolicy(Schema):
    """A policy; the most specific active one applies to tickets created after it."""

    id: int
    name: str
    ticket_type: str | None
    priority: str | None
    customer_tier: str | None
    first_response_minutes: int
    resolution_minutes: int
    calendar: SlaCalendar
    active: bool
    created_by_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: SlaPolicyRow) -> SlaPolicy:
        return cls(id=row.id, name=row.name, ticket_type=row.ticket_type,
                   priority=row.priority, customer_tier=row.customer_tier,
                   first_response_minutes=row.first_response_minutes,
                   resolution_minutes=row.resolution_minutes,
                   calendar=SlaCalendar(row.calendar), active=bool(row.active),
                   created_by_id=row.created_by_id, created_at=row.created_at)


class SlaPolicyList(Schema):
    items: list[SlaPolicy]


class CalendarDayCreate(Schema):
    read_only = frozenset({"id", "created_at"})

    day: Annotated[date, Field(description="YYYY-MM-DD, a local date.")]
    is_workday: Annotated[bool, Field(description="true: an extra working day; false: a day "
                                                  "off. Wins over the Chinese calendar.")]
    name: Annotated[str, Field(max_length=80, description="Why, e.g. 公司年会.")] = ""


class CalendarDay(Schema):
    id: int
    day: date
    is_workday: bool
    name: str
    created_at: datetime

    @classmethod
    def of(cls, row: CalendarDayRow) -> CalendarDay:
        return cls(id=row.id, day=row.day, is_workday=bool(row.is_workday), name=row.name,
                   created_at=row.created_at)


class CalendarDayList(Schema):
    items: list[CalendarDay]


POLICY_LIMITS = max_lengths(SlaPolicyCreate)
DAY_LIMITS = max_lengths(CalendarDayCreate)
