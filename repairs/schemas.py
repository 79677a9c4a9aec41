"""The repair order's schemas: one per resource, as ``callcenter.core.schema`` wants them
(validate the body, describe it in the OpenAPI document, serialize the answer).

Amounts go out as decimal strings ("12.50"), never JSON numbers. Labour hours come in
as text ("1.5") or a whole number; a JSON float is refused (``decimal_text``), so no
binary fraction ever reaches an amount.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Id, Schema, json_schemas
from callcenter.openapi import register_schemas
from repairs.models import InspectionResult, RepairStatus
from repairs.orders import LIMITS


def _decimal_text(value: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)) or \
            isinstance(value, str):
        return value
    raise PydanticCustomError("decimal_text", "send a decimal as text")


DecimalText = Annotated[Any, PlainValidator(_decimal_text), WithJsonSchema(
    {"type": ["string", "integer", "null"], "pattern": r"^\d{1,4}(\.\d{1,2})?$",
     "description": "A decimal as text (\"1.50\") or a whole number; never a float."})]
Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$",
                             description="An amount as a decimal string: \"12.50\".")]
Fault = Annotated[str, Field(min_length=1, max_length=LIMITS["fault_description"])]
LongText = Annotated[str, Field(max_length=LIMITS["diagnosis"])]
Code = Annotated[str, Field(max_length=40, description="Letters, digits, . _ -; \"\" "
                                                       "clears it.")]
Note = Annotated[str, Field(max_length=LIMITS["note"])]


class RepairOrderCreate(Schema):
    read_only = frozenset({"id", "status", "version", "in_warranty", "warranty_basis",
                           "customer_id", "reported_on", "settlement", "repeat_of_id"})

    ticket_id: Annotated[Id, Field(description="The service request it comes from.")]
    product_id: Annotated[Id, Field(description="The installed product (serial): the "
                                                "ticket's customer's, or the ticket's "
                                                "product.")]
    fault_description: Fault
    reporter_contact_id: Annotated[Id | None, Field(
        description="Who reported it: a contact of the ticket's or the product's "
                    "customer (default: the ticket's contact).")] = None


class RepairOrderPatch(Schema):
    """Record the work; only the fields given change. ``version``: the one you read."""

    read_only = RepairOrderCreate.read_only - {"version"}
    refused = {"status": "repair.use_transition", "technician_id": "repair.use_transition",
               "in_warranty": "repair.use_warranty"}

    version: Id
    diagnosis: LongText | None = None
    defect_code: Code | None = None
    findings: LongText | None = None
    service_type: Code | None = None
    labour_hours: DecimalText = None


class RepairTransition(Schema):
    to: RepairStatus
    version: Id
    technician_id: Annotated[Id | None, Field(description="Required for `dispatched`.")] = None
    station_id: Annotated[Id | None, Field(description="Optional, for `dispatched`.")] = None
    scheduled_at: Annotated[datetime | None, Field(
        description="Optional, for `dispatched`; without an offset: the call center's "
                    "time.")] = None
    note: Annotated[Note, Field(description="Required to cancel (the reason) and when the "
                                            "inspection fails.")] = ""


class PartIssue(Schema):
    part_id: Id
    station_id: Id
    quantity: Annotated[int, Field(description="Whole units, 1 to 1,000,000.")]
    idempotency_key: Annotated[str | None, Field(
        max_length=64, description="A retried request with the same key issues nothing "
                                   "twice.")] = None


class WarrantyOverride(Schema):
    in_warranty: bool
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    version: Id


# --- answers ------------------------------------------------------------------------

class SettlementLine(Schema):
    kind: str
    description: str
    quantity: str
    unit: str
    unit_price: Money
    amount: Money
    part_id: int | None
    sku: str | None


class Settlement(Schema):
    labour: Money
    parts: Money
    total: Money
    payable_by_customer: Money
    booked_to_warranty: Money
    in_warranty: bool
    labour_basis: Annotated[str, Field(description="flat_fee, hours or none.")]
    labour_hours: str | None
    labour_rate: str | None
    labour_flat_fee: str | None
    service_type: str | None
    customer_id: int
    bill_to_id: int
    payer_id: int
    frozen: Annotated[bool, Field(description="Frozen when the order entered settlement; "
                                              "computed live before.")]
    settled_at: datetime | None
    lines: list[SettlementLine]


class PartOnOrder(Schema):
    part_id: int
    sku: str
    name: str
    unit: str
    quantity: int
    unit_price: Money
    amount: Money


class RepairOrder(Schema):
    id: int
    status: RepairStatus
    version: int
    in_warranty: bool
    warranty_basis: dict[str, Any]
    ticket_id: int
    product_id: int
    serial_number: str
    model: str
    customer_id: int
    reporter_contact_id: int | None
    fault_description: str
    reported_on: Annotated[date, Field(description="The warranty's reference date.")]
    defect_code: str | None
    diagnosis: str
    station_id: int | None
    technician_id: int | None
    scheduled_at: datetime | None
    findings: str
    inspector_id: int | None
    inspection_result: InspectionResult | None
    inspection_note: str
    service_type: str | None
    labour_hours: str | None
    repeat: Annotated[bool, Field(description="A repeat repair (返修).")]
    repeat_of_id: int | None
    cancel_reason: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    settlement: Settlement
    parts: list[PartOnOrder]
    history_url: str


class PartIssued(Schema):
    movement_id: int
    order_id: int
    part_id: int
    station_id: int
    quantity: int
    balance_after: int
    unit_price: Money | None


register_schemas({"RepairOrderPage": page_schema("RepairOrder"),
                  "RepairOrderHistory": list_schema("HistoryItem")})
register_schemas(json_schemas([RepairOrder, PartIssued], mode="serialization"))
