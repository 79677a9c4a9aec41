"""The audit log's one table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One access outside the user's normal scope: who, when, what, and why allowed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    #: What was done: "customer.viewed_via_call", "call.wrapped_up_via_call", ...
    action: Mapped[str] = mapped_column(String(60))
    #: The record: kind ("customer", "call") and id.
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column()
    #: Why it was allowed: the call (Asterisk's Linkedid) that opened the door.
    call_id: Mapped[str | None] = mapped_column(String(64))
    #: Free text for a human reader (the request path, ...), cleaned and cut.
    detail: Mapped[str] = mapped_column(String(500), default="")

    user = relationship("User")

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
