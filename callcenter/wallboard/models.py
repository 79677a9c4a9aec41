"""What the wallboard keeps in the database: the alert thresholds a supervisor set for a
queue, and the agents' pauses (the live state in Redis only knows the present one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class QueueThresholds(Base):
    """A queue's alert thresholds, where its supervisors set their own. A queue without a
    row alerts at the defaults (``callcenter.wallboard.thresholds.DEFAULTS``)."""

    __tablename__ = "wallboard_thresholds"

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("pbx_queues.id", ondelete="CASCADE"), primary_key=True)
    #: Today's service level below this (percent) is flagged.
    service_level_percent: Mapped[int] = mapped_column(Integer)
    #: A caller waiting longer than this (seconds) is flagged.
    longest_wait_s: Mapped[int] = mapped_column(Integer)
    #: Today's abandon rate above this (percent) is flagged.
    abandon_rate_percent: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)
    #: Bumped by every save: a save holding an older one is refused (a supervisor's form
    #: must not silently overwrite what another saved meanwhile). No row: version 0.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AgentPause(Base):
    """One stretch of time an agent's interface was paused in the PBX (``state``
    ``paused``, with the reason they chose) or in after-call work (``wrap_up``), as the
    bridge saw it. ``ended_at`` is NULL while it lasts; one open row per interface at
    most (``callcenter.wallboard.pauses``)."""

    __tablename__ = "agent_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    interface: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Today's pauses of the board's agents: by interface, those not ended before the day.
    __table_args__ = (Index("ix_agent_pauses_interface_ended", "interface", "ended_at"),)
