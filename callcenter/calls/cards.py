"""The caller card: what the agent's screen pop shows about whoever is calling.

Who may see it: the card is built once per call and pushed by the bridge to every agent
the call rings, whatever their access scope (a queue rings whoever is free). That is the
rule of ``callcenter.calls.access``: the agent rung for a call may see that caller's card
for that call, open that customer's page through the card's ``url``
(``/customers/<id>?call=<call_id>``) and save the call's wrap-up, while the call is
theirs (ringing them or answered by them, until the wrap-up is saved or
``CALL_ACCESS_HOURS`` have passed); each such access outside their scope is written to
the audit log (``callcenter.audit``). The same page without the call is a 404.

``caller_card`` runs in the bridge on every ringing call, so it is a handful of indexed
queries (the phone lookup, contacts and their phones, products, last calls) and no
more. Its result is the ``caller`` and ``customer`` parts of the agent events in
telephony/README.md; ``customer`` is None for an unknown caller (the desk then offers
to create the customer with the number filled in).

Open tickets come from the domains that keep them, as answers to the question
``calls.signals.open_tickets_asked`` (each receiver returns a list of JSON-ready dicts,
newest first); the card shows the first ``MAX_OPEN_TICKETS`` of all of them. Until the
tickets domain answers, the list is empty.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord
from callcenter.calls.recording import LIMITS
from callcenter.calls.serializers import iso
from callcenter.calls.signals import open_tickets_asked
from callcenter.core.display import phone_text
from callcenter.core.fields import clean_printable
from callcenter.core.signals import collect
from callcenter.customers.models import Contact, Customer, Phone
from callcenter.customers.phones import try_normalise_phone
from callcenter.customers.services import find_customer_by_phone
from callcenter.products.models import InstalledProduct
from callcenter.products.warranty import warranty_state
from callcenter.users.models import User

MAX_CONTACTS = 5
MAX_CONTACT_PHONES = 5
MAX_PRODUCTS = 10
MAX_LAST_CALLS = 5
MAX_OPEN_TICKETS = 10


def open_tickets(session: Session, customer_id: int) -> list[dict[str, Any]]:
    """The customer's open tickets, as the domains that keep them answer (at most
    ``MAX_OPEN_TICKETS``, each domain's newest first, in the order they answered)."""
    tickets: list[dict[str, Any]] = []
    for answer in collect(open_tickets_asked, customer_id, session=session):
        tickets.extend(answer)
    return tickets[:MAX_OPEN_TICKETS]


def _contacts(session: Session, customer_id: int, e164: str,
              region: str) -> list[dict[str, Any]]:
    """Up to MAX_CONTACTS contacts; the one whose phone is calling comes first."""
    calling = exists().where(Phone.contact_id == Contact.id, Phone.e164 == e164)
    rows = session.execute(
        select(Contact.id, Contact.name, Contact.position, calling.label("calling"))
        .where(Contact.customer_id == customer_id)
        .order_by(calling.desc(), Contact.id).limit(MAX_CONTACTS)).all()
    if not rows:
        return []
    phones: dict[int, list[dict[str, str]]] = {row.id: [] for row in rows}
    for contact_id, number in session.execute(
            select(Phone.contact_id, Phone.e164).where(Phone.contact_id.in_(phones))
            .order_by(Phone.id)):
        if len(phones[contact_id]) < MAX_CONTACT_PHONES:
            phones[contact_id].append({"number": number,
                                       "display": phone_text(number, region)})
    return [{"id": row.id, "name": row.name, "position": row.position or "",
             "phones": phones[row.id], "calling": bool(row.calling)} for row in rows]


def _products(session: Session, customer_id: int, today: date) -> list[dict[str, Any]]:
    products = session.scalars(select(InstalledProduct)
                               .where(InstalledProduct.customer_id == customer_id)
                               .order_by(InstalledProduct.id).limit(MAX_PRODUCTS))
    return [{"id": p.id, "model": p.model, "serial_number": p.serial_number,
             "warranty_state": warranty_state(p, today).value,
             "warranty_end": iso(p.warranty_end)} for p in products]


def _last_calls(session: Session, customer_id: int,
                exclude_call_id: str | None) -> list[dict[str, Any]]:
    stmt = (select(CallRecord.call_id, CallRecord.started_at, CallRecord.outcome,
                   CallRecord.queue, CallRecord.disposition, User.display_name, User.username)
            .outerjoin(User, User.id == CallRecord.agent_id)
            .where(CallRecord.customer_id == customer_id)
            .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
            .limit(MAX_LAST_CALLS))
    if exclude_call_id:
        stmt = stmt.where(CallRecord.call_id != exclude_call_id)
    return [{"call_id": row.call_id, "started_at": iso(row.started_at),
             "outcome": row.outcome.value, "queue": row.queue,
             "agent": (row.display_name or row.username) if row.username else None,
             "disposition": row.disposition}
            for row in session.execute(stmt)]


def customer_card(session: Session, customer: Customer, *, today: date, region: str,
                  e164: str = "", exclude_call_id: str | None = None) -> dict[str, Any]:
    """The ``customer`` part of the pop for a customer already found; ``today`` (the call
    center's date) dates the products' warranty state, ``region`` words the phones."""
    return {
        "id": customer.id,
        "name": customer.name,
        "tier": customer.tier.value,
        "lifecycle": customer.lifecycle.value,
        "is_placeholder": bool(customer.is_placeholder),
        # Through the call: the agent it rings may open the page even when the customer
        # is outside their scope, while the call is theirs (callcenter.calls.access).
        "url": f"/customers/{customer.id}" + (f"?call={quote(exclude_call_id, safe='')}"
                                              if exclude_call_id else ""),
        "contacts": _contacts(session, customer.id, e164, region),
        "products": _products(session, customer.id, today),
        "open_tickets": open_tickets(session, customer.id),
        "last_calls": _last_calls(session, customer.id, exclude_call_id),
    }


def caller_card(session: Session, number: str, name: str, region: str, *, today: date,
                exclude_call_id: str | None = None) -> dict[str, Any]:
    """``{"caller": {"number", "name", "e164", "display"}, "customer": {...} | None}`` for
    a caller ID (``display``: the number as pages show it, ``callcenter.core.display``).

    ``number``/``name`` are the PBX's caller ID (hostile input: cleaned, never refused),
    ``region`` the setting DEFAULT_PHONE_REGION. ``customer`` holds id, name, tier,
    lifecycle, is_placeholder, url (through ``exclude_call_id``, the call, when given),
    contacts (at most 5: id, name, position, phones as ``{"number": E.164, "display"}``,
    ``calling`` for the contact whose phone this is; that one first), products
    (at most 10: id, model, serial_number, warranty_state, warranty_end as ISO date, as
    of ``today`` in the call center's time zone), open_tickets (``open_tickets``) and
    last_calls (at most 5, newest first, without ``exclude_call_id``, the call now
    ringing: call_id, started_at ISO, outcome, queue, agent's name, disposition).
    """
    number = clean_printable(number, LIMITS["caller_number"])
    name = clean_printable(name, LIMITS["caller_name"])
    normalised = try_normalise_phone(number, region) if number else None
    caller = {"number": number, "name": name,
              "e164": normalised.e164 if normalised else None,
              "display": phone_text(normalised.e164, region) if normalised else None}
    if normalised is None:
        return {"caller": caller, "customer": None}
    customer = find_customer_by_phone(session, normalised.e164, region=region)
    if customer is None:
        return {"caller": caller, "customer": None}
    return {"caller": caller,
            "customer": customer_card(session, customer, e164=normalised.e164, today=today,
                                      region=region, exclude_call_id=exclude_call_id)}


__all__ = ["caller_card", "customer_card", "open_tickets"]
