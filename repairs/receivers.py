"""What the repairs domain does when other domains signal (connected by
``repairs.init_app``): a customer merge moves the merged customer's repair orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from repairs import history
from repairs.models import RepairOrder
from tickets.history import CUSTOMERS_MERGED, system_note

#: The columns of a repair order that name a customer.
CUSTOMER_COLUMNS = ("customer_id", "bill_to_id", "payer_id")


def move_orders_to_survivor(survivor_id: int, *, merged_id: int, session: Session,
                            **_: Any) -> dict[str, int]:
    """``customers_merged``: repair orders naming the merged-away customer (as their
    customer, or as the frozen bill-to or payer) name the survivor, each change with a
    history row by the system."""
    orders = list(session.scalars(select(RepairOrder).where(or_(
        *(getattr(RepairOrder, c) == merged_id for c in CUSTOMER_COLUMNS)))))
    for order in orders:
        for column in CUSTOMER_COLUMNS:
            if getattr(order, column) == merged_id:
                setattr(order, column, survivor_id)
                history.record(session, order.id, None, column, merged_id, survivor_id,
                               system_note=system_note(CUSTOMERS_MERGED))
        order.version = (order.version or 1) + 1
    session.flush()
    return {"repair_orders": len(orders)}
