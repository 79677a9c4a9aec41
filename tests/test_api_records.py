"""REST API for addresses, duplicate candidates and the merge."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, assert_schema, bearer


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", scope="department", department="Service", token=True)


def call(client, method, url, user, body=None, **query):
    return client.open(url, method=method, json=body, headers=bearer(user),
                       query_string=query)


def test_addresses_add_list_patch_delete(client, supervisor, make_customer):
    c = make_customer(supervisor, "Bus Co")
    url = f"/api/v1/customers/{c.id}/addresses"
    r = call(client, "POST", url, supervisor,
             {"purpose": "ship_to", "line": "1 Chang'an Ave", "city": "Beijing",
              "country": "cn"})
    assert r.status_code == 201, r.get_json()
    address = r.get_json()
    assert_schema(address, "Address")
    assert (address["purpose"], address["country"]) == ("ship_to", "CN")
    listing = call(client, "GET", url, supervisor).get_json()
    assert_schema(listing, "AddressList")
    assert [a["id"] for a in listing["items"]] == [address["id"]]

    aurl = f"/api/v1/addresses/{address['id']}"
    r = call(client, "PATCH", aurl, supervisor, {"city": "Tianjin"})
    assert r.status_code == 200 and r.get_json()["city"] == "Tianjin"
    assert r.get_json()["line"] == "1 Chang'an Ave"
    for body, field in (({"purpose": "moon"}, "purpose"), ({"line": ""}, "line"),
                        ({"country": "CHN"}, "country"), ({"customer_id": 1}, "customer_id"),
                        ({"colour": "red"}, "colour"), ({"line": "x" * 301}, "line")):
        assert_error(call(client, "PATCH", aurl, supervisor, body), 422, field)
    assert_error(call(client, "POST", url, supervisor, {"city": "No line"}), 422, "line")

    r = call(client, "DELETE", aurl, supervisor)
    assert r.status_code == 204 and r.get_data() == b""
    assert call(client, "GET", url, supervisor).get_json()["items"] == []
    assert_error(call(client, "DELETE", aurl, supervisor), 404)
    history = call(client, "GET", f"/api/v1/customers/{c.id}/history", supervisor).get_json()
    assert {h["field"] for h in history["items"] if h["entity"] == "address"} >= {
        "added", "city", "removed"}


def test_duplicates_in_scope_only(client, supervisor, make_customer, make_user):
    a = make_customer(supervisor, "北京华通汽车有限公司", phones=["13812345678"])
    b = make_customer(supervisor, "北京华通汽车", phones=["+86 138 1234 5678"])
    make_customer(supervisor, "Completely Different Ltd")
    outsider = make_user("agent", scope="own", department="Elsewhere")
    make_customer(outsider, "北京华通汽车公司", phones=["13812345678"])
    r = call(client, "GET", f"/api/v1/customers/{a.id}/duplicates", supervisor)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert_schema(body, "DuplicateList")
    assert [d["customer"]["id"] for d in body["items"]] == [b.id]
    assert {"phone", "name"} <= set(body["items"][0]["reasons"])
    assert_error(call(client, "GET", f"/api/v1/customers/{a.id}/duplicates", supervisor,
                      limit=0), 422, "limit")


def test_merge_moves_everything_and_keeps_the_trail(client, supervisor, make_customer):
    survivor = make_customer(supervisor, "Acme Ltd", phones=["13812345678"])
    merged = make_customer(supervisor, "ACME", phones=["13900000000"], tax_id="TAX-1")
    call(client, "POST", f"/api/v1/customers/{merged.id}/contacts", supervisor,
         {"name": "Li Si"})
    r = call(client, "POST", f"/api/v1/customers/{survivor.id}/merge", supervisor,
             {"merged_id": merged.id})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert_schema(result, "MergeResult")
    assert (result["merge"]["survivor_id"], result["merge"]["merged_id"]) == (survivor.id,
                                                                              merged.id)
    card = result["customer"]
    assert card["tax_id"] == "TAX-1"
    assert [c["name"] for c in card["contacts"]] == ["Li Si"]
    assert {p["number"] for p in card["phones"]} == {"+8613812345678", "+8613900000000"}

    # The merged record is gone from lists, still readable, and points at the survivor.
    r = call(client, "GET", "/api/v1/customers", supervisor, phone="13900000000")
    assert [c["id"] for c in r.get_json()["items"]] == [survivor.id]
    gone = call(client, "GET", f"/api/v1/customers/{merged.id}", supervisor).get_json()
    assert gone["merged_into_id"] == survivor.id
    assert_error(call(client, "PATCH", f"/api/v1/customers/{merged.id}", supervisor,
                      {"name": "x"}), 409)
    history = call(client, "GET", f"/api/v1/customers/{survivor.id}/history",
                   supervisor).get_json()["items"]
    assert any(h["entity"] == "merge" for h in history)

    # Merging again, or into itself, is refused naming the field.
    assert_error(call(client, "POST", f"/api/v1/customers/{survivor.id}/merge", supervisor,
                      {"merged_id": merged.id}), 422, "merged_id")
    assert_error(call(client, "POST", f"/api/v1/customers/{survivor.id}/merge", supervisor,
                      {"merged_id": survivor.id}), 422, "merged_id")
    for bad in ({}, {"merged_id": "7"}, {"merged_id": 2**40}, {"merged_id": True},
                {"merged_id": merged.id, "extra": 1}):
        r = call(client, "POST", f"/api/v1/customers/{survivor.id}/merge", supervisor, bad)
        assert_error(r, 422)


def test_merge_needs_the_permission_and_both_records_in_scope(client, supervisor, make_user,
                                                             make_customer):
    a = make_customer(supervisor, "A")
    b = make_customer(supervisor, "B")
    agent = make_user("agent", scope="all", token=True)
    assert_error(call(client, "POST", f"/api/v1/customers/{a.id}/merge", agent,
                      {"merged_id": b.id}), 403)
    outsider = make_user("agent", scope="own", department="Elsewhere")
    hidden = make_customer(outsider, "Hidden")
    r = call(client, "POST", f"/api/v1/customers/{a.id}/merge", supervisor,
             {"merged_id": hidden.id})
    assert_error(r, 422, "merged_id")
    r = call(client, "POST", f"/api/v1/customers/{hidden.id}/merge", supervisor,
             {"merged_id": a.id})
    assert_error(r, 404)
    assert call(client, "GET", f"/api/v1/customers/{a.id}", supervisor).get_json()[
        "merged_into_id"] is None
