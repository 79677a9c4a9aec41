"""The customer domain's schemas: one per resource (customers, contacts, addresses).

Each pydantic schema (``callcenter.core.schema``) validates the API body, describes it
in the OpenAPI document and serializes the answer; its limits are read from here by the
services, the web forms and the CSV import (``CUSTOMER_LIMITS``, ``CONTACT_LIMITS``,
``ADDRESS_LIMITS``). Output schemas forbid unknown properties, so a serializer field that
is not described here fails (the API tests validate every response against them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from callcenter.core.pagination import list_schema, page_schema
from callcenter.core.schema import Id, Schema, email_field, json_schemas, max_lengths
from callcenter.customers.models import Lifecycle, Tier
from callcenter.openapi import register_schemas
from callcenter.products.schemas import Product

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


# --- phones (inside customers and contacts) -------------------------------------------

#: Most phone numbers one customer or contact holds.
MAX_PHONES = 20
PhoneText = Annotated[str, Field(max_length=64, description=(
    "Any format: '13812345678', '+86 138 1234 5678', '(010)62345678 ext. 12' ..."))]


class PhoneInput(Schema):
    number: Annotated[str, Field(max_length=64)]
    label: Annotated[str, Field(max_length=40, description="mobile, office, 前台 ...")] = ""


def _phone_kind(value: Any) -> str:
    # Tags start upper-case so an error is named ``phones[2]``, not after the member.
    return "Labelled" if isinstance(value, dict | PhoneInput) else "Text"


#: A phone as a client sends it: the number as typed, or ``{"number", "label"}``.
PhoneItem = Annotated[Annotated[PhoneText, Tag("Text")] | Annotated[PhoneInput, Tag("Labelled")],
                      Discriminator(_phone_kind)]
Phones = Annotated[list[PhoneItem], Field(max_length=MAX_PHONES)]
#: Longest phone label ("mobile", "office", "前台").
MAX_PHONE_LABEL = max_lengths(PhoneInput)["label"]


class Phone(Schema):
    number: Annotated[str, Field(description="E.164")]
    display: Annotated[str, Field(description="As pages show it: national for numbers of "
                                              "the call center's country, else "
                                              "international; without the extension.")]
    extension: str
    label: str
    raw: Annotated[str, Field(description="As typed.")]


# --- customers ------------------------------------------------------------------------

Name = Annotated[str, Field(min_length=1, max_length=200)]
Label80 = Annotated[str, Field(max_length=80)]
TaxId = Annotated[str, Field(max_length=40)]
Email = email_field(200)
Notes = Annotated[str, Field(max_length=10_000)]
ExternalId = Annotated[str, Field(max_length=64)]


class _CustomerWritable(Schema):
    """What a client may set on a customer; null leaves a field as it is."""

    #: Shown in the customer's JSON but never written through it.
    read_only = frozenset({"merged_into_id", "created_at", "updated_at", "responsible",
                           "department", "related_users", "contacts", "addresses",
                           "products", "version"})

    region: Label80 | None = None
    industry: Label80 | None = None
    lifecycle: Lifecycle | None = None
    tier: Tier | None = None
    tax_id: TaxId | None = None
    email: Email | None = None
    notes: Notes | None = None
    is_placeholder: Annotated[bool | None, Field(
        description="Holds equipment until its real end user is known.")] = None
    responsible_id: Id | None = None
    department_id: Id | None = None
    ship_to_id: Annotated[Id | None, Field(
        description="Another customer; null = the sold-to.")] = None
    bill_to_id: Annotated[Id | None, Field(
        description="Another customer; null = the sold-to. Setting it moves the payer "
                    "with it.")] = None
    payer_id: Annotated[Id | None, Field(description="Must equal bill_to_id.")] = None
    related_user_ids: list[Id] | None = None
    phones: Annotated[Phones | None, Field(
        description="Replaces the customer's own phone list.")] = None


class CustomerCreate(_CustomerWritable):
    read_only = _CustomerWritable.read_only | {"id"}

    name: Name
    external_id: Annotated[ExternalId | None, Field(
        description="Source-system key; never changes.")] = None


#: The version a client read, sent back with its change (optimistic locking).
Version = Annotated[Id | None, Field(description=(
    "The `version` you read. Optional; when given and no longer current, nothing is "
    "changed and the answer is 409 with `current_version`."))]


class CustomerPatch(_CustomerWritable):
    """Only the fields given change. `id` and `external_id` are the customer's identity:
    giving a different value is a 422."""

    read_only = _CustomerWritable.read_only - {"version"}

    version: Version = None
    name: Name | None = None
    id: Id | None = None
    external_id: ExternalId | None = None


class UserRef(Schema):
    id: int
    username: str
    display_name: str


class DepartmentRef(Schema):
    id: int
    name: str


class Customer(Schema):
    id: int
    external_id: str | None
    name: str
    region: str
    industry: str
    lifecycle: Lifecycle
    tier: Tier
    tax_id: str | None
    email: str
    is_placeholder: bool
    responsible_id: int | None
    department_id: int | None
    ship_to_id: int
    bill_to_id: int
    payer_id: int
    merged_into_id: Annotated[int | None, Field(
        description="Set once merged into another record.")]
    phones: list[Phone]
    created_at: datetime
    updated_at: datetime
    version: Annotated[int, Field(description="Send it back with a PATCH (optimistic "
                                              "locking).")]


class Contact(Schema):
    id: int
    customer_id: int
    external_id: str | None
    name: str
    position: str
    email: str
    phones: list[Phone]
    created_at: datetime
    version: int


class CustomerDetail(Customer):
    """The customer card."""

    notes: str
    responsible: UserRef | None
    department: DepartmentRef | None
    related_users: list[UserRef]
    contacts: list[Contact]
    addresses: list[Address]
    products: list[Product]


class ChangeDisplay(Schema):
    """A change in words, in the reader's language (``Accept-Language``, else their
    setting), as the history page shows it."""

    what: Annotated[str, Field(description='The entity and field ("Customer · Tier").')]
    subject: Annotated[str | None, Field(
        description="The contact, address or product the change is about, or the "
                    "merged-in customer; null: the customer itself.")]
    old: Annotated[str | None, Field(description="The old value in words; null: none.")]
    new: Annotated[str | None, Field(description="The new value in words; null: none.")]


class Change(Schema):
    id: int
    changed_at: datetime
    user: UserRef | None
    entity: Annotated[str, Field(
        description="customer, contact, phone, address, product, merge")]
    entity_id: int | None
    field: str
    old_value: Annotated[str | None, Field(
        description="As stored: ids as digits or a JSON list (`[3, 9]`), codes by value.")]
    new_value: Annotated[str | None, Field(description="As stored, like `old_value`.")]
    display: Annotated[ChangeDisplay, Field(description=(
        "The same change in words: names instead of ids (a customer outside the "
        "reader's scope by its number, a deleted record by its number and \"deleted\"), "
        "labels instead of codes, phones and dates as the pages show them."))]


#: The longest text per customer field: the one definition (API, service, form, import).
CUSTOMER_LIMITS = {k: v for k, v in max_lengths(CustomerCreate).items() if k != "phones"}


# --- contacts -------------------------------------------------------------------------

Position = Annotated[str, Field(max_length=120)]


class ContactCreate(Schema):
    read_only = frozenset({"id", "customer_id", "created_at", "version"})

    name: Name
    position: Position | None = None
    email: Email | None = None
    external_id: ExternalId | None = None
    phones: Phones | None = None


class ContactPatch(Schema):
    read_only = ContactCreate.read_only - {"version"}

    version: Version = None
    name: Name | None = None
    position: Position | None = None
    email: Email | None = None
    external_id: Annotated[ExternalId | None, Field(description="Cannot change.")] = None
    phones: Annotated[Phones | None, Field(
        description="Replaces the contact's phone list.")] = None


#: The longest text per contact field: the one definition (API, service, form, import).
CONTACT_LIMITS = {k: v for k, v in max_lengths(ContactCreate).items() if k != "phones"}


register_schemas({
    **json_schemas([CustomerCreate, CustomerPatch, ContactCreate, ContactPatch,
                    AddressCreate, AddressPatch]),
    **json_schemas([Customer, CustomerDetail, Contact, Address, Change],
                   mode="serialization"),
    "CustomerPage": page_schema("Customer"),
    "ContactList": list_schema("Contact"),
    "AddressList": list_schema("Address"),
    "ChangePage": page_schema("Change"),
})
