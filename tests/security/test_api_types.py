"""Issue 9, defect 9: loose API types. An integer id given as "1", 1.5 (stored as 1), 1.0
or true; an e-mail address the importer refuses; a JSON object naming a key twice (the
last one won). All of these are a 422 now, decided centrally: the schema base's strict
``Id``, the one e-mail rule (``is_email_address``) in the schema, and a JSON body parser
that refuses duplicate keys for every /api/v1 request.
"""

from __future__ import annotations

import json

import pytest
from api_helpers import assert_error, bearer

from callcenter.core.errors import ValidationError
from callcenter.core.fields import is_email_address
from callcenter.core.schema import Id, Schema, parse
from callcenter.imports.rows import ImportContext, RowInvalid, clean_customer
from tickets.services import create_ticket

LOOSE_IDS = ["1", 1.5, 1.0, True, "1.5", [1], {"id": 1}, 0, -1, 2**31]


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root", token=True)


@pytest.fixture
def world(session, admin, make_customer, settings):
    customer = make_customer(admin, "Types Co")
    ticket = create_ticket(session, admin, {"type": "inquiry", "subject": "Types",
                                            "customer_id": customer.id}, settings=settings)
    session.flush()
    return {"customer": customer, "ticket": ticket}


class _Probe(Schema):
    some_id: Id


@pytest.mark.parametrize("value", LOOSE_IDS, ids=repr)
def test_the_schema_bases_id_is_strict(value):
    with pytest.raises(ValidationError) as info:
        parse(_Probe, {"some_id": value})
    assert info.value.errors["some_id"].code == "not_id"
    # Strict whatever the mode: also when a model is validated from Python objects.
    with pytest.raises(Exception):  # noqa: B017,PT011 - pydantic's own error here
        _Probe.model_validate({"some_id": value})
    assert parse(_Probe, {"some_id": 1}) == {"some_id": 1}


#: Every body id field of the API: (method, path from the world, body with the id).
ID_FIELDS = [
    ("POST", lambda w: "/api/v1/customers", lambda v: {"name": "N", "responsible_id": v}),
    ("POST", lambda w: "/api/v1/customers", lambda v: {"name": "N", "department_id": v}),
    ("POST", lambda w: "/api/v1/customers", lambda v: {"name": "N", "ship_to_id": v}),
    ("POST", lambda w: "/api/v1/customers", lambda v: {"name": "N", "related_user_ids": [v]}),
    ("PATCH", lambda w: f"/api/v1/customers/{w['customer'].id}", lambda v: {"version": v}),
    ("PATCH", lambda w: f"/api/v1/customers/{w['customer'].id}", lambda v: {"payer_id": v}),
    ("POST", lambda w: "/api/v1/products",
     lambda v: {"customer_id": v, "model": "K9", "serial_number": "SN-T"}),
    ("POST", lambda w: "/api/v1/tickets",
     lambda v: {"type": "inquiry", "subject": "S", "customer_id": v}),
    ("PATCH", lambda w: f"/api/v1/tickets/{w['ticket'].id}",
     lambda v: {"version": v, "subject": "S2"}),
    ("PATCH", lambda w: f"/api/v1/tickets/{w['ticket'].id}",
     lambda v: {"version": 1, "installed_product_id": v}),
    ("POST", lambda w: f"/api/v1/tickets/{w['ticket'].id}/transitions",
     lambda v: {"to": "assigned", "version": 1, "assignee_id": v}),
    ("POST", lambda w: f"/api/v1/tickets/{w['ticket'].id}/links", lambda v: {"other_id": v}),
    ("POST", lambda w: f"/api/v1/customers/{w['customer'].id}/merge",
     lambda v: {"merged_id": v}),
]


@pytest.mark.parametrize("value", ["1", 1.5, 1.0, True], ids=repr)
@pytest.mark.parametrize("case", range(len(ID_FIELDS)))
def test_loose_ids_are_422_on_every_endpoint(client, admin, world, session, case, value):
    method, path, body = ID_FIELDS[case]
    sent = body(value)
    r = client.open(path(world), method=method, json=sent, headers=bearer(admin))
    field = next(iter(sent)) if len(sent) == 1 else \
        next(k for k, v in sent.items() if v is value or v == [value])
    name = f"{field}[0]" if isinstance(sent[field], list) else field
    problem = assert_error(r, 422, name)["error"]["problems"][name]
    assert problem["code"] == "not_id", (sent, problem)
    session.expire_all()
    assert world["customer"].version == 1 and world["ticket"].version == 1  # nothing stored


ADDRESSES = ["name@example.com", "li.wei+bus@huatong.com.cn", "not an email", "a@b",
             "x@y.z", "@example.com", "name@", "a b@example.com", "name@exa mple.com",
             "name@example.com\nBcc: x@evil.com", '"quoted"@example.com', "名字@例子.中国",
             "name@@example.com", "name@example..com"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_one_email_rule_in_api_and_import(client, admin, world, session, address):
    """The API refuses exactly what the importer refuses (is_email_address)."""
    ok = is_email_address(address)
    r = client.post("/api/v1/customers", json={"name": "Mail Co", "email": address},
                    headers=bearer(admin))
    if ok:
        assert r.status_code == 201, r.get_json()
    else:
        problem = assert_error(r, 422, "email")["error"]["problems"]["email"]
        assert problem["code"] in ("email", "control_chars")
    for path, body in ((f"/api/v1/customers/{world['customer'].id}", {"email": address}),
                       (f"/api/v1/customers/{world['customer'].id}/contacts",
                        {"name": "Li", "email": address})):
        r = client.open(path, method="PATCH" if path[-1].isdigit() else "POST", json=body,
                        headers=bearer(admin))
        assert (r.status_code < 300) == ok, (path, r.get_json())
    ctx = ImportContext(session, None, "CN")
    try:
        clean_customer(ctx, 2, {"external_id": "M1", "name": "Mail Co", "email": address})
        imported = True
    except RowInvalid:
        imported = False
    assert imported == ok


def test_empty_email_still_clears_the_field(client, admin, world):
    r = client.patch(f"/api/v1/customers/{world['customer'].id}", json={"email": ""},
                     headers=bearer(admin))
    assert r.status_code == 200 and r.get_json()["email"] == ""


@pytest.mark.parametrize("raw,field", [
    ('{"name": "A", "name": "B"}', "name"),
    ('{"name": "A", "phones": [{"number": "13812345678", "number": "13900000000"}]}',
     "number"),
    ('{"name": "A", "responsible_id": 1, "responsible_id": 2}', "responsible_id"),
])
def test_duplicate_json_keys_are_422(client, admin, session, raw, field):
    r = client.post("/api/v1/customers", data=raw, content_type="application/json",
                    headers=bearer(admin))
    body = assert_error(r, 422, field)
    assert body["error"]["problems"][field]["code"] == "duplicate_key"


def test_duplicate_keys_are_refused_by_every_api_body(client, admin, world):
    """Tickets, transitions, products, contacts, wrap-ups: the same parser everywhere."""
    ticket, customer = world["ticket"], world["customer"]
    for method, path, raw in [
        ("POST", "/api/v1/tickets",
         '{"type": "inquiry", "subject": "A", "subject": "B", "customer_id": '
         f'{customer.id}}}'),
        ("PATCH", f"/api/v1/tickets/{ticket.id}", '{"version": 1, "version": 2}'),
        ("POST", f"/api/v1/tickets/{ticket.id}/transitions",
         '{"to": "closed", "to": "assigned", "version": 1}'),
        ("POST", "/api/v1/products",
         f'{{"customer_id": {customer.id}, "customer_id": 1, "model": "K", '
         '"serial_number": "S"}'),
        ("POST", f"/api/v1/customers/{customer.id}/contacts", '{"name": "a", "name": "b"}'),
        ("POST", "/api/v1/calls/some-call/wrapup",
         '{"disposition": "resolved", "disposition": "other"}'),
    ]:
        r = client.open(path, method=method, data=raw, content_type="application/json",
                        headers=bearer(admin))
        body = assert_error(r, 422)
        assert "duplicate_key" in json.dumps(body["error"]["problems"]), (path, body)


def test_1_5_is_never_stored_as_1(client, admin, world, session):
    r = client.patch(f"/api/v1/customers/{world['customer'].id}",
                     json={"responsible_id": admin.id + 0.5}, headers=bearer(admin))
    assert r.status_code == 422
    session.expire_all()
    assert world["customer"].responsible_id == admin.id
