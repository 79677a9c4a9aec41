"""REST API for installed products: register, search, correct, assign; warranty state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import assert_error, assert_schema, bearer


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="own", department="Service/Beijing", token=True)


def post(client, url, user, body):
    return client.post(url, json=body, headers=bearer(user))


def patch(client, url, user, body):
    return client.patch(url, json=body, headers=bearer(user))


def get(client, url, user, **query):
    return client.get(url, headers=bearer(user), query_string=query)


def register(client, user, customer, serial, **fields):
    r = post(client, "/api/v1/products", user,
             {"customer_id": customer.id, "model": "K9 bus", "serial_number": serial, **fields})
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "Product")
    return r.get_json()


def test_register_get_and_warranty_state(client, agent, make_customer):
    owner = make_customer(agent, "Bus Co")
    today = client.application.config["SETTINGS"].locality.today()
    states = {
        "SN-IN": (today + timedelta(days=365), "in_warranty"),
        "SN-SOON": (today + timedelta(days=10), "expiring"),
        "SN-LAST-DAY": (today, "expiring"),
        "SN-OUT": (today - timedelta(days=1), "expired"),
    }
    for serial, (end, state) in states.items():
        product = register(client, agent, owner, serial, warranty_end=end.isoformat(),
                           warranty_type="standard")
        assert product["warranty_state"] == state, serial
    none = register(client, agent, owner, "SN-NONE", warranty_type="none",
                    warranty_end=(today + timedelta(days=99)).isoformat())
    assert none["warranty_state"] == "none"

    r = get(client, f"/api/v1/products/{none['id']}", agent)
    assert r.status_code == 200 and r.get_json() == none
    assert r.get_json()["customer_id"] == owner.id

    # The customer card shows the products with their warranty state.
    card = get(client, f"/api/v1/customers/{owner.id}", agent).get_json()
    assert_schema(card, "CustomerDetail")
    assert {p["serial_number"]: p["warranty_state"] for p in card["products"]} == {
        **{s: st for s, (_e, st) in states.items()}, "SN-NONE": "none"}

    for state in ("in_warranty", "expiring", "expired", "none"):
        page = get(client, "/api/v1/products", agent, warranty=state).get_json()
        assert_schema(page, "ProductPage")
        assert {p["warranty_state"] for p in page["items"]} == {state}
    assert_error(get(client, "/api/v1/products", agent, warranty="maybe"), 422, "warranty")


def test_filters_and_pagination(client, agent, make_customer):
    a = make_customer(agent, "A")
    b = make_customer(agent, "B")
    for i in range(5):
        register(client, agent, a if i % 2 else b, f"SN-{i}",
                 model="K9" if i < 3 else "K7")

    def serials(**query):
        r = get(client, "/api/v1/products", agent, **query)
        assert r.status_code == 200, r.get_json()
        return [p["serial_number"] for p in r.get_json()["items"]]

    assert serials(serial="SN-3") == ["SN-3"]
    assert serials(serial=" SN-3 ") == ["SN-3"]
    assert serials(model="K7") == ["SN-3", "SN-4"]
    assert serials(customer_id=a.id) == ["SN-1", "SN-3"]
    assert serials(customer_id=a.id, model="K9") == ["SN-1"]
    page = get(client, "/api/v1/products", agent, per_page=2, page=3).get_json()
    assert (page["total"], page["pages"], len(page["items"]), page["next"]) == (5, 3, 1, None)
    assert_error(get(client, "/api/v1/products", agent, customer_id="x"), 422, "customer_id")
    # The customer search finds the owner by serial number too.
    r = get(client, "/api/v1/customers", agent, serial="SN-3")
    assert [c["id"] for c in r.get_json()["items"]] == [a.id]


def test_register_validation(client, agent, make_customer, make_user):
    owner = make_customer(agent, "Bus Co")
    register(client, agent, owner, "SN-1")
    base = {"customer_id": owner.id, "model": "K9", "serial_number": "SN-2"}
    cases = [
        ({"serial_number": "SN-1"}, "serial_number"),          # serials are unique
        ({"serial_number": ""}, "serial_number"),
        ({"serial_number": "s" * 81}, "serial_number"),
        ({"model": None}, "model"),
        ({"warranty_end": "31/12/2030"}, "warranty_end"),
        ({"warranty_end": "2030-02-30"}, "warranty_end"),
        ({"installed_on": "2030-01-01", "warranty_end": "2029-01-01"}, "warranty_end"),
        ({"warranty_type": "lifetime"}, "warranty_type"),
        ({"customer_id": "1"}, "customer_id"),
        ({"customer_id": 2**40}, "customer_id"),
        ({"customer_id": owner.id + 999}, "customer_id"),
        ({"colour": "red"}, "colour"),
        ({"id": 3}, "id"),
    ]
    for change, field in cases:
        r = post(client, "/api/v1/products", agent, {**base, **change})
        assert_error(r, 422, field)
    # A customer outside the caller's scope reads exactly like a missing one.
    stranger = make_user("agent", scope="own")
    hidden = make_customer(stranger, "Hidden")
    hidden_answer = post(client, "/api/v1/products", agent, {**base, "customer_id": hidden.id})
    missing_answer = post(client, "/api/v1/products", agent,
                          {**base, "customer_id": hidden.id + 999})
    assert_error(hidden_answer, 422, "customer_id")
    assert hidden_answer.get_json()["error"]["fields"]["customer_id"].replace(
        str(hidden.id), "N") == missing_answer.get_json()["error"]["fields"][
        "customer_id"].replace(str(hidden.id + 999), "N")
    assert get(client, "/api/v1/products", agent).get_json()["total"] == 1


def test_patch_product(client, agent, make_customer):
    owner = make_customer(agent, "Bus Co")
    product = register(client, agent, owner, "SN-1", external_id="ERP-P1")
    url = f"/api/v1/products/{product['id']}"
    r = patch(client, url, agent, {"serial_number": "SN-1A", "warranty_type": "extended",
                                   "warranty_end": "2031-06-30"})
    assert r.status_code == 200, r.get_json()
    assert_schema(r.get_json(), "Product")
    assert (r.get_json()["serial_number"], r.get_json()["warranty_end"]) == ("SN-1A",
                                                                            "2031-06-30")
    assert r.get_json()["model"] == "K9 bus"
    assert_error(patch(client, url, agent, {"customer_id": owner.id}), 422, "customer_id")
    assert_error(patch(client, url, agent, {"external_id": "ERP-P2"}), 422, "external_id")
    assert_error(patch(client, url, agent, {"warranty_state": "none"}), 422, "warranty_state")
    other = register(client, agent, owner, "SN-2")
    assert_error(patch(client, url, agent, {"serial_number": "SN-2"}), 422, "serial_number")
    assert get(client, f"/api/v1/products/{other['id']}", agent).status_code == 200
    history = get(client, f"/api/v1/customers/{owner.id}/history", agent).get_json()["items"]
    assert any(h["entity"] == "product" and h["field"] == "serial_number"
               and h["old_value"] == "SN-1" and h["new_value"] == "SN-1A" for h in history)


def test_assign_from_placeholder_to_real_end_user(client, agent, make_customer, make_user):
    branch = make_customer(agent, "Beijing branch (placeholder)", is_placeholder=True)
    end_user = make_customer(agent, "Zhang San", phones=["13812345678"])
    product = register(client, agent, branch, "SN-OLD-1")
    url = f"/api/v1/products/{product['id']}/assign"
    r = post(client, url, agent, {"customer_id": end_user.id})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["customer_id"] == end_user.id
    card = get(client, f"/api/v1/customers/{end_user.id}", agent).get_json()
    assert [p["serial_number"] for p in card["products"]] == ["SN-OLD-1"]
    assert get(client, f"/api/v1/customers/{branch.id}", agent).get_json()["products"] == []
    # Both histories record the move.
    for cid in (branch.id, end_user.id):
        items = get(client, f"/api/v1/customers/{cid}/history", agent).get_json()["items"]
        assert any(h["entity"] == "product" for h in items), cid

    stranger = make_user("agent", scope="own")
    hidden = make_customer(stranger, "Hidden")
    assert_error(post(client, url, agent, {"customer_id": hidden.id}), 422, "customer_id")
    assert_error(post(client, url, agent, {}), 422, "customer_id")
    assert_error(post(client, url, agent, {"customer_id": end_user.id, "x": 1}), 422, "x")
    assert get(client, f"/api/v1/products/{product['id']}", agent).get_json()[
        "customer_id"] == end_user.id


def test_products_of_out_of_scope_customers_are_invisible(client, agent, make_customer,
                                                           make_user):
    stranger = make_user("agent", scope="own", token=True)
    hidden = make_customer(stranger, "Hidden")
    product = register(client, stranger, hidden, "SN-HIDDEN")
    assert get(client, "/api/v1/products", agent, serial="SN-HIDDEN").get_json()["items"] == []
    url = f"/api/v1/products/{product['id']}"
    for r_hidden, r_missing in (
            (get(client, url, agent), get(client, url + "0", agent)),
            (patch(client, url, agent, {"model": "x"}),
             patch(client, url + "0", agent, {"model": "x"})),
            (post(client, url + "/assign", agent, {"customer_id": hidden.id}),
             post(client, url + "0/assign", agent, {"customer_id": hidden.id}))):
        assert r_hidden.status_code == r_missing.status_code == 404
        assert r_hidden.get_json() == r_missing.get_json()
    assert get(client, url, stranger).get_json()["model"] == "K9 bus"
