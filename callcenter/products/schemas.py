"""JSON Schemas (OpenAPI 3.1 components) of the installed-product API's bodies."""

from __future__ import annotations

from callcenter.api import page_schema
from callcenter.customers.schemas import DATE, ID, NULLABLE_TEXT, TEXT, TIMESTAMP, object_schema
from callcenter.openapi import register_schemas
from callcenter.products.models import WarrantyType
from callcenter.products.services import WarrantyState

WARRANTY_STATES = [s.value for s in WarrantyState]

PRODUCT = object_schema({
    "id": ID, "external_id": NULLABLE_TEXT, "model": TEXT, "serial_number": TEXT,
    "customer_id": {**ID, "description": "The end user."},
    "warranty_type": {"enum": [m.value for m in WarrantyType]},
    "warranty_end": {**DATE, "description": "Last covered day."},
    "warranty_state": {"enum": WARRANTY_STATES},
    "installed_on": DATE, "created_at": TIMESTAMP,
})

_PRODUCT_WRITABLE = {
    "model": {"type": "string", "minLength": 1, "maxLength": 120},
    "serial_number": {"type": "string", "minLength": 1, "maxLength": 80,
                      "description": "Unique across all products."},
    "warranty_type": {"enum": [m.value for m in WarrantyType]},
    "warranty_end": {**DATE, "description": "YYYY-MM-DD, the last covered day."},
    "installed_on": {**DATE, "description": "YYYY-MM-DD."},
}

register_schemas({
    "Product": PRODUCT,
    "ProductPage": page_schema("Product"),
    "ProductCreate": {
        "type": "object", "required": ["customer_id", "model", "serial_number"],
        "additionalProperties": False,
        "properties": {"customer_id": {**ID, "description": "The end user (in your scope)."},
                       **_PRODUCT_WRITABLE,
                       "external_id": {"type": "string", "maxLength": 64}},
    },
    "ProductPatch": {
        "type": "object", "additionalProperties": False,
        "description": "Only the fields given change; move a product with /assign.",
        "properties": {**_PRODUCT_WRITABLE,
                       "external_id": {**NULLABLE_TEXT, "description": "Cannot change."}},
    },
    "ProductAssign": object_schema({"customer_id": {**ID, "description": "The real end user."}}),
})
