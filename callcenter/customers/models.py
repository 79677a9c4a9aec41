from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from callcenter.customers.names import KEY_LENGTH, pinyin_key
from callcenter.db import Base, UTCDateTime, enum_type, utcnow


class Lifecycle(enum.StrEnum):
    POTENTIAL = "potential"   # 潜在
    TARGET = "target"         # 目标
    CURRENT = "current"       # 现实
    LOST = "lost"             # 流失


class Tier(enum.StrEnum):
    """Drives service priority: VIP callers are queued first."""

    VIP = "vip"
    MAJOR = "major"
    ORDINARY = "ordinary"
    SMALL = "small"


def _pinyin_default(context) -> str:
    return pinyin_key(context.get_current_parameters().get("name") or "")


customer_related_users = Table(
    "customer_related_users",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Customer(Base):
    """A sold-to party (售达方). Its identity (id, external id) never changes once created."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Key of the source system, used to upsert on (re-)import.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Normalised name (NFKC, case-folded, legal-form words and punctuation removed) for
    #: duplicate detection and search.
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    #: ``name_key`` in Latin letters (Chinese as toneless pinyin) so that homophone typos
    #: and pinyin spellings of Chinese names are found as duplicates. Kept in step with
    #: ``name`` by ``_keep_pinyin_key`` (ORM) and the insert default (bulk Core inserts).
    name_pinyin: Mapped[str] = mapped_column(String(400), default=_pinyin_default,
                                             server_default="", index=True)
    region: Mapped[str] = mapped_column(String(80), default="")
    industry: Mapped[str] = mapped_column(String(80), default="")
    lifecycle: Mapped[Lifecycle] = mapped_column(enum_type(Lifecycle, "lifecycle"),
                                                 default=Lifecycle.POTENTIAL)
    tier: Mapped[Tier] = mapped_column(enum_type(Tier, "tier"), default=Tier.ORDINARY)
    tax_id: Mapped[str | None] = mapped_column(String(40), index=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Holds equipment whose real end user is not known yet (e.g. the selling branch).
    is_placeholder: Mapped[bool] = mapped_column(default=False)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: Partner functions; NULL means "the sold-to itself" (the default).
    ship_to_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    bill_to_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    #: Set when this record was merged into another; such records are hidden from lists.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: Optimistic lock: bumped by every write (callcenter.core.versions.claim); a client
    #: sends back the version it read, and a stale one is refused instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    responsible = relationship("User", foreign_keys=[responsible_id])
    department = relationship("Department")
    related_users = relationship("User", secondary=customer_related_users, order_by="User.id")
    ship_to: Mapped[Customer | None] = relationship(foreign_keys=[ship_to_id], remote_side=[id])
    bill_to: Mapped[Customer | None] = relationship(foreign_keys=[bill_to_id], remote_side=[id])
    payer: Mapped[Customer | None] = relationship(foreign_keys=[payer_id], remote_side=[id])
    contacts: Mapped[list[Contact]] = relationship(back_populates="customer",
                                                   order_by="Contact.id")
    phones: Mapped[list[Phone]] = relationship(
        back_populates="customer", order_by="Phone.id",
        primaryjoin="and_(Phone.customer_id == Customer.id, Phone.contact_id.is_(None))",
        viewonly=True)
    addresses: Mapped[list[Address]] = relationship(back_populates="customer",
                                                    order_by="Address.id")
    #: The installed base (callcenter.products): equipment whose end user this customer is.
    products: Mapped[list[InstalledProduct]] = relationship(back_populates="customer",
                                                            order_by="InstalledProduct.id")

    @validates("name")
    def _keep_pinyin_key(self, _key: str, value: str) -> str:
        self.name_pinyin = pinyin_key(value or "")
        return value

    __table_args__ = (
        # Finance rule: whoever pays is whoever is invoiced.
        CheckConstraint(
            "(payer_id IS NULL AND bill_to_id IS NULL) OR payer_id = bill_to_id",
            name="payer_is_bill_to",
        ),
    )


class Contact(Base):
    """A person who calls in for a customer (联系人)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Optimistic lock, as on Customer.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    customer: Mapped[Customer] = relationship(back_populates="contacts")
    phones: Mapped[list[Phone]] = relationship(back_populates="contact", order_by="Phone.id",
                                               cascade="all, delete-orphan")


class NameSearchKey(Base):
    """One key a customer or contact is found by (``names.search_keys``): searched by
    its start on an index, as fast as the caller-ID lookup. Kept in step with the names
    by ``callcenter.customers.name_search`` (every ORM write, and the import's)."""

    __tablename__ = "customer_name_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: NULL: the customer's own name; else the contact whose name this is.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    #: Byte order on PostgreSQL, so that a prefix is a range of the index whatever the
    #: database's collation.
    key: Mapped[str] = mapped_column(
        String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql"))

    __table_args__ = (Index("ix_customer_name_keys_key", "key", "customer_id"),)


class Phone(Base):
    """A phone number of a customer (contact_id NULL) or of one of its contacts.

    ``e164`` is the caller-ID lookup key; ``raw`` is what was typed, kept for display.
    """

    __tablename__ = "phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                                   index=True)
    raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str] = mapped_column(String(10), default="")
    label: Mapped[str] = mapped_column(String(40), default="")

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship(back_populates="phones")

    __table_args__ = (
        Index("ix_phones_e164", "e164"),
        Index("ix_phones_customer_id", "customer_id"),
    )


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: "main", "ship_to" (运达地址), "bill_to" (开票地址), ...
    purpose: Mapped[str] = mapped_column(String(20), default="main")
    line: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(80), default="")
    province: Mapped[str] = mapped_column(String(80), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="CN")

    customer: Mapped[Customer] = relationship(back_populates="addresses")


class ChangeRecord(Base):
    """One changed field of customer data: who, when, what, old and new value."""

    __tablename__ = "customer_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: "customer", "contact", "phone", "address", "product", "merge"
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column()
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    user = relationship("User")


class CustomerMerge(Base):
    """Audit trail of a merge: which record was folded into which, by whom, what moved."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: JSON text: counts and ids of the moved records, and the merged record's fields.
    details: Mapped[str] = mapped_column(Text, default="{}")


# The products domain's model is named by string in ``Customer.products``; importing it
# here means loading the customer models always gives the mapper both ends.
from callcenter.products.models import InstalledProduct  # noqa: E402,F401
