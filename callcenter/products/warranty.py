"""Warranty state: whether a product is covered today, in Python and as SQL."""

from __future__ import annotations

import enum
from datetime import date, timedelta

from sqlalchemy import and_

from callcenter.products.models import InstalledProduct, WarrantyType

#: A warranty ending within this many days counts as "expiring" (the reminder horizon).
EXPIRING_DAYS = 30


class WarrantyState(enum.StrEnum):
    IN_WARRANTY = "in_warranty"
    EXPIRING = "expiring"   # ends within EXPIRING_DAYS: time to offer a service contract
    EXPIRED = "expired"
    NONE = "none"           # no warranty, or no end date known


def warranty_state(product: InstalledProduct, today: date) -> WarrantyState:
    """The warranty end date is the last covered day."""
    if product.warranty_type in (WarrantyType.NONE, None) or product.warranty_end is None:
        return WarrantyState.NONE
    if product.warranty_end < today:
        return WarrantyState.EXPIRED
    if product.warranty_end <= today + timedelta(days=EXPIRING_DAYS):
        return WarrantyState.EXPIRING
    return WarrantyState.IN_WARRANTY


def warranty_clause(state: WarrantyState, today: date):
    """``warranty_state`` as SQL, so the filter runs in the database."""
    has_warranty = and_(InstalledProduct.warranty_type != WarrantyType.NONE,
                        InstalledProduct.warranty_end.is_not(None))
    horizon = today + timedelta(days=EXPIRING_DAYS)
    if state == WarrantyState.NONE:
        return ~has_warranty
    if state == WarrantyState.EXPIRED:
        return and_(has_warranty, InstalledProduct.warranty_end < today)
    if state == WarrantyState.EXPIRING:
        return and_(has_warranty, InstalledProduct.warranty_end >= today,
                    InstalledProduct.warranty_end <= horizon)
    return and_(has_warranty, InstalledProduct.warranty_end > horizon)
