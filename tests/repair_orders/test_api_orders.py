"""The repair-order API (/api/v1/repair-orders) on both backends: the shapes other tools
rely on, errors with codes (never 500) for hostile input, the scope as 404, parts with
409 when the station has too few, and /me answering the user's id."""

from __future__ import annotations

from datetime import date

import pytest
from api_helpers import assert_error, assert_schema, bearer
from orders_support import make_customer, make_product, make_ticket
from stock_support import make_part, make_station

from repairs import stock

BASE = "/api/v1/repair-orders"


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all", token=True)


@pytest.fixture
def tech(make_user):
    return make_user("technician", scope="own", token=True)


@pytest.fixture
def world(session, admin):
    customer = make_customer(session, admin)
    product = make_product(session, customer, warranty_end=date(2020, 1, 1))
    ticket = make_ticket(session, customer, admin)
    return {"customer": customer, "product": product, "ticket": ticket}


def _raise(client, user, world, **extra):
    body = {"ticket_id": world["ticket"].id, "product_id": world["product"].id,
            "fault_description": "Display flickers", **extra}
    return client.post(BASE, json=body, headers=bearer(user))


def test_raise_answers_the_contract(client, admin, world):
    r = _raise(client, admin, world)
    assert r.status_code == 201, r.get_data(True)
    body = r.get_json()
    assert_schema(body, "RepairOrder")
    assert body["status"] == "diagnosis" and body["version"] == 1
    assert body["in_warranty"] is False and isinstance(body["id"], int)
    assert r.headers["Location"].endswith(f"{BASE}/{body['id']}")
    assert body["settlement"] == {**body["settlement"], "labour": "0.00", "parts": "0.00",
                                  "total": "0.00", "payable_by_customer": "0.00"}
    assert body["warranty_basis"]["outcome"] == "expired"
    assert body["repeat"] is False and body["history_url"].endswith("/history")


def test_me_answers_the_users_id(client, tech):
    r = client.get("/api/v1/me", headers=bearer(tech))
    assert r.status_code == 200 and r.get_json()["id"] == tech.id


def test_the_way_through_the_api(client, session, admin, tech, world):
    order = _raise(client, admin, world).get_json()
    url = f"{BASE}/{order['id']}"
    station, part = make_station(session), make_part(session, price="45.00")
    stock.receive(session, admin, station_id=station.id, part_id=part.id, quantity=2)
    r = client.post(url + "/transitions", json={"to": "dispatched", "version": 1,
                                                "technician_id": tech.id,
                                                "station_id": station.id,
                                                "scheduled_at": "2026-12-02T09:00:00"},
                    headers=bearer(admin))
    assert r.status_code == 200, r.get_data(True)
    assert r.get_json()["scheduled_at"] == "2026-12-02T09:00:00+08:00"
    # The technician sees it now (own scope: the technician it is dispatched to).
    r = client.post(url + "/parts", json={"part_id": part.id, "station_id": station.id,
                                          "quantity": 3}, headers=bearer(tech))
    assert_error(r, 409)
    assert r.get_json()["error"]["code"] == "stock.insufficient"
    r = client.post(url + "/parts", json={"part_id": part.id, "station_id": station.id,
                                          "quantity": 2}, headers=bearer(tech))
    assert r.status_code == 201, r.get_data(True)
    assert_schema(r.get_json(), "PartIssued")
    assert r.get_json()["balance_after"] == 0
    r = client.patch(url, json={"version": 2, "labour_hours": "1.5",
                                "findings": "Replaced the board"}, headers=bearer(tech))
    assert r.status_code == 200, r.get_data(True)
    body = r.get_json()
    assert body["settlement"]["labour"] == "150.00" and body["settlement"]["parts"] == "90.00"
    assert body["settlement"]["total"] == body["settlement"]["payable_by_customer"] == "240.00"
    assert body["parts"][0]["quantity"] == 2
    for to, who in (("repairing", tech), ("inspection", tech), ("settlement", admin),
                    ("closed", admin)):
        r = client.post(url + "/transitions", json={"to": to, "version": body["version"]},
                        headers=bearer(who))
        assert r.status_code == 200, (to, r.get_data(True))
        body = r.get_json()
    assert body["status"] == "closed" and body["settlement"]["frozen"] is True
    assert_schema(body, "RepairOrder")
    r = client.post(url + "/parts", json={"part_id": part.id, "station_id": station.id,
                                          "quantity": 1}, headers=bearer(admin))
    assert_error(r, 422, "status")
    history = client.get(url + "/history", headers=bearer(admin)).get_json()
    assert_schema(history, "RepairOrderHistory")
    assert [i["new_value"] for i in history["items"] if i["field"] == "status"] == [
        "dispatched", "repairing", "inspection", "settlement", "closed"]


def test_stale_version_is_409_and_refused_jump_422(client, admin, world):
    order = _raise(client, admin, world).get_json()
    url = f"{BASE}/{order['id']}/transitions"
    r = client.post(url, json={"to": "closed", "version": 1}, headers=bearer(admin))
    body = assert_error(r, 422, "to")
    assert body["error"]["problems"]["to"]["code"] == "repair.transition_refused"
    r = client.post(url, json={"to": "cancelled", "version": 5, "note": "x"},
                    headers=bearer(admin))
    assert r.status_code == 409
    assert r.get_json()["current_version"] == 1
    assert r.get_json()["error"]["code"] == "repair.stale_version"
    r = client.patch(f"{BASE}/{order['id']}", json={"version": 9, "findings": "x"},
                     headers=bearer(admin))
    assert r.status_code == 409


def test_warranty_override_through_the_api(client, admin, tech, world):
    order = _raise(client, admin, world).get_json()
    url = f"{BASE}/{order['id']}/warranty"
    r = client.post(url, json={"in_warranty": True, "reason": "goodwill", "version": 1},
                    headers=bearer(tech))
    assert r.status_code == 403
    r = client.post(url, json={"in_warranty": True, "reason": "", "version": 1},
                    headers=bearer(admin))
    assert_error(r, 422, "reason")
    r = client.post(url, json={"in_warranty": True, "reason": "goodwill", "version": 1},
                    headers=bearer(admin))
    assert r.status_code == 200 and r.get_json()["in_warranty"] is True
    assert r.get_json()["warranty_basis"]["reason"] == "goodwill"


def test_list_filters_and_pages(client, session, admin, world):
    first = _raise(client, admin, world).get_json()
    _raise(client, admin, world)
    r = client.get(BASE + "?per_page=1", headers=bearer(admin))
    assert r.status_code == 200
    page = r.get_json()
    assert_schema(page, "RepairOrderPage")
    assert page["total"] == 2 and len(page["items"]) == 1
    r = client.get(f"{BASE}?status=diagnosis,cancelled&product_id={world['product'].id}",
                   headers=bearer(admin))
    assert r.get_json()["total"] == 2
    assert client.get(f"{BASE}?status=closed", headers=bearer(admin)).get_json()["total"] == 0
    assert client.get(f"{BASE}?repeat=true", headers=bearer(admin)).get_json()["total"] == 0
    assert_error(client.get(f"{BASE}?status=bogus", headers=bearer(admin)), 422, "status")
    assert_error(client.get(f"{BASE}?technician_id=x", headers=bearer(admin)), 422)
    assert first["id"] in {o["id"] for o in client.get(
        f"{BASE}?per_page=5", headers=bearer(admin)).get_json()["items"]}


def test_an_order_outside_the_scope_is_404_like_a_missing_one(client, make_user, admin,
                                                              world):
    order = _raise(client, admin, world).get_json()
    stranger = make_user("technician", scope="own", token=True)
    for url in (f"{BASE}/{order['id']}", f"{BASE}/{order['id']}/history"):
        hidden = client.get(url, headers=bearer(stranger))
        missing = client.get(url.replace(str(order["id"]), "999999"), headers=bearer(stranger))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == missing.get_json() | {"error": {
            **missing.get_json()["error"], "message": hidden.get_json()["error"]["message"]}}
    r = client.post(f"{BASE}/{order['id']}/transitions",
                    json={"to": "cancelled", "version": 1, "note": "x"},
                    headers=bearer(stranger))
    assert r.status_code == 404
    ids = {o["id"] for o in client.get(BASE, headers=bearer(stranger)).get_json()["items"]}
    assert order["id"] not in ids


@pytest.mark.parametrize(("body", "field"), [
    ({"fault_description": "a\x00b"}, "fault_description"),
    ({"fault_description": "x" * 6000}, "fault_description"),
    ({"fault_description": ""}, "fault_description"),
    ({"fault_description": 12}, "fault_description"),
    ({"ticket_id": "1"}, "ticket_id"),
    ({"ticket_id": 1.0}, "ticket_id"),
    ({"ticket_id": 10 ** 40}, "ticket_id"),
    ({"product_id": True}, "product_id"),
    ({"product_id": -1}, "product_id"),
    ({"status": "closed"}, "status"),
    ({"in_warranty": True}, "in_warranty"),
    ({"bogus": 1}, "bogus"),
    ({"reporter_contact_id": 2 ** 31}, "reporter_contact_id"),
])
def test_hostile_create_bodies_are_422(client, admin, world, body, field):
    r = _raise(client, admin, world, **body)
    assert_error(r, 422, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"labour_hours": 1.5}, "labour_hours"),
    ({"labour_hours": "1e400"}, "labour_hours"),
    ({"labour_hours": 10 ** 30}, "labour_hours"),
    ({"labour_hours": "１.５"}, "labour_hours"),
    ({"labour_hours": [1]}, "labour_hours"),
    ({"findings": "x\x00"}, "findings"),
    ({"defect_code": "<script>"}, "defect_code"),
    ({"defect_code": "'; DROP TABLE repair_orders; --"}, "defect_code"),
    ({"status": "closed"}, "status"),
    ({"version": "1"}, "version"),
])
def test_hostile_patch_bodies_are_422(client, admin, world, body, field):
    order = _raise(client, admin, world).get_json()
    r = client.patch(f"{BASE}/{order['id']}", json={"version": 1, **body},
                     headers=bearer(admin))
    assert_error(r, 422, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "dispatched", "technician_id": 2 ** 40}, "technician_id"),
    ({"to": "dispatched", "technician_id": 424242}, "technician_id"),
    ({"to": "dispatched"}, "technician_id"),
    ({"to": "dispatched", "technician_id": 1, "scheduled_at": "soon"}, "scheduled_at"),
    ({"to": "🙂"}, "to"),
    ({"to": "cancelled", "note": "\x00"}, "note"),
    ({"to": "cancelled"}, "note"),
])
def test_hostile_transitions_are_422(client, admin, world, body, field):
    order = _raise(client, admin, world).get_json()
    r = client.post(f"{BASE}/{order['id']}/transitions", json={"version": 1, **body},
                    headers=bearer(admin))
    assert_error(r, 422, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"quantity": 1.5}, "quantity"), ({"quantity": 10 ** 20}, "quantity"),
    ({"quantity": 0}, "quantity"), ({"quantity": "2"}, "quantity"),
    ({"part_id": 99999}, "part_id"), ({"station_id": 99999}, "station_id"),
    ({"idempotency_key": "a/b"}, "idempotency_key"),
])
def test_hostile_part_issues_are_422(client, session, admin, world, body, field):
    order = _raise(client, admin, world).get_json()
    station, part = make_station(session), make_part(session)
    stock.receive(session, admin, station_id=station.id, part_id=part.id, quantity=5)
    r = client.post(f"{BASE}/{order['id']}/parts",
                    json={"part_id": part.id, "station_id": station.id, "quantity": 1,
                          **body}, headers=bearer(admin))
    assert_error(r, 422, field)


def test_chinese_error_text(client, admin, world):
    order = _raise(client, admin, world).get_json()
    r = client.post(f"{BASE}/{order['id']}/transitions", json={"to": "closed", "version": 1},
                    headers={**bearer(admin), "Accept-Language": "zh-CN"})
    assert r.status_code == 422
    assert "维修单不能从" in r.get_json()["error"]["fields"]["to"]
