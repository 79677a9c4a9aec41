"""Issue 9, defect 8: ids of other records in a body (partners, the customer of a contact,
product or ticket, a ticket's contact, product, call, linked ticket, a merge's duplicate)
that lie outside the caller's scope were accepted, or answered differently from ids that
do not exist. Now an id outside the scope gets exactly the answer of a missing one: same
status, same code, same words (only the id itself differs).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from api_helpers import bearer

from callcenter.calls.models import CallRecord, Outcome
from callcenter.customers.services import add_contact
from callcenter.products.models import InstalledProduct
from tickets.services import create_ticket

MISSING = 2_000_000_000  # a valid id that no record has


@pytest.fixture
def world(session, make_user, make_customer, settings):
    """Alice (agent, scope own) and what a stranger in another department has."""
    alice = make_user("agent", username="alice", scope="own", department="Service/Beijing",
                      token=True)
    stranger = make_user("agent", username="stranger", scope="own",
                         department="Service/Shanghai", token=True)
    mine = make_customer(alice, "Alice's customer")
    hidden = make_customer(stranger, "Hidden Co")
    contact = add_contact(session, stranger, hidden, {"name": "Hidden person"}, region="CN")
    product = InstalledProduct(customer_id=hidden.id, model="HX", serial_number="SN-HIDDEN")
    session.add(product)
    session.add(CallRecord(call_id="hidden-call", caller_number="13800000000",
                           customer_id=hidden.id, outcome=Outcome.ANSWERED,
                           started_at=datetime.now(UTC), agents=[]))
    session.flush()
    ticket = create_ticket(session, stranger, {"type": "inquiry", "subject": "Hidden ticket",
                                               "customer_id": hidden.id}, settings=settings)
    own_ticket = create_ticket(session, alice, {"type": "inquiry", "subject": "Mine",
                                                "customer_id": mine.id,
                                                "assignee_id": alice.id}, settings=settings)
    # Merging needs a supervisor; this one sees only their own customers too.
    sam = make_user("supervisor", username="sam", scope="own", department="Service/Beijing",
                    token=True)
    session.flush()
    return {"alice": alice, "mine": mine, "hidden": hidden, "contact": contact,
            "product": product, "ticket": ticket, "own_ticket": own_ticket, "sam": sam,
            "sams": make_customer(sam, "Sam's customer")}


def _normalised(response, record_id) -> tuple[int, str]:
    """Status and body with the id taken out: what must not tell the two apart."""
    body = json.dumps(response.get_json(), sort_keys=True, ensure_ascii=False)
    return response.status_code, re.sub(rf"(?<![\d.]){record_id}(?![\d.])", "<ID>", body)


def _same_answer(send, hidden_id, missing_id=MISSING) -> dict:
    hidden, missing = send(hidden_id), send(missing_id)
    assert hidden.status_code in (404, 422), (hidden.status_code, hidden.get_json())
    assert _normalised(hidden, hidden_id) == _normalised(missing, missing_id)
    return hidden.get_json()


CASES = [
    # (name, method, path from the world, body from (world, id))
    ("customer ship-to on create", "POST", lambda w: "/api/v1/customers",
     lambda w, i: {"name": "New Co", "ship_to_id": i}),
    ("customer bill-to on create", "POST", lambda w: "/api/v1/customers",
     lambda w, i: {"name": "New Co", "bill_to_id": i}),
    ("customer payer on create", "POST", lambda w: "/api/v1/customers",
     lambda w, i: {"name": "New Co", "bill_to_id": i, "payer_id": i}),
    ("customer ship-to on patch", "PATCH", lambda w: f"/api/v1/customers/{w['mine'].id}",
     lambda w, i: {"ship_to_id": i}),
    ("customer bill-to on patch", "PATCH", lambda w: f"/api/v1/customers/{w['mine'].id}",
     lambda w, i: {"bill_to_id": i}),
    ("product's customer", "POST", lambda w: "/api/v1/products",
     lambda w, i: {"customer_id": i, "model": "K9", "serial_number": "SN-NEW"}),
    ("ticket's customer", "POST", lambda w: "/api/v1/tickets",
     lambda w, i: {"type": "inquiry", "subject": "Probe", "customer_id": i}),
    ("ticket's call", "POST", lambda w: "/api/v1/tickets",
     lambda w, i: {"type": "inquiry", "subject": "Probe", "customer_id": w["mine"].id,
                   "call_id": i}),
    ("merge's duplicate", "POST", lambda w: f"/api/v1/customers/{w['sams'].id}/merge",
     lambda w, i: {"merged_id": i}),
    ("linked ticket", "POST", lambda w: f"/api/v1/tickets/{w['own_ticket'].id}/links",
     lambda w, i: {"other_id": i}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_out_of_scope_id_in_a_body_is_answered_like_a_missing_one(client, world, case):
    name, method, path, body = case
    if name == "ticket's call":
        hidden_id, missing_id = "hidden-call", "no-such-call"
    else:
        hidden_id = world["ticket" if name == "linked ticket" else "hidden"].id
        missing_id = MISSING

    user = world["sam" if name == "merge's duplicate" else "alice"]

    def send(record_id):
        return client.open(path(world), method=method, json=body(world, record_id),
                           headers=bearer(user))

    hidden, missing = send(hidden_id), send(missing_id)
    assert hidden.status_code == 422, (name, hidden.get_json())
    assert _normalised(hidden, hidden_id) == _normalised(missing, missing_id), name


def test_records_in_the_path_are_404_like_missing_ones(client, world):
    alice = world["alice"]

    def send(method, path, body):
        return lambda i: client.open(path.format(i), method=method, json=body,
                                     headers=bearer(alice))

    _same_answer(send("POST", "/api/v1/customers/{}/contacts", {"name": "Probe"}),
                 world["hidden"].id)
    _same_answer(send("PATCH", "/api/v1/customers/{}", {"notes": "probe"}), world["hidden"].id)
    _same_answer(send("PATCH", "/api/v1/products/{}", {"model": "X"}), world["product"].id)
    _same_answer(send("PATCH", "/api/v1/contacts/{}", {"name": "X"}), world["contact"].id)


def test_ticket_contact_and_product_of_another_customer(client, world):
    alice, mine, ticket = world["alice"], world["mine"], world["own_ticket"]
    for field, key in (("contact_id", "contact"), ("installed_product_id", "product")):
        _same_answer(lambda i, f=field: client.post(
            "/api/v1/tickets", json={"type": "inquiry", "subject": "Probe",
                                     "customer_id": mine.id, f: i},
            headers=bearer(alice)), world[key].id)
        _same_answer(lambda i, f=field: client.patch(
            f"/api/v1/tickets/{ticket.id}", json={"version": ticket.version, f: i},
            headers=bearer(alice)), world[key].id)


def test_product_assignment_to_a_hidden_customer(client, world, session):
    alice = world["alice"]
    own = InstalledProduct(customer_id=world["mine"].id, model="K9", serial_number="SN-OWN")
    session.add(own)
    session.flush()
    _same_answer(lambda i: client.post(f"/api/v1/products/{own.id}/assign",
                                       json={"customer_id": i}, headers=bearer(alice)),
                 world["hidden"].id)


def test_keeping_a_partner_one_cannot_see_is_not_a_probe(client, world, session):
    """A partner set by someone who sees it stays when another user edits other fields."""
    mine, hidden = world["mine"], world["hidden"]
    mine.ship_to_id = hidden.id
    session.flush()
    r = client.patch(f"/api/v1/customers/{mine.id}",
                     json={"ship_to_id": hidden.id, "notes": "still shipped there"},
                     headers=bearer(world["alice"]))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ship_to_id"] == hidden.id
