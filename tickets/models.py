"""The service desk's tables: tickets, their history, comments, attachments, SLA.

A ticket (服务请求 / 客户投诉) belongs to its sold-to customer; the person who reported it
is a contact of that customer. Every change leaves a ``TicketHistory`` row (who, when,
old, new, note): the history is the record, and the SLA state can be rebuilt from it.

The SLA columns on ``Ticket`` are a cache of what ``tickets.sla`` computes from the
ticket's policy snapshot and its history; ``next_escalation_at`` is the instant the
escalation timer for the ticket's next ladder step is due (NULL: nothing to fire),
and ``TicketEscalation`` has one row per step fired, unique per ticket, so a step
fires once however many jobs or workers race to it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, enum_type, utcnow


class TicketStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"             # 分派
    IN_PROGRESS = "in_progress"       # 处理
    PENDING = "pending"               # 挂起: the SLA clock stops
    RESOLVED = "resolved"
    CLOSED = "closed"                 # 关闭


#: States in which a ticket is still being worked on (escalation applies to these).
OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS,
                           TicketStatus.PENDING})


#: The same, as SQL (the partial index of open tickets).
OPEN_SQL = "status IN ('new', 'assigned', 'in_progress', 'pending')"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


#: Priorities in rising order (an escalation raises a ticket's one step).
PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class Channel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    WALK_IN = "walk_in"


class SlaCalendar(enum.StrEnum):
    BUSINESS = "business"     # working hours on the Chinese working calendar
    ALL_HOURS = "24x7"


class SlaState(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"


#: The four types the seeds name; editors add more (``TicketType`` rows).
BUILTIN_TYPES = ("inquiry", "complaint", "suggestion", "service_request")


class TicketType(Base):
    """A kind of request. The built-in four are created by the migration."""

    __tablename__ = "ticket_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-case letters, digits and '_': what the API and the SLA policies name.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: Employees listed as related to a ticket (相关员工): the "related" scope reads it.
ticket_related_users = Table(
    "ticket_related_users", Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

#: The calls a ticket came from (a call may feed several tickets, a ticket several calls).
ticket_calls = Table(
    "ticket_calls", Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("call_id", ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Ticket(Base):
    __tablename__ = "tickets"

    #: Also the ticket's number, as a caller keys it in (digits only, at most 12).
    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("ticket_types.code"), index=True)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority, "ticket_priority"),
                                               default=Priority.NORMAL)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "ticket_channel"),
                                             default=Channel.PHONE)
    status: Mapped[TicketStatus] = mapped_column(enum_type(TicketStatus, "ticket_status"),
                                                 default=TicketStatus.NEW)
    #: 0: not escalated; raised by the escalation ladder (tickets.escalation), never lowered
    #: while the ticket is open.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    #: The sold-to customer (售达方); follows a customer merge.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The reporter, a contact of the customer (found by phone, not duplicated).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id",
                                                              ondelete="SET NULL"))
    installed_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("installed_products.id", ondelete="SET NULL"), index=True)

    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The result of the service given (服务结果), written when resolving.
    resolution: Mapped[str] = mapped_column(Text, default="")

    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The team that owns the ticket (the department scope and the team queues read it).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: Set when this ticket was merged into another (it is then closed).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    #: Optimistic lock: every write bumps it; a writer with an older one gets 409.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # --- SLA: a snapshot of the policy taken at creation (later policies don't apply) ---
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id",
                                                                 ondelete="SET NULL"))
    sla_calendar: Mapped[SlaCalendar] = mapped_column(enum_type(SlaCalendar, "sla_calendar"),
                                                      default=SlaCalendar.BUSINESS)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    # --- SLA: computed by tickets.sla from the snapshot and the history ---
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_state: Mapped[SlaState] = mapped_column(enum_type(SlaState, "sla_state"),
                                                default=SlaState.ON_TRACK)
    #: The escalation timer: when the next ladder step is due (NULL: none pending).
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    related_users = relationship("User", secondary=ticket_related_users, lazy="selectin")

    __table_args__ = (
        # The work queues (open tickets by SLA due time, scoped): open tickets are a
        # small share of all, so a partial index holds only them, with the columns the
        # scope and the queues test, and the count is an index-only scan. (A composite
        # (customer_id, status) index misled PostgreSQL into scanning all of it for the
        # status test: bench/ticket_list.py.)
        Index("ix_tickets_open_due", "resolution_due_at", "id",
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL),
              postgresql_include=["assignee_id", "department_id", "creator_id", "sla_state",
                                  "type_code", "priority", "status"]),
        # The at-risk and breached queues: a few hundred rows of all the open ones.
        Index("ix_tickets_open_sla_due", "sla_state", "resolution_due_at",
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
        # Plain, not (assignee, status, due): PostgreSQL combined such an index's status
        # column with the partial one above by scanning all of it (bench/ticket_list.py).
        Index("ix_tickets_assignee_id", "assignee_id"),
        Index("ix_tickets_department_id", "department_id"),
        # The escalation reconciler and the due sweep.
        Index("ix_tickets_next_escalation_at", "next_escalation_at"),
    )


class TicketHistory(Base):
    """One change to a ticket: a field's old and new value, who, when, and a note.

    ``field`` is a ticket column (``status``, ``assignee_id``, ``priority``,
    ``escalation_level``, ...) or an event (``created``, ``comment``, ``attachment``,
    ``merged``, ``linked``, ``call``, ``sla_state``). ``user_id`` NULL: the system did it.
    """

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    #: A person's own words about the change (a move's note, a comment's start).
    note: Mapped[str] = mapped_column(Text, default="")
    #: What the system says about the change, ``[code, params]`` (a merge, an
    #: escalation), worded where it is shown (``tickets.history_words``); NULL: nothing.
    system_note: Mapped[list | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_ticket_history_ticket_changed", "ticket_id", "changed_at", "id"),)


class TicketComment(Base):
    """An internal note (staff only) or a reply the customer sees."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketAttachment(Base):
    """A file kept outside the web root under ``stored_name`` (generated, never the upload's)."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_comments.id",
                                                              ondelete="SET NULL"))
    #: The name the uploader gave it, cleaned; only ever shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketLink(Base):
    """Two tickets about the same thing (stored once per pair, lower id first)."""

    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(20), default="related")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("ticket_id", "other_id"),)


class TicketEscalation(Base):
    """A step of the escalation ladder that fired for a ticket: at most once, ever."""

    __tablename__ = "ticket_escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    #: The ladder step's index (tickets.escalation.EscalationStep): warn, breach, up, ...
    step: Mapped[int] = mapped_column(Integer)
    #: The escalation level the ticket reached with it (0 for a warning only).
    level: Mapped[int] = mapped_column(Integer, default=0)
    #: When the step was due and when it fired (their difference: its lateness).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("ticket_id", "step"),)


class TicketNotice(Base):
    """An in-app notice to a user (at risk, breached, escalated to you), until read."""

    __tablename__ = "ticket_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When it was mailed (tickets.mail): a retried mail job does not send it again.
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ticket_notices_user_read", "user_id", "read_at"),)


class SlaPolicy(Base):
    """Targets for tickets of a type × priority × customer tier (NULL: any).

    The most specific active policy applies to a ticket when it is created; its targets
    are copied onto the ticket, so a policy made later changes no existing ticket.
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    ticket_type: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[str | None] = mapped_column(String(20))
    customer_tier: Mapped[str | None] = mapped_column(String(20))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar: Mapped[SlaCalendar] = mapped_column(enum_type(SlaCalendar, "sla_calendar"),
                                                  default=SlaCalendar.BUSINESS)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarDay(Base):
    """A date an admin set apart from the Chinese working calendar (a company holiday,
    an extra working day): it overrides what ``chinese-calendar`` says."""

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AssignmentCursor(Base):
    """Round-robin: the member of a team who got the last ticket."""

    __tablename__ = "ticket_assignment_cursors"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id",
                                                          ondelete="CASCADE"),
                                               primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                ondelete="SET NULL"))
