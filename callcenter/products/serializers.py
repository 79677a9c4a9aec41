"""Installed products as JSON-ready dicts (the REST API, the customer card, the screen pop).

The shape is described for the OpenAPI document in ``callcenter.products.schemas``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from callcenter.products.models import InstalledProduct as Product
from callcenter.products.services import warranty_state


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def product_to_dict(product: Product, today: date) -> dict[str, Any]:
    """An installed product; ``warranty_state`` as of ``today`` (the call center's date)."""
    return {
        "id": product.id,
        "external_id": product.external_id,
        "model": product.model,
        "serial_number": product.serial_number,
        "customer_id": product.customer_id,
        "warranty_type": product.warranty_type.value if product.warranty_type else None,
        "warranty_end": iso(product.warranty_end),
        "warranty_state": warranty_state(product, today).value,
        "installed_on": iso(product.installed_on),
        "created_at": iso(product.created_at),
    }
