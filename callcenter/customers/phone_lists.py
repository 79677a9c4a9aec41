"""Phone lists of customers and contacts: checking a list a client sent, and replacing a
record's list with it (the change as the history records it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from callcenter.customers.models import Contact, Customer, Phone
from callcenter.customers.phones import InvalidPhone, normalise_phone
from callcenter.customers.schemas import MAX_PHONE_LABEL, MAX_PHONES


def clean_phones(values: Iterable[Any], region: str, field: str = "phones") -> list[dict]:
    """Normalise phones (strings or {"number", "label"}); ValidationError names the field."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError({field: Problem("phones.not_list")})
    cleaned: list[dict] = []
    for i, value in enumerate(values):
        if i >= MAX_PHONES:
            raise ValidationError({field: Problem("phones.too_many", {"max": MAX_PHONES})})
        label = ""
        if isinstance(value, dict):
            label = str(value.get("label") or "")[:MAX_PHONE_LABEL]
            value = value.get("number")
        if not isinstance(value, str):
            raise ValidationError({f"{field}[{i}]": Problem("phone.not_text")})
        try:
            number = normalise_phone(value, region)
        except InvalidPhone as exc:
            raise ValidationError({f"{field}[{i}]": exc.problem}) from exc
        if any(c["e164"] == number.e164 and c["extension"] == number.extension
               for c in cleaned):
            continue
        cleaned.append({"raw": value.strip(), "e164": number.e164,
                        "extension": number.extension, "label": label})
    return cleaned


def phone_key(e164: str, extension: str | None) -> str:
    return e164 + (f" x{extension}" if extension else "")


def phone_keys(session: Session, customer: Customer, contact: Contact | None = None,
               ) -> list[str]:
    """The customer's own (or the contact's) phones as compared and recorded."""
    contact_id = contact.id if contact else None
    return [phone_key(p.e164, p.extension) for p in session.scalars(select(Phone).where(
        Phone.customer_id == customer.id,
        Phone.contact_id == contact_id if contact_id else Phone.contact_id.is_(None))
        .order_by(Phone.id))]


def replace_phones(session: Session, customer: Customer, phones: list[dict],
                   contact: Contact | None = None) -> dict[str, tuple[Any, Any]]:
    """Make the customer's (or contact's) phone list exactly ``phones``; returns the change."""
    contact_id = contact.id if contact else None
    current = list(session.scalars(select(Phone).where(
        Phone.customer_id == customer.id,
        Phone.contact_id == contact_id if contact_id else Phone.contact_id.is_(None))))
    old = [phone_key(p.e164, p.extension) for p in current]
    new = [phone_key(p["e164"], p["extension"]) for p in phones]
    if old == new:
        return {}
    for phone in current:
        session.delete(phone)
    session.flush()
    for phone in phones:
        session.add(Phone(customer_id=customer.id, contact_id=contact_id, **phone))
    session.flush()
    session.expire(customer, ["phones"])
    return {"phones" if contact is None else f"contact[{contact.id}].phones": (old, new)}
