"""The installed product's one schema: what the API accepts, what it answers, and the
limits the services, the web form and the CSV import read (``LIMITS``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from callcenter.core.schema import Id, Schema, max_lengths
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.products.warranty import WarrantyState, warranty_state

CustomerId = Id
Model = Annotated[str, Field(min_length=1, max_length=120)]
Serial = Annotated[str, Field(min_length=1, max_length=80,
                              description="Unique across all products.")]
ExternalId = Annotated[str | None, Field(max_length=64, description="Source-system key.")]
WarrantyEnd = Annotated[date | None, Field(description="YYYY-MM-DD, the last covered day.")]
InstalledOn = Annotated[date | None, Field(description="YYYY-MM-DD.")]


class ProductCreate(Schema):
    read_only = frozenset({"id", "created_at", "warranty_state", "version"})

    customer_id: Annotated[CustomerId, Field(description="The end user (in your scope).")]
    model: Model
    serial_number: Serial
    warranty_type: WarrantyType = WarrantyType.STANDARD
    warranty_end: WarrantyEnd = None
    installed_on: InstalledOn = None
    external_id: ExternalId = None


class ProductPatch(Schema):
    """Only the fields given change; move a product with /assign."""

    read_only = ProductCreate.read_only - {"version"}
    refused = {"customer_id": "product.use_assign"}

    version: Annotated[Id | None, Field(description=(
        "The `version` you read. Optional; when given and no longer current, nothing is "
        "changed and the answer is 409 with `current_version`."))] = None
    model: Model | None = None
    serial_number: Serial | None = None
    warranty_type: WarrantyType | None = None
    warranty_end: WarrantyEnd = None
    installed_on: InstalledOn = None
    external_id: Annotated[str | None, Field(max_length=64,
                                             description="Cannot change.")] = None


class ProductAssign(Schema):
    read_only = ProductCreate.read_only

    customer_id: Annotated[CustomerId, Field(description="The real end user.")]


class Product(Schema):
    """An installed product; ``warranty_state`` as of the call center's today."""

    id: int
    external_id: str | None
    model: str
    serial_number: str
    customer_id: Annotated[int, Field(description="The end user.")]
    warranty_type: WarrantyType
    warranty_end: Annotated[date | None, Field(description="Last covered day.")]
    warranty_state: WarrantyState
    installed_on: date | None
    created_at: datetime
    version: Annotated[int, Field(description="Send it back with a PATCH.")]

    @classmethod
    def of(cls, product: InstalledProduct, today: date) -> Product:
        return cls(id=product.id, external_id=product.external_id, model=product.model,
                   serial_number=product.serial_number, customer_id=product.customer_id,
                   warranty_type=product.warranty_type or WarrantyType.NONE,
                   warranty_end=product.warranty_end,
                   warranty_state=warranty_state(product, today),
                   installed_on=product.installed_on, created_at=product.created_at,
                   version=product.version)


#: The longest text per product field: the one definition (API, services, form, import).
LIMITS = max_lengths(ProductCreate)
