"""Schemas of service stations, the parts catalogue and stock movements: what the API
accepts and answers, and the limits the services read (``STATION_LIMITS``,
``PART_LIMITS``). Repair orders' schemas are elsewhere (``repairs.schemas``)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Id, Schema, json_schemas, max_lengths
from callcenter.openapi import register_schemas
from repairs.stock import KEY_PATTERN, MAX_QUANTITY, MAX_REASON, MAX_STOCK

#: Largest price: what ``Numeric(12, 2)`` holds.
MAX_PRICE = Decimal("9999999999.99")
_PRICE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
#: Most product models one part is listed as fitting.
MAX_FITS = 100


def price_text(value: Any) -> str:
    """A price as the canonical decimal string ("12.50"); the schema's error otherwise.
    A JSON number is taken too when its text is such a price (12.5, 3), never rounded."""
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, bool) or not _PRICE.match(text.strip()):
        # Reported as the field's pattern code (``part.price``).
        raise PydanticCustomError("string_pattern_mismatch", "not a price")
    return str(Decimal(text.strip()).quantize(Decimal("0.01")))


Price = Annotated[Any, AfterValidator(price_text), WithJsonSchema({
    "type": ["string", "number"], "examples": ["12.50"],
    "description": 'Decimal text with at most 2 decimals, from "0" to "9999999999.99" '
                   '(e.g. "12.50"); a JSON number such as 12.5 is read the same way.'})]
_PRICE_DOC = Price.__metadata__[1].json_schema["description"]
PricePatch = Annotated[Any, AfterValidator(lambda v: None if v is None else price_text(v)),
                       WithJsonSchema({"type": ["string", "number", "null"],
                                       "description": _PRICE_DOC + " null: unchanged."})]

# --- stations -----------------------------------------------------------------------

StationName = Annotated[str, Field(min_length=1, max_length=120)]
StationAddress = Annotated[str, Field(max_length=300)]
StationPhone = Annotated[str, Field(max_length=40)]


class StationCreate(Schema):
    read_only = frozenset({"id", "created_at", "version"})

    name: Annotated[StationName, Field(description="Unique.")]
    department_id: Annotated[Id | None, Field(
        description="The department its technicians belong to.")] = None
    customer_id: Annotated[Id | None, Field(
        description="The customer record after-sales settles with (the dealer); in your "
                    "scope.")] = None
    address: StationAddress = ""
    phone: StationPhone = ""
    active: bool = True


class StationPatch(Schema):
    read_only = StationCreate.read_only - {"version"}

    version: Annotated[Id | None, Field(description=(
        "The `version` you read. Optional; when given and no longer current, nothing is "
        "changed and the answer is 409 with `current_version`."))] = None
    name: StationName | None = None
    department_id: Id | None = None
    customer_id: Id | None = None
    address: StationAddress | None = None
    phone: StationPhone | None = None
    active: bool | None = None


class Station(Schema):
    id: int
    name: str
    department_id: int | None
    customer_id: int | None
    address: str
    phone: str
    active: bool
    created_at: datetime
    version: Annotated[int, Field(description="Send it back with a PATCH.")]


STATION_LIMITS = max_lengths(StationCreate)

# --- parts --------------------------------------------------------------------------

Sku = Annotated[str, Field(min_length=1, max_length=40)]
PartName = Annotated[str, Field(min_length=1, max_length=200)]
Unit = Annotated[str, Field(min_length=1, max_length=20)]
ModelName = Annotated[str, Field(min_length=1, max_length=120)]
Fits = Annotated[list[ModelName], Field(max_length=MAX_FITS, description=(
    "The product models (installed products' `model`) the part fits."))]


class PartCreate(Schema):
    read_only = frozenset({"id", "created_at", "version"})
    pattern_codes = {"unit_price": "part.price"}

    sku: Annotated[Sku, Field(description="Unique.")]
    name: PartName
    unit_price: Price
    unit: Unit = "pcs"
    fits: Fits = []
    active: bool = True


class PartPatch(Schema):
    read_only = PartCreate.read_only - {"version"}
    pattern_codes = PartCreate.pattern_codes

    version: Annotated[Id | None, Field(description=StationPatch.model_fields[
        "version"].description)] = None
    sku: Sku | None = None
    name: PartName | None = None
    unit_price: PricePatch = None
    unit: Unit | None = None
    fits: Annotated[list[ModelName] | None, Field(
        max_length=MAX_FITS, description="Replaces the list.")] = None
    active: bool | None = None


class Part(Schema):
    id: int
    sku: str
    name: str
    unit: str
    unit_price: Annotated[str, Field(description="Decimal text, 2 decimals.")]
    fits: list[str]
    active: bool
    created_at: datetime
    version: int


#: The longest text per part field (``fits``: the most models).
PART_LIMITS = max_lengths(PartCreate)
MODEL_LIMIT = 120

# --- stock --------------------------------------------------------------------------

Quantity = Annotated[int, Field(description=(
    f"Units, 1 to {MAX_QUANTITY}; an adjustment is signed (not 0)."),
    json_schema_extra={"minimum": -MAX_QUANTITY, "maximum": MAX_QUANTITY})]
Key = Annotated[str, Field(max_length=64, pattern=KEY_PATTERN, description=(
    "A key of your own for this movement: sent again (a retry), it returns the movement "
    "already made and changes nothing. Also accepted as the `Idempotency-Key` header."))]


class StockMovementCreate(Schema):
    read_only = frozenset({"id", "balance_after", "unit_price", "actor_id", "created_at",
                           "other_station_id", "transfer_in_id"})
    pattern_codes = {"idempotency_key": "stock.idempotency_key"}

    station_id: Annotated[Id, Field(description="The station whose stock moves (a "
                                                "transfer: the one it leaves).")]
    part_id: Id
    kind: Annotated[Literal["receipt", "adjustment", "transfer", "issue", "return"], Field(
        description="receipt: goods in; adjustment: a count that differed (signed "
                    "quantity, reason required); transfer: to `to_station_id`; issue / "
                    "return: to / from the repair order `repair_order_id`.")]
    quantity: Quantity
    to_station_id: Annotated[Id | None, Field(description="transfer only.")] = None
    repair_order_id: Annotated[Id | None, Field(description="issue and return only.")] = None
    reason: Annotated[str, Field(max_length=MAX_REASON)] = ""
    idempotency_key: Key | None = None


class StockMovement(Schema):
    id: int
    station_id: int
    part_id: int
    kind: Annotated[str, Field(description="receipt, issue, return, transfer_out, "
                                           "transfer_in or adjustment.")]
    quantity: Annotated[int, Field(description="Signed: negative takes stock away.")]
    balance_after: Annotated[int, Field(description="The station's quantity right after.")]
    repair_order_id: int | None
    unit_price: Annotated[str | None, Field(description="Issues and returns: the price.")]
    other_station_id: int | None
    reason: str
    idempotency_key: str | None
    actor_id: int | None
    created_at: datetime
    transfer_in_id: Annotated[int | None, Field(
        description="A transfer: its movement into the other station.")] = None


class StockLine(Schema):
    part_id: int
    sku: str
    name: str
    unit: str
    quantity: int
    low_threshold: int
    low: Annotated[bool, Field(description="quantity below low_threshold (when not 0).")]


class StockThreshold(Schema):
    low_threshold: Annotated[int, Field(description=(
        f"Warn below this many (0: never), at most {MAX_STOCK}."),
        json_schema_extra={"minimum": 0, "maximum": MAX_STOCK})]


register_schemas({
    **json_schemas([StockLine], mode="serialization"),
    "PartPage": page_schema("Part"),
    "StationPage": page_schema("Station"),
    "StockMovementPage": page_schema("StockMovement"),
    "StockList": list_schema("StockLine"),
})
