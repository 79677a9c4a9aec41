"""Customer data as plain JSON-ready dicts: the REST API and the telephony screen pop.

``customer_to_dict(customer, detail=True)`` is the customer card: name, tier, phones,
contacts, addresses and installed products with their warranty state. The shapes are
described for the OpenAPI document in ``callcenter.customers.schemas``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from callcenter.customers.models import Address, ChangeRecord, Contact, Customer, Phone
from callcenter.customers.phones import display_phone
from callcenter.customers.schemas import Address as AddressSchema
from callcenter.products.serializers import iso as _iso
from callcenter.products.serializers import product_to_dict


def phone_to_dict(phone: Phone) -> dict[str, Any]:
    return {
        "number": phone.e164,
        "display": display_phone(phone.e164),
        "extension": phone.extension or "",
        "label": phone.label or "",
        "raw": phone.raw,
    }


def contact_to_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "external_id": contact.external_id,
        "name": contact.name,
        "position": contact.position or "",
        "email": contact.email or "",
        "phones": [phone_to_dict(p) for p in contact.phones],
        "created_at": _iso(contact.created_at),
    }


def address_to_dict(address: Address) -> dict[str, Any]:
    return AddressSchema(
        id=address.id, customer_id=address.customer_id, purpose=address.purpose,
        line=address.line, city=address.city or "", province=address.province or "",
        postcode=address.postcode or "", country=address.country or "",
    ).model_dump(mode="json")


def _user_ref(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username,
            "display_name": user.display_name or user.username}


def customer_to_dict(customer: Customer, detail: bool = False, *,
                     today: date | None = None) -> dict[str, Any]:
    """The customer; ``detail`` adds the card: notes, people, contacts, addresses, products.

    ``today`` (the call center's date) dates the products' warranty state; the card
    (``detail``) needs it.
    """
    out: dict[str, Any] = {
        "id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "region": customer.region or "",
        "industry": customer.industry or "",
        "lifecycle": customer.lifecycle.value,
        "tier": customer.tier.value,
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
        "phones": [phone_to_dict(p) for p in customer.phones],
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }
    if not detail:
        return out
    if today is None:
        raise TypeError("customer_to_dict(detail=True) needs today's date")
    dept = customer.department
    out.update({
        "notes": customer.notes or "",
        "responsible": _user_ref(customer.responsible),
        "department": {"id": dept.id, "name": dept.name} if dept else None,
        "related_users": [_user_ref(u) for u in customer.related_users],
        "contacts": [contact_to_dict(c) for c in customer.contacts],
        "addresses": [address_to_dict(a) for a in customer.addresses],
        "products": [product_to_dict(p, today) for p in customer.products],
    })
    return out


def change_to_dict(change: ChangeRecord) -> dict[str, Any]:
    return {
        "id": change.id,
        "changed_at": _iso(change.changed_at),
        "user": _user_ref(change.user),
        "entity": change.entity,
        "entity_id": change.entity_id,
        "field": change.field,
        "old_value": change.old_value,
        "new_value": change.new_value,
    }
