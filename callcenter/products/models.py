"""The installed base's table: a product sold and in service, owned by its end user."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, enum_type, utcnow

if TYPE_CHECKING:
    from callcenter.customers.models import Customer


class WarrantyType(enum.StrEnum):
    NONE = "none"
    STANDARD = "standard"
    EXTENDED = "extended"
    CONTRACT = "contract"     # service contract


class InstalledProduct(Base):
    """A product sold and in service (设备): the end user owns it, warranty follows it."""

    __tablename__ = "installed_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(120), index=True)
    serial_number: Mapped[str] = mapped_column(String(80), unique=True)
    #: The end user (a customer of callcenter.customers); moved by ``assign_product``.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    warranty_type: Mapped[WarrantyType] = mapped_column(enum_type(WarrantyType, "warranty_type"),
                                                        default=WarrantyType.STANDARD)
    #: The last covered day (a calendar date in the call center's time zone).
    warranty_end: Mapped[date | None] = mapped_column(Date)
    installed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Optimistic lock (callcenter.core.versions): bumped by every write, checked on edits.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    customer: Mapped[Customer] = relationship("Customer", back_populates="products")
