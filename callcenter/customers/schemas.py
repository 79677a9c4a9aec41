"""Schemas (OpenAPI 3.1 components) of the customer API's bodies.

Addresses have one pydantic schema (``callcenter.core.schema``) that validates the body,
describes it and serializes the answer, and whose limits the service and the web form
read (``ADDRESS_LIMITS``). Customers and contacts are still described here as JSON
Schema dicts beside their serializers (see the kernel docstring for the next step).
Output schemas forbid unknown properties, so a serializer field that is not described
here fails the API tests (they validate every response against these).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Schema, json_schemas, max_lengths
from callcenter.customers.models import Lifecycle, Tier
from callcenter.openapi import ref, register_schemas

ID = {"type": "integer", "minimum": 1}
NULLABLE_ID = {"type": ["integer", "null"], "minimum": 1}
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
DATE = {"type": ["string", "null"], "format": "date"}


def object_schema(props: dict, required: list[str] | None = None, *, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": props,
              "required": sorted(props) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


# --- addresses (one pydantic schema) ------------------------------------------------------

#: What an address is used for. "service" is where technicians go on site.
AddressPurpose = Literal["main", "ship_to", "bill_to", "service", "other"]
ADDRESS_PURPOSES: tuple[str, ...] = AddressPurpose.__args__
Line = Annotated[str, Field(min_length=1, max_length=300)]
City = Annotated[str, Field(max_length=80)]
Postcode = Annotated[str, Field(max_length=20)]
Country = Annotated[str, Field(pattern="^[A-Za-z]{2}$", max_length=2,
                               description="ISO 3166 two-letter code.")]


class AddressCreate(Schema):
    read_only = frozenset({"id", "customer_id"})
    pattern_codes = {"country": "country_code"}

    purpose: AddressPurpose = "main"
    line: Line
    city: City = ""
    province: City = ""
    postcode: Postcode = ""
    country: Country = "CN"


class AddressPatch(Schema):
    read_only = AddressCreate.read_only
    pattern_codes = AddressCreate.pattern_codes

    purpose: AddressPurpose | None = None
    line: Line | None = None
    city: City | None = None
    province: City | None = None
    postcode: Postcode | None = None
    country: Country | None = None


class Address(Schema):
    id: int
    customer_id: int
    purpose: Annotated[str, Field(description="main, ship_to, bill_to, ...")]
    line: str
    city: str
    province: str
    postcode: str
    country: str


#: The longest text per address field: the one definition (API, service, web form).
ADDRESS_LIMITS = max_lengths(AddressCreate)


USER_REF = {"type": ["object", "null"], "properties": {
    "id": ID, "username": TEXT, "display_name": TEXT}}

PHONE_INPUT = {
    "oneOf": [
        {"type": "string", "maxLength": 64,
         "description": "Any format: '13812345678', '+86 138 1234 5678', "
                        "'(010)62345678 ext. 12' ..."},
        {"type": "object", "required": ["number"],
         "properties": {"number": {"type": "string", "maxLength": 64},
                        "label": {"type": "string", "maxLength": 40}}},
    ],
}

_CUSTOMER_WRITABLE = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "region": {"type": "string", "maxLength": 80},
    "industry": {"type": "string", "maxLength": 80},
    "lifecycle": {"enum": [m.value for m in Lifecycle]},
    "tier": {"enum": [m.value for m in Tier]},
    "tax_id": {"type": ["string", "null"], "maxLength": 40},
    "email": {"type": "string", "maxLength": 200},
    "notes": {"type": "string", "maxLength": 10_000},
    "is_placeholder": {"type": "boolean",
                       "description": "Holds equipment until its real end user is known."},
    "responsible_id": NULLABLE_ID,
    "department_id": NULLABLE_ID,
    "ship_to_id": {**NULLABLE_ID, "description": "Another customer; null = the sold-to."},
    "bill_to_id": {**NULLABLE_ID, "description": "Another customer; null = the sold-to. "
                                                "Setting it moves the payer with it."},
    "payer_id": {**NULLABLE_ID, "description": "Must equal bill_to_id."},
    "related_user_ids": {"type": "array", "items": ID},
    "phones": {"type": "array", "maxItems": 20, "items": PHONE_INPUT,
               "description": "Replaces the customer's own phone list."},
}

PHONE = object_schema({"number": {**TEXT, "description": "E.164"}, "display": TEXT,
              "extension": TEXT, "label": TEXT, "raw": {**TEXT, "description": "As typed."}})

CUSTOMER = object_schema({
    "id": ID, "external_id": NULLABLE_TEXT, "name": TEXT, "region": TEXT, "industry": TEXT,
    "lifecycle": {"enum": [m.value for m in Lifecycle]},
    "tier": {"enum": [m.value for m in Tier]},
    "tax_id": NULLABLE_TEXT, "email": TEXT, "is_placeholder": {"type": "boolean"},
    "responsible_id": NULLABLE_ID, "department_id": NULLABLE_ID,
    "ship_to_id": ID, "bill_to_id": ID, "payer_id": ID,
    "merged_into_id": {**NULLABLE_ID, "description": "Set once merged into another record."},
    "phones": {"type": "array", "items": ref("Phone")},
    "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
})

CONTACT = object_schema({
    "id": ID, "customer_id": ID, "external_id": NULLABLE_TEXT, "name": TEXT,
    "position": TEXT, "email": TEXT, "phones": {"type": "array", "items": ref("Phone")},
    "created_at": TIMESTAMP,
})


CUSTOMER_DETAIL = object_schema({
    **CUSTOMER["properties"],
    "notes": TEXT,
    "responsible": USER_REF,
    "department": {"type": ["object", "null"], "properties": {"id": ID, "name": TEXT}},
    "related_users": {"type": "array", "items": USER_REF},
    "contacts": {"type": "array", "items": ref("Contact")},
    "addresses": {"type": "array", "items": ref("Address")},
    "products": {"type": "array", "items": ref("Product")},
})

CHANGE = object_schema({
    "id": ID, "changed_at": TIMESTAMP, "user": USER_REF,
    "entity": {**TEXT, "description": "customer, contact, phone, address, product, merge"},
    "entity_id": NULLABLE_ID, "field": TEXT,
    "old_value": NULLABLE_TEXT, "new_value": NULLABLE_TEXT,
})

register_schemas({
    "Phone": PHONE,
    "Customer": CUSTOMER,
    "CustomerDetail": CUSTOMER_DETAIL,
    "CustomerCreate": {
        "type": "object", "required": ["name"],
        "properties": {**_CUSTOMER_WRITABLE,
                       "external_id": {"type": "string", "maxLength": 64,
                                       "description": "Source-system key; never changes."}},
        "additionalProperties": False,
    },
    "CustomerPatch": {
        "type": "object",
        "description": "Only the fields given change. `id` and `external_id` are the "
                       "customer's identity: giving a different value is a 422.",
        "properties": {**_CUSTOMER_WRITABLE, "id": ID, "external_id": NULLABLE_TEXT},
        "additionalProperties": False,
    },
    "CustomerPage": page_schema("Customer"),
    "Contact": CONTACT,
    "ContactCreate": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "position": {"type": "string", "maxLength": 120},
                       "email": {"type": "string", "maxLength": 200},
                       "external_id": {"type": "string", "maxLength": 64},
                       "phones": {"type": "array", "maxItems": 20, "items": PHONE_INPUT}},
    },
    "ContactPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "position": {"type": "string", "maxLength": 120},
                       "email": {"type": "string", "maxLength": 200},
                       "external_id": {**NULLABLE_TEXT, "description": "Cannot change."},
                       "phones": {"type": "array", "maxItems": 20, "items": PHONE_INPUT,
                                  "description": "Replaces the contact's phone list."}},
    },
    "ContactList": list_schema("Contact"),
    **json_schemas([AddressCreate, AddressPatch]),
    **json_schemas([Address], mode="serialization"),
    "AddressList": list_schema("Address"),
    "Change": CHANGE,
    "ChangePage": page_schema("Change"),
})
