"""The forms on an order's page and what posting them does: each a thin shell over the
orders and stock services (``repairs.transitions``, ``repairs.warranty``,
``repairs.stock``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from repairs.models import RepairOrder


def action_forms(session: Session, order: RepairOrder) -> dict:
    """The forms the order's page offers the current user (none until the services land)."""
    return {"actions": {}}
