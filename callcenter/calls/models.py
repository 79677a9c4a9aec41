"""One row per call (keyed by Asterisk's Linkedid) and the queues calls come through."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class Outcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"    # still up (ringing, queued or talking)
    ANSWERED = "answered"          # an agent talked to the caller
    ABANDONED = "abandoned"        # the caller gave up (or timed out) while queued
    TRANSFERRED = "transferred"    # answered, then sent elsewhere (another queue, a number)
    UNANSWERED = "unanswered"      # ended without a queue or an agent ever connecting
    #                                (outbound: the customer did not answer)
    BUSY = "busy"                  # outbound: the customer's line was busy


class Direction(enum.StrEnum):
    INBOUND = "inbound"            # a caller came in (the dialplan, usually a queue)
    OUTBOUND = "outbound"          # click-to-dial: an agent called the customer


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class CallRecord(Base):
    """A call as the call log keeps it. ``call_id`` is the Linkedid: replaying the same
    AMI events updates this row instead of adding another."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: Uniqueid of the channel that ran Queue() (queue_log's callid), when queued.
    queue_uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The number as the PBX reported it, after cleaning control characters.
    caller_number: Mapped[str] = mapped_column(String(80), default="")
    caller_name: Mapped[str] = mapped_column(String(120), default="")
    #: E.164 form of ``caller_number``; None when it is no phone number (anonymous, ...).
    caller_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str | None] = mapped_column(String(80))
    #: The agent who talked last (after a transfer: the one it ended with).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    agent_interface: Mapped[str | None] = mapped_column(String(120))
    #: Every interface that talked to the caller, in order ([] when nobody did).
    agents: Mapped[list] = mapped_column(JSON, default=list)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "call_outcome"),
                                             default=Outcome.IN_PROGRESS, index=True)
    #: Who started it. Outbound (click-to-dial): ``caller_number`` is the number dialled,
    #: ``agent_id`` the agent who dialled, ``answered_at`` when the customer answered;
    #: such a call never counts as offered or abandoned in a queue's figures.
    direction: Mapped[Direction] = mapped_column(
        _enum(Direction, "call_direction"), default=Direction.INBOUND,
        server_default=Direction.INBOUND.value, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Seconds in the queue before an agent answered or the caller left.
    wait_s: Mapped[float | None] = mapped_column(Float)
    #: Seconds connected to agents (all of them, after transfers).
    talk_s: Mapped[float | None] = mapped_column(Float)
    disposition: Mapped[str | None] = mapped_column(String(40))
    wrapup_notes: Mapped[str] = mapped_column(Text, default="")
    wrapup_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                ondelete="SET NULL"))
    wrapup_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)

    __table_args__ = (Index("ix_calls_queue_started", "queue", "started_at"),)


class PbxQueue(Base):
    """An Asterisk queue as the call center sees it: who supervises it, its targets.

    Rows are added by the bridge when it first sees a queue; a supervisor sees the
    wallboard of the queues of their department and its sub-departments.
    """

    __tablename__ = "pbx_queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"),
                                                      index=True)
    #: Answered within this many seconds counts towards the service level.
    service_level_s: Mapped[int] = mapped_column(Integer, default=20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PbxRecordCursor(Base):
    """How far the bridge has read a PBX record file (the queue_log), so a restarted
    bridge goes on from there: ``offset`` is where the oldest call not yet reconciled
    begins, in the file with that ``inode`` (a rotated file has a new one)."""

    __tablename__ = "pbx_record_cursors"

    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    inode: Mapped[int | None] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)
