"""Ticket types over the API: editors add, rename and switch off types; a switched-off
type takes no new tickets; the built-in four stay active; validation and roles."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, assert_schema, bearer

from callcenter.users.models import Role
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from tickets.models import BUILTIN_TYPES


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", scope="department", department="Service", token=True)


def test_editors_add_rename_and_switch_off_a_type(client, supervisor):
    r = client.post("/api/v1/ticket-types", headers=bearer(supervisor),
                    json={"code": "warranty_claim", "name_zh": "保修索赔",
                          "name_en": "Warranty claim"})
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "TicketType")
    assert r.get_json()["active"] is True and r.get_json()["builtin"] is False

    listed = client.get("/api/v1/ticket-types", headers=bearer(supervisor)).get_json()
    assert_schema(listed, "TicketTypeList")
    codes = [t["code"] for t in listed["items"]]
    assert codes[:4] == sorted(BUILTIN_TYPES) and codes[4:] == ["warranty_claim"]

    r = client.patch("/api/v1/ticket-types/warranty_claim", headers=bearer(supervisor),
                     json={"name_en": "Warranty claim (parts)", "active": False})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["name_en"], r.get_json()["active"]) == ("Warranty claim (parts)",
                                                                 False)
    active = client.get("/api/v1/ticket-types?active=true", headers=bearer(supervisor))
    assert "warranty_claim" not in [t["code"] for t in active.get_json()["items"]]


def test_a_switched_off_type_takes_no_new_ticket(client, session, supervisor, make_customer):
    client.post("/api/v1/ticket-types", headers=bearer(supervisor),
                json={"code": "recall", "name_zh": "召回", "name_en": "Recall"})
    customer = make_customer(owner=supervisor)
    ticket = {"type": "recall", "subject": "Brake recall", "customer_id": customer.id,
              "priority": "normal"}
    assert client.post("/api/v1/tickets", json=ticket,
                       headers=bearer(supervisor)).status_code == 201
    client.patch("/api/v1/ticket-types/recall", headers=bearer(supervisor),
                 json={"active": False})
    body = assert_error(client.post("/api/v1/tickets", json=ticket,
                                    headers=bearer(supervisor)), 422, "type")
    assert body["error"]["problems"]["type"]["code"] == "ticket.unknown_type"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"code": "Bad Code", "name_zh": "x", "name_en": "x"}, "code", "ticket.type_code"),
    ({"code": "inquiry", "name_zh": "x", "name_en": "x"}, "code", "ticket.type_taken"),
    ({"code": "x" * 41, "name_zh": "x", "name_en": "x"}, "code", "too_long"),
    ({"code": "ok", "name_zh": "", "name_en": "x"}, "name_zh", "required"),
    ({"code": "ok", "name_zh": "x", "name_en": "x", "builtin": True}, "builtin", None),
])
def test_bad_types_are_refused_naming_the_field(client, supervisor, body, field, code):
    problem = assert_error(client.post("/api/v1/ticket-types", json=body,
                                       headers=bearer(supervisor)), 422, field)
    if code:
        assert problem["error"]["problems"][field]["code"] == code


def test_builtin_types_stay_active(client, supervisor):
    r = client.patch("/api/v1/ticket-types/complaint", headers=bearer(supervisor),
                     json={"active": False})
    problem = assert_error(r, 422, "active")["error"]["problems"]["active"]
    assert problem["code"] == "ticket.type_builtin"
    r = client.patch("/api/v1/ticket-types/complaint", headers=bearer(supervisor),
                     json={"name_zh": "客户投诉"})
    assert r.status_code == 200 and r.get_json()["name_zh"] == "客户投诉"
    assert client.patch("/api/v1/ticket-types/nonesuch", headers=bearer(supervisor),
                        json={"name_zh": "x"}).status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_roles(client, make_user, role):
    """Anyone signed in lists types; only roles with ticket_type.manage change them."""
    user = make_user(role.value, token=True)
    may = Permission.TICKET_TYPE_MANAGE in ROLE_PERMISSIONS[role]
    assert client.get("/api/v1/ticket-types", headers=bearer(user)).status_code == 200
    r = client.post("/api/v1/ticket-types", headers=bearer(user),
                    json={"code": f"by_{role.value}", "name_zh": "x", "name_en": "x"})
    assert r.status_code == (201 if may else 403)
    r = client.patch("/api/v1/ticket-types/inquiry", headers=bearer(user),
                     json={"name_en": "Inquiry"})
    assert r.status_code == (200 if may else 403)
    assert client.get("/api/v1/ticket-types").status_code == 401
