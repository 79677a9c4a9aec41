"""Customer data as JSON-ready dicts, serialized by their schemas: the REST API and the
telephony screen pop.

``customer_to_dict(customer, detail=True)`` is the customer card: name, tier, phones,
contacts, addresses and installed products with their warranty state. The shapes are
the schemas in ``callcenter.customers.schemas`` (the OpenAPI document shows the same).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from callcenter.customers.models import Address, ChangeRecord, Contact, Customer, Phone
from callcenter.customers.phones import display_phone
from callcenter.customers.schemas import Address as AddressSchema
from callcenter.customers.schemas import Change as ChangeSchema
from callcenter.customers.schemas import Contact as ContactSchema
from callcenter.customers.schemas import Customer as CustomerSchema
from callcenter.customers.schemas import CustomerDetail, DepartmentRef, UserRef
from callcenter.customers.schemas import Phone as PhoneSchema
from callcenter.products.schemas import Product as ProductSchema


def _phone(phone: Phone, region: str) -> PhoneSchema:
    # ``display`` as pages show it: national for numbers of the call center's country.
    return PhoneSchema(number=phone.e164, display=display_phone(phone.e164, region),
                       extension=phone.extension or "", label=phone.label or "",
                       raw=phone.raw)


def phone_to_dict(phone: Phone, *, region: str) -> dict[str, Any]:
    return _phone(phone, region).model_dump(mode="json")


def _contact(contact: Contact, region: str) -> ContactSchema:
    return ContactSchema(id=contact.id, customer_id=contact.customer_id,
                         external_id=contact.external_id, name=contact.name,
                         position=contact.position or "", email=contact.email or "",
                         phones=[_phone(p, region) for p in contact.phones],
                         created_at=contact.created_at, version=contact.version)


def contact_to_dict(contact: Contact, *, region: str) -> dict[str, Any]:
    """The contact; ``region`` (``Locality.region``) words the phones' ``display``."""
    return _contact(contact, region).model_dump(mode="json")


def _address(address: Address) -> AddressSchema:
    return AddressSchema(
        id=address.id, customer_id=address.customer_id, purpose=address.purpose,
        line=address.line, city=address.city or "", province=address.province or "",
        postcode=address.postcode or "", country=address.country or "",
    )


def address_to_dict(address: Address) -> dict[str, Any]:
    return _address(address).model_dump(mode="json")


def _user_ref(user) -> UserRef | None:
    if user is None:
        return None
    return UserRef(id=user.id, username=user.username,
                   display_name=user.display_name or user.username)


def _customer_fields(customer: Customer, region: str) -> dict[str, Any]:
    return {
        "id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "region": customer.region or "",
        "industry": customer.industry or "",
        "lifecycle": customer.lifecycle,
        "tier": customer.tier,
        "tax_id": customer.tax_id,
        "email": customer.email or "",
        "is_placeholder": bool(customer.is_placeholder),
        "responsible_id": customer.responsible_id,
        "department_id": customer.department_id,
        # Partner functions: NULL in the table means "the sold-to itself".
        "ship_to_id": customer.ship_to_id or customer.id,
        "bill_to_id": customer.bill_to_id or customer.id,
        "payer_id": customer.payer_id or customer.id,
        "merged_into_id": customer.merged_into_id,
        "phones": [_phone(p, region) for p in customer.phones],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "version": customer.version,
    }


def customer_to_dict(customer: Customer, detail: bool = False, *, region: str,
                     today: date | None = None) -> dict[str, Any]:
    """The customer; ``detail`` adds the card: notes, people, contacts, addresses, products.

    ``region`` (``Locality.region``) words the phones' ``display``; ``today`` (the call
    center's date) dates the products' warranty state; the card (``detail``) needs it.
    """
    if not detail:
        return CustomerSchema(**_customer_fields(customer, region)).model_dump(mode="json")
    if today is None:
        raise TypeError("customer_to_dict(detail=True) needs today's date")
    dept = customer.department
    return CustomerDetail(
        **_customer_fields(customer, region),
        notes=customer.notes or "",
        responsible=_user_ref(customer.responsible),
        department=DepartmentRef(id=dept.id, name=dept.name) if dept else None,
        related_users=[_user_ref(u) for u in customer.related_users],
        contacts=[_contact(c, region) for c in customer.contacts],
        addresses=[_address(a) for a in customer.addresses],
        products=[ProductSchema.of(p, today) for p in customer.products],
    ).model_dump(mode="json")


def change_to_dict(change: ChangeRecord, display: dict[str, str | None]) -> dict[str, Any]:
    """A change record with its ``display`` (``history_words.change_words``)."""
    return ChangeSchema(
        id=change.id, changed_at=change.changed_at, user=_user_ref(change.user),
        entity=change.entity, entity_id=change.entity_id, field=change.field,
        old_value=change.old_value, new_value=change.new_value, display=display,
    ).model_dump(mode="json")
