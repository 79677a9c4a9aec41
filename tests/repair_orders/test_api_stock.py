"""REST API of stations, parts and stock movements (both backends): the interfaces other
tools rely on, the answers validated against the OpenAPI document's schemas, and bad
input answered with 422 and codes, never a 500."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, assert_schema, bearer
from stock_support import make_order


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all", token=True)


def call(client, method, url, user, body=None, **kwargs):
    return client.open(url, method=method, json=body, headers={**bearer(user),
                                                                 **kwargs.pop("headers", {})},
                       **kwargs)


def new_part(client, user, **fields):
    body = {"sku": "FLT-100", "name": "Filter", "unit_price": "12.50", **fields}
    r = call(client, "POST", "/api/v1/parts", user, body)
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "Part")
    return r.get_json()


def new_station(client, user, **fields):
    r = call(client, "POST", "/api/v1/stations", user, {"name": "Depot East", **fields})
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "Station")
    return r.get_json()


def move(client, user, **body):
    return call(client, "POST", "/api/v1/stock-movements", user, body)


def test_parts_create_read_list_patch(client, admin):
    part = new_part(client, admin, fits=["K9", "K10", "K9"], unit="set")
    assert (part["sku"], part["unit_price"], part["unit"]) == ("FLT-100", "12.50", "set")
    assert part["fits"] == ["K10", "K9"] and part["version"] == 1
    numeric = new_part(client, admin, sku="FLT-200", unit_price=7.5)
    assert numeric["unit_price"] == "7.50" and numeric["unit"] == "pcs"
    r = call(client, "GET", f"/api/v1/parts/{part['id']}", admin)
    assert r.status_code == 200 and r.get_json() == part
    page = call(client, "GET", "/api/v1/parts?fits=K10", admin).get_json()
    assert_schema(page, "PartPage")
    assert [p["sku"] for p in page["items"]] == ["FLT-100"]
    assert [p["sku"] for p in call(client, "GET", "/api/v1/parts?q=flt-2",
                                   admin).get_json()["items"]] == ["FLT-200"]
    r = call(client, "PATCH", f"/api/v1/parts/{part['id']}", admin,
             {"version": 1, "unit_price": "13", "fits": ["K11"]})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["unit_price"], r.get_json()["fits"], r.get_json()["version"]) == \
        ("13.00", ["K11"], 2)
    r = call(client, "PATCH", f"/api/v1/parts/{part['id']}", admin,
             {"version": 1, "name": "Stale"})
    assert r.status_code == 409 and r.get_json()["current_version"] == 2
    assert r.get_json()["error"]["code"] == "part.stale_version"
    assert call(client, "GET", "/api/v1/parts/999999", admin).status_code == 404


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"unit_price": "abc"}, "unit_price", "part.price"),
    ({"unit_price": "12.345"}, "unit_price", "part.price"),
    ({"unit_price": "-1"}, "unit_price", "part.price"),
    ({"unit_price": "1e5"}, "unit_price", "part.price"),
    ({"unit_price": "99999999999"}, "unit_price", "part.price"),
    ({"unit_price": True}, "unit_price", "part.price"),
    ({"unit_price": None}, "unit_price", "part.price"),
    ({"sku": "S" * 41}, "sku", "too_long"),
    ({"sku": ""}, "sku", "required"),
    ({"name": "a\x00b"}, "name", "nul_char"),
    ({"name": "a\x07b"}, "name", "control_chars"),
    ({"name": "N" * 201}, "name", "too_long"),
    ({"fits": ["K9"] * 101}, "fits", "too_many"),
    ({"fits": "K9"}, "fits", "not_list"),
    ({"fits": ["M" * 121]}, "fits[0]", "too_long"),
    ({"colour": "red"}, "colour", "unknown_field"),
    ({"id": 5}, "id", "read_only"),
])
def test_bad_parts_are_422_with_codes(client, admin, body, field, code):
    r = call(client, "POST", "/api/v1/parts", admin,
             {"sku": "OK-1", "name": "Fine", "unit_price": "1.00", **body})
    error = assert_error(r, 422, field)["error"]
    assert error["problems"][field]["code"] == code


def test_a_taken_sku_and_a_missing_price(client, admin):
    new_part(client, admin)
    r = call(client, "POST", "/api/v1/parts", admin,
             {"sku": "FLT-100", "name": "Again", "unit_price": "1"})
    assert assert_error(r, 422, "sku")["error"]["problems"]["sku"]["code"] == "part.sku_taken"
    r = call(client, "POST", "/api/v1/parts", admin, {"sku": "X", "name": "No price"})
    assert assert_error(r, 422, "unit_price")["error"]["problems"]["unit_price"]["code"] \
        == "required"


def test_stations_create_read_patch_and_foreign_ids(client, admin, make_user, make_customer,
                                                    session):
    from callcenter.users.services import ensure_department
    dept = ensure_department(session, "Aftersales/East")
    dealer = make_customer(admin, "Dealer East")
    station = new_station(client, admin, department_id=dept.id, customer_id=dealer.id,
                          address="1 Depot Road", phone="010-62345678")
    assert (station["department_id"], station["customer_id"], station["active"]) == \
        (dept.id, dealer.id, True)
    minimal = new_station(client, admin, name="Depot West")
    assert minimal["department_id"] is None and minimal["address"] == ""
    r = call(client, "GET", f"/api/v1/stations/{station['id']}", admin)
    assert r.get_json() == station
    page = call(client, "GET", "/api/v1/stations", admin).get_json()
    assert_schema(page, "StationPage")
    assert [s["name"] for s in page["items"]] == ["Depot East", "Depot West"]
    r = call(client, "PATCH", f"/api/v1/stations/{station['id']}", admin,
             {"version": 1, "active": False})
    assert r.status_code == 200 and r.get_json()["version"] == 2
    assert [s["name"] for s in call(client, "GET", "/api/v1/stations?active=true",
                                    admin).get_json()["items"]] == ["Depot West"]
    # A dealer outside a station manager's scope is refused like a missing one.
    manager = make_user("admin", scope="own", token=True)
    hidden = call(client, "POST", "/api/v1/stations", manager,
                  {"name": "Hidden", "customer_id": dealer.id})
    missing = call(client, "POST", "/api/v1/stations", manager,
                   {"name": "Hidden", "customer_id": 999_999})
    for r, cid in ((hidden, dealer.id), (missing, 999_999)):
        problem = assert_error(r, 422, "customer_id")["error"]["problems"]["customer_id"]
        assert problem == {"code": "customer.unknown", "params": {"id": cid}}
    assert hidden.get_json()["error"]["message"].replace(str(dealer.id), "N") == \
        missing.get_json()["error"]["message"].replace("999999", "N")
    for body, field, code in (
            ({"name": "Depot West"}, "name", "station.name_taken"),
            ({"name": "X", "department_id": 999_999}, "department_id", "department.unknown"),
            ({"name": "X", "department_id": "1"}, "department_id", "not_id"),
            ({"name": "X" * 121}, "name", "too_long"),
            ({"name": "X", "phone": "1" * 41}, "phone", "too_long"),
            ({"name": "X\x00"}, "name", "nul_char"),
            ({}, "name", "required")):
        r = call(client, "POST", "/api/v1/stations", admin, body)
        assert assert_error(r, 422, field)["error"]["problems"][field]["code"] == code, body


def test_receipt_issue_transfer_adjust_and_the_stock_list(client, admin, session):
    part, a = new_part(client, admin), new_station(client, admin)
    b = new_station(client, admin, name="Depot West")
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="receipt",
             quantity=5, reason="delivery")
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "StockMovement")
    assert (r.get_json()["kind"], r.get_json()["balance_after"]) == ("receipt", 5)
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="transfer",
             to_station_id=b["id"], quantity=2)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["kind"], r.get_json()["quantity"], r.get_json()["balance_after"]) \
        == ("transfer_out", -2, 3)
    assert r.get_json()["transfer_in_id"] is not None
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="adjustment",
             quantity=-1, reason="broken in the box")
    assert r.status_code == 201 and r.get_json()["balance_after"] == 2
    order = make_order(session, admin)
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="issue",
             quantity=2, repair_order_id=order.id)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["unit_price"], r.get_json()["repair_order_id"]) == ("12.50", order.id)
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="issue",
             quantity=1, repair_order_id=order.id)
    error = assert_error(r, 409)["error"]
    assert (error["code"], error["available"], error["requested"]) == \
        ("stock.insufficient", 0, 1)
    r = move(client, admin, station_id=a["id"], part_id=part["id"], kind="return",
             quantity=1, repair_order_id=order.id)
    assert r.status_code == 201 and r.get_json()["balance_after"] == 1

    r = call(client, "PATCH", f"/api/v1/stations/{a['id']}/stock/{part['id']}", admin,
             {"low_threshold": 2})
    assert r.status_code == 200, r.get_json()
    stock = call(client, "GET", f"/api/v1/stations/{a['id']}/stock", admin).get_json()
    assert_schema(stock, "StockList")
    assert stock["items"] == [{"part_id": part["id"], "sku": "FLT-100", "name": "Filter",
                               "unit": "pcs", "quantity": 1, "low_threshold": 2,
                               "low": True}]
    other = call(client, "GET", f"/api/v1/stations/{b['id']}/stock", admin).get_json()
    assert [(i["part_id"], i["quantity"], i["low"]) for i in other["items"]] == \
        [(part["id"], 2, False)]

    history = call(client, "GET", f"/api/v1/stations/{a['id']}/movements?per_page=2",
                   admin).get_json()
    assert_schema(history, "StockMovementPage")
    assert history["total"] == 5 and [m["kind"] for m in history["items"]] == \
        ["return", "issue"]
    issues = call(client, "GET", f"/api/v1/stations/{a['id']}/movements?kind=issue",
                  admin).get_json()
    assert [m["quantity"] for m in issues["items"]] == [-2]
    assert call(client, "GET", f"/api/v1/stations/{a['id']}/movements?kind=x",
                admin).status_code == 422
    assert call(client, "GET", "/api/v1/stations/999999/stock", admin).status_code == 404


def test_idempotency_key_in_the_body_or_the_header(client, admin):
    part, a = new_part(client, admin), new_station(client, admin)
    body = {"station_id": a["id"], "part_id": part["id"], "kind": "receipt", "quantity": 4}
    first = move(client, admin, **body, idempotency_key="delivery-7")
    again = move(client, admin, **body, idempotency_key="delivery-7")
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    h1 = call(client, "POST", "/api/v1/stock-movements", admin, body,
              headers={"Idempotency-Key": "delivery-8"})
    h2 = call(client, "POST", "/api/v1/stock-movements", admin, body,
              headers={"Idempotency-Key": "delivery-8"})
    assert h1.get_json()["id"] == h2.get_json()["id"] != first.get_json()["id"]
    stock = call(client, "GET", f"/api/v1/stations/{a['id']}/stock", admin).get_json()
    assert stock["items"][0]["quantity"] == 8
    r = move(client, admin, **{**body, "quantity": 5}, idempotency_key="delivery-7")
    assert assert_error(r, 409)["error"]["code"] == "stock.key_reused"
    r = call(client, "POST", "/api/v1/stock-movements", admin,
             {**body, "idempotency_key": "a"}, headers={"Idempotency-Key": "b"})
    assert_error(r, 422, "idempotency_key")


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"quantity": 0}, "quantity", "whole_number"),
    ({"quantity": -3}, "quantity", "whole_number"),
    ({"quantity": 10**12}, "quantity", "whole_number"),
    ({"quantity": 10**30}, "quantity", "whole_number"),
    ({"quantity": "5"}, "quantity", "not_id"),
    ({"quantity": 1.5}, "quantity", "not_id"),
    ({"quantity": True}, "quantity", "not_id"),
    ({"part_id": 999_999}, "part_id", "part.unknown"),
    ({"station_id": 999_999}, "station_id", "station.unknown"),
    ({"station_id": "1"}, "station_id", "not_id"),
    ({"kind": "theft"}, "kind", "choice"),
    ({"kind": "transfer"}, "to_station_id", "required"),
    ({"to_station_id": 1}, "to_station_id", "stock.only_for_transfer"),
    ({"repair_order_id": 1}, "repair_order_id", "stock.only_for_order"),
    ({"kind": "issue"}, "repair_order_id", "stock.kind_order_only"),
    ({"kind": "issue", "repair_order_id": 999_999}, "repair_order_id", "stock.order_unknown"),
    ({"kind": "adjustment", "quantity": 0, "reason": "x"}, "quantity",
     "stock.adjustment_quantity"),
    ({"kind": "adjustment", "quantity": 2}, "reason", "required"),
    ({"reason": "r\x00"}, "reason", "nul_char"),
    ({"reason": "r" * 501}, "reason", "too_long"),
    ({"idempotency_key": "k" * 65}, "idempotency_key", "too_long"),
    ({"idempotency_key": "a/in"}, "idempotency_key", "stock.idempotency_key"),
    ({"balance_after": 3}, "balance_after", "read_only"),
    ({"surprise": 1}, "surprise", "unknown_field"),
])
def test_bad_movements_are_422_with_codes(client, admin, change, field, code):
    part, a = new_part(client, admin), new_station(client, admin)
    body = {"station_id": a["id"], "part_id": part["id"], "kind": "receipt", "quantity": 1,
            **change}
    r = move(client, admin, **body)
    error = assert_error(r, 422, field)["error"]
    assert error["problems"][field]["code"] == code, error
    stock = call(client, "GET", f"/api/v1/stations/{a['id']}/stock", admin).get_json()
    assert stock["items"] == []


def test_errors_are_worded_in_chinese_too(client, admin):
    part, a = new_part(client, admin), new_station(client, admin)
    r = call(client, "POST", "/api/v1/stock-movements", admin,
             {"station_id": a["id"], "part_id": part["id"], "kind": "adjustment",
              "quantity": -2, "reason": "count"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "库存只有 0 个，请求了 2 个。"


def test_not_json_and_broken_json(client, admin):
    r = client.post("/api/v1/stock-movements", data="quantity=1", headers=bearer(admin))
    assert r.status_code == 415
    r = client.post("/api/v1/parts", data='{"sku": "A", "sku": "B"}',
                    headers={**bearer(admin), "Content-Type": "application/json"})
    assert_error(r, 422, "sku")


def test_low_stock_event_reaches_the_department_room_after_the_request(
        client, admin, session, redis_conn, redis_url):
    import json

    from callcenter.realtime.live import channel_for
    from callcenter.users.services import ensure_department
    dept = ensure_department(session, "Aftersales/North")
    part, station = new_part(client, admin), new_station(client, admin, department_id=dept.id)
    order = make_order(session, admin)
    move(client, admin, station_id=station["id"], part_id=part["id"], kind="receipt",
         quantity=3)
    call(client, "PATCH", f"/api/v1/stations/{station['id']}/stock/{part['id']}", admin,
         {"low_threshold": 2})
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(channel_for(redis_url))
    pubsub.get_message(timeout=1)
    for quantity in (1, 1):  # 3 -> 2 (not below), 2 -> 1 (below: one event)
        r = move(client, admin, station_id=station["id"], part_id=part["id"], kind="issue",
                 quantity=quantity, repair_order_id=order.id)
        assert r.status_code == 201, r.get_json()
    seen = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            body = json.loads(message["data"])
            seen.append((body["event"], body["room"], body["data"][0]["quantity"],
                         body["data"][0]["sku"]))
    pubsub.close()
    assert seen == [("stock.low", f"department:{dept.id}", 1, "FLT-100")]


def test_threshold_of_an_unknown_part_or_station_is_404(client, admin):
    part, station = new_part(client, admin), new_station(client, admin)
    for url in (f"/api/v1/stations/{station['id']}/stock/999999",
                f"/api/v1/stations/999999/stock/{part['id']}"):
        assert call(client, "PATCH", url, admin, {"low_threshold": 1}).status_code == 404
    r = call(client, "PATCH", f"/api/v1/stations/{station['id']}/stock/{part['id']}", admin,
             {"low_threshold": -1})
    assert assert_error(r, 422, "low_threshold")["error"]["problems"]["low_threshold"][
        "code"] == "whole_number"
