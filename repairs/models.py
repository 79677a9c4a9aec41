"""Repair orders (产品维修单), service stations (维修站) and their spare-parts stock.

A repair order is raised from a service request (``tickets``) for one installed product
(``callcenter.products``) and goes diagnosis → dispatched → repairing → inspection →
settlement → closed (``repairs.transitions``). Every change leaves a
``RepairOrderHistory`` row, as tickets do.

A station is a department (its technicians work there) linked to the customer record
after-sales settles with (the dealer). Its stock is one ``StationStock`` row per part,
whose ``quantity`` is changed only by a conditional UPDATE that cannot take it below
zero (``repairs.stock``), and every change is a ``StockMovement``: the movements are
the record, the stock row their running sum.

Money is ``Numeric(12, 2)`` (Decimal in Python), never a float.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, enum_type, utcnow

#: Amounts of money: 10 digits before the point, 2 after (yuan and fen).
Money = Numeric(12, 2)


class RepairStatus(enum.StrEnum):
    DIAGNOSIS = "diagnosis"       # 维修诊断
    DISPATCHED = "dispatched"     # 维修派工
    REPAIRING = "repairing"       # 维修
    INSPECTION = "inspection"     # 维修检查
    SETTLEMENT = "settlement"     # 维修结算
    CLOSED = "closed"
    CANCELLED = "cancelled"


class InspectionResult(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (an inspection result, not a password)
    FAIL = "fail"


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"               # goods in (from the warehouse or a supplier)
    ISSUE = "issue"                   # to a repair order (negative)
    RETURN = "return"                 # back from a repair order (positive)
    TRANSFER_OUT = "transfer_out"     # to another station (negative)
    TRANSFER_IN = "transfer_in"       # from another station (positive)
    ADJUSTMENT = "adjustment"         # a count that differed, with a reason (either sign)


class Station(Base):
    """A service station: where technicians work (``department_id``) and the partner
    after-sales settles with (``customer_id``, the dealer's customer record)."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"),
                                                      index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


#: The product models a part fits (models are the installed products' ``model`` text).
part_fits = Table(
    "part_fits", Base.metadata,
    Column("part_id", ForeignKey("parts.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(120), primary_key=True, index=True),
)


class Part(Base):
    """A spare part in the catalogue."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class StationStock(Base):
    """How many of a part a station holds, and below how many it warns."""

    __tablename__ = "station_stock"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True,
                                         index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    #: A low-stock notice goes out when an issue takes the quantity below this (0: none).
    low_threshold: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # The last line of defence: the services' conditional UPDATE is the first.
        CheckConstraint("quantity >= 0", name="stock_not_negative"),
    )


class StockMovement(Base):
    """One change to a station's stock of a part. ``quantity`` is signed (an issue is
    negative); ``balance_after`` is the station's quantity right after it."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    kind: Mapped[MovementKind] = mapped_column(enum_type(MovementKind, "movement_kind"))
    quantity: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    #: Issues and returns: the order, and the part's price then (what settlement charges).
    repair_order_id: Mapped[int | None] = mapped_column(ForeignKey("repair_orders.id"),
                                                        index=True)
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    #: Transfers: the other station.
    other_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: A client's key for this movement (a retried request or offline sync adds nothing).
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_stock_movements_station_part", "station_id", "part_id", "id"),
    )


class RepairOrder(Base):
    __tablename__ = "repair_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RepairStatus] = mapped_column(enum_type(RepairStatus, "repair_status"),
                                                 default=RepairStatus.DIAGNOSIS)
    #: The service request it came from, and what the request was about.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("installed_products.id"), index=True)
    #: The product's end user when the order was raised (the order's customer).
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: Who reported the fault (a contact of the customer), and the fault in their words.
    reporter_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"))
    fault_description: Mapped[str] = mapped_column(Text)
    #: The day the fault was reported (call center's time zone): the warranty's
    #: reference date.
    reported_on: Mapped[date] = mapped_column(Date)

    # --- diagnosis ---
    #: A defect code from the knowledge base's defect library once it exists.
    defect_code: Mapped[str | None] = mapped_column(String(40))
    diagnosis: Mapped[str] = mapped_column(Text, default="")

    # --- dispatch ---
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # --- repair and inspection ---
    findings: Mapped[str] = mapped_column(Text, default="")
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspection_result: Mapped[InspectionResult | None] = mapped_column(
        enum_type(InspectionResult, "inspection_result"))
    inspection_note: Mapped[str] = mapped_column(Text, default="")
    #: The customer's signature captured on the technician's screen (a stored upload).
    signature_path: Mapped[str | None] = mapped_column(String(300))

    # --- warranty: the decision and what it was made on ---
    in_warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    #: {"warranty_type", "warranty_end", "reference_date", "rule"}: why in_warranty is
    #: what it is; an override adds {"overridden_by", "reason", "was"}.
    warranty_basis: Mapped[dict] = mapped_column(JSON, default=dict)

    # --- settlement (amounts frozen when the order reaches settlement) ---
    service_type: Mapped[str | None] = mapped_column(String(40))
    labour_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    labour_rate: Mapped[Decimal | None] = mapped_column(Money)
    labour_flat_fee: Mapped[Decimal | None] = mapped_column(Money)
    labour_amount: Mapped[Decimal | None] = mapped_column(Money)
    parts_amount: Mapped[Decimal | None] = mapped_column(Money)
    total_amount: Mapped[Decimal | None] = mapped_column(Money)
    payable_by_customer: Mapped[Decimal | None] = mapped_column(Money)
    #: Bill-to and payer follow the customer's master data until settlement, then frozen.
    bill_to_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # --- repeat repairs (返修) ---
    #: The earlier order of the same serial this one repeats (closed within the window).
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("repair_orders.id"))

    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Optimistic lock: every write bumps it; a writer with an older one gets 409.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    station: Mapped[Station | None] = relationship(Station)

    __table_args__ = (
        Index("ix_repair_orders_technician_scheduled", "technician_id", "scheduled_at"),
        Index("ix_repair_orders_status", "status"),
    )


class RepairOrderHistory(Base):
    """One change to a repair order: field, old and new value, who, when, a note
    (``field``: a column or an event such as ``created``, ``part_issued``,
    ``warranty_override``)."""

    __tablename__ = "repair_order_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("repair_orders.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    #: A person's own words about the change (a move's note, an override's reason).
    note: Mapped[str] = mapped_column(Text, default="")
    #: What the system says about the change, ``[code, params]`` (a settlement's figures,
    #: a merge, the warranty rule), worded where it is shown (``tickets.history_words``).
    system_note: Mapped[list | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_repair_order_history_order", "order_id", "changed_at", "id"),)


class SyncedChange(Base):
    """A change the technician's phone sent with an idempotency key, and what it answered:
    the same key sent again (a retried sync) gets the same answer and changes nothing."""

    __tablename__ = "repair_synced_changes"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("repair_orders.id",
                                                            ondelete="CASCADE"))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
