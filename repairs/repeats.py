"""Repeat repairs (返修): how often a repaired product comes back.

An order is a repeat repair when it was raised for a serial within ``REPAIR_REPEAT_DAYS``
after that serial's last repair order closed (``repairs.orders.find_repeat_of`` flags it
when it is raised: ``repeat_of_id``). Here they are counted: per product model, with the
rate among all the model's repairs in a period, and listed one by one with the repair
they repeat. Cancelled orders count neither way (no repair was done). With an ``actor``
only the orders in their scope count (``repairs.queries.visible_orders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from callcenter.products.models import InstalledProduct
from callcenter.users.models import User
from repairs.models import RepairOrder, RepairStatus
from repairs.queries import visible_orders

#: Most repeat orders one listing shows (the figures per model count them all).
LIST_LIMIT = 200


def _counted(stmt: Select, actor: User | None, since: date | datetime | None,
             until: date | datetime | None) -> Select:
    stmt = stmt.where(RepairOrder.status != RepairStatus.CANCELLED)
    if actor is not None:
        stmt = stmt.where(visible_orders(actor))
    if since is not None:
        stmt = stmt.where(RepairOrder.created_at >= since)
    if until is not None:
        stmt = stmt.where(RepairOrder.created_at < until)
    return stmt


def repeat_repair_count(session: Session, actor: User | None = None, *,
                        product_id: int | None = None, model: str | None = None,
                        since: datetime | None = None,
                        until: datetime | None = None) -> int:
    """How many repair orders raised in [since, until) were repeat repairs, optionally
    of one product or one model."""
    stmt = select(func.count(RepairOrder.id)).where(RepairOrder.repeat_of_id.is_not(None))
    if product_id is not None:
        stmt = stmt.where(RepairOrder.product_id == product_id)
    if model is not None:
        stmt = stmt.join(InstalledProduct, InstalledProduct.id == RepairOrder.product_id) \
            .where(InstalledProduct.model == model)
    return session.scalar(_counted(stmt, actor, since, until)) or 0


def repeat_repairs_by_model(session: Session, actor: User | None = None, *,
                            since: datetime | None = None,
                            until: datetime | None = None) -> list[dict[str, Any]]:
    """Per product model: repair orders raised in [since, until), the repeat repairs
    among them and the repeat rate (Decimal, 4 places); most repeats first, then the
    highest rate."""
    stmt = (select(InstalledProduct.model, func.count(RepairOrder.id),
                   func.count(RepairOrder.repeat_of_id))
            .join(InstalledProduct, InstalledProduct.id == RepairOrder.product_id)
            .group_by(InstalledProduct.model))
    rows = session.execute(_counted(stmt, actor, since, until)).all()
    out = [{"model": m, "orders": int(n), "repeats": int(r or 0),
            "rate": (Decimal(int(r or 0)) / n).quantize(Decimal("0.0001")) if n else
            Decimal(0)} for m, n, r in rows]
    return sorted(out, key=lambda row: (-row["repeats"], -row["rate"], row["model"]))


@dataclass(frozen=True)
class RepeatRepair:
    order: RepairOrder
    earlier: RepairOrder
    product: InstalledProduct

    @property
    def days_after(self) -> int:
        """Whole days from the earlier repair's closing to this order being raised."""
        return max(0, (self.order.created_at - self.earlier.closed_at).days) \
            if self.earlier.closed_at else 0


def repeat_repairs(session: Session, actor: User | None = None, *,
                   since: datetime | None = None, until: datetime | None = None,
                   model: str | None = None, limit: int = LIST_LIMIT) -> list[RepeatRepair]:
    """The repeat repairs raised in [since, until), newest first, each with the repair
    it repeats and the product (at most ``limit``)."""
    earlier = aliased(RepairOrder)
    stmt = (select(RepairOrder, earlier, InstalledProduct)
            .join(earlier, earlier.id == RepairOrder.repeat_of_id)
            .join(InstalledProduct, InstalledProduct.id == RepairOrder.product_id))
    if model is not None:
        stmt = stmt.where(InstalledProduct.model == model)
    stmt = _counted(stmt, actor, since, until) \
        .order_by(RepairOrder.created_at.desc(), RepairOrder.id.desc()).limit(limit)
    return [RepeatRepair(o, e, p) for o, e, p in session.execute(stmt).all()]
