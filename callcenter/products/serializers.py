"""Installed products as JSON-ready dicts (the REST API, the customer card, the screen pop).

The shape is described for the OpenAPI document in ``callcenter.products.schemas``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from callcenter.products.models import InstalledProduct
from callcenter.products.schemas import Product


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def product_to_dict(product: InstalledProduct, today: date) -> dict[str, Any]:
    """An installed product as its schema serializes it; ``warranty_state`` as of
    ``today`` (the call center's date)."""
    return Product.of(product, today).model_dump(mode="json")
