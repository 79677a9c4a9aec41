"""REST API for customers and contacts: the interface other tools rely on, errors, scope."""

from __future__ import annotations

import json
import re

import pytest
from api_helpers import assert_error, assert_schema, bearer

ISSUE_FORMATS_MOBILE = ["13812345678", "+86 138 1234 5678", "008613812345678", "013812345678"]
ISSUE_FORMATS_LANDLINE = ["010-6234 5678", "(010)62345678 ext. 12"]


def post(client, url, user, body, **kw):
    return client.post(url, json=body, headers=bearer(user), **kw)


def patch(client, url, user, body):
    return client.patch(url, json=body, headers=bearer(user))


def get(client, url, user, **kw):
    return client.get(url, headers=bearer(user), **kw)


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="own", department="Service/Beijing", token=True)


# --- the fixed interface ---------------------------------------------------------------

def test_create_then_find_by_every_phone_format(client, agent):
    r = post(client, "/api/v1/customers", agent,
             {"name": "北京华通汽车有限公司", "phones": ["13812345678", "010-6234 5678"],
              "tier": "vip", "region": "North"})
    assert r.status_code == 201, r.get_json()
    customer = r.get_json()
    assert_schema(customer, "CustomerDetail")
    assert isinstance(customer["id"], int)
    assert r.headers["Location"].endswith(f"/api/v1/customers/{customer['id']}")
    assert {p["number"] for p in customer["phones"]} == {"+8613812345678", "+861062345678"}
    assert customer["responsible_id"] == agent.id and customer["tier"] == "vip"

    for raw in ISSUE_FORMATS_MOBILE + ISSUE_FORMATS_LANDLINE:
        r = get(client, "/api/v1/customers", agent, query_string={"phone": raw})
        assert r.status_code == 200, (raw, r.get_json())
        body = r.get_json()
        assert_schema(body, "CustomerPage")
        assert [c["id"] for c in body["items"]] == [customer["id"]], raw
        assert body["total"] == 1


@pytest.mark.parametrize("garbage", ["abc", "12", "+999 1234", "1" * 80, "call me maybe!"])
def test_garbage_phone_is_a_4xx_naming_the_field(client, agent, garbage):
    r = post(client, "/api/v1/customers", agent, {"name": "X", "phones": [garbage]})
    body = assert_error(r, 422, "phones[0]")
    assert body["error"]["fields"]["phones[0]"]
    r = get(client, "/api/v1/customers", agent, query_string={"phone": garbage})
    assert_error(r, 422, "phone")
    # Nothing was stored by the rejected create.
    r = get(client, "/api/v1/customers", agent)
    assert r.get_json()["total"] == 0


def test_phone_as_object_with_label_and_second_bad_phone(client, agent):
    r = post(client, "/api/v1/customers", agent,
             {"name": "Y", "phones": [{"number": "13812345678", "label": "mobile"}, "nope"]})
    assert_error(r, 422, "phones[1]")
    r = post(client, "/api/v1/customers", agent,
             {"name": "Y", "phones": [{"number": "13812345678", "label": "mobile"}]})
    assert r.status_code == 201
    assert r.get_json()["phones"][0]["label"] == "mobile"


# --- authentication and transport errors -----------------------------------------------

def test_without_or_with_a_wrong_token_is_401_json(client, agent):
    assert_error(client.get("/api/v1/customers"), 401)
    assert_error(client.get("/api/v1/customers",
                            headers={"Authorization": "Bearer not-a-token"}), 401)
    assert_error(client.get("/api/v1/customers",
                            headers={"Authorization": f"Basic {agent.plain_token}"}), 401)
    assert_error(client.post("/api/v1/customers", json={"name": "x"}), 401)


def test_inactive_user_token_is_refused(client, agent, session):
    agent.active = False
    session.flush()
    assert_error(get(client, "/api/v1/customers", agent), 401)


def test_writes_must_be_json(client, agent):
    r = client.post("/api/v1/customers", data="name=x", headers={
        **bearer(agent), "Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415)
    r = client.post("/api/v1/customers", data="{not json", headers={
        **bearer(agent), "Content-Type": "application/json"})
    assert_error(r, 400)
    r = client.post("/api/v1/customers", data="[1, 2]", headers={
        **bearer(agent), "Content-Type": "application/json"})
    assert_error(r, 400)
    r = client.post("/api/v1/customers", data='{"name": NaN}', headers={
        **bearer(agent), "Content-Type": "application/json"})
    assert_error(r, 400)
    deep = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    r = client.post("/api/v1/customers", data=deep, headers={
        **bearer(agent), "Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert_error(r, r.status_code)


def test_oversized_body_is_413(client, agent):
    r = post(client, "/api/v1/customers", agent, {"name": "x", "notes": "n" * 2_000_000})
    assert_error(r, 413)


@pytest.mark.parametrize("field,value", [
    ("name", "x" * 201), ("name", "evil\x00name"), ("name", "\ud800"), ("name", 12),
    ("name", ""), ("notes", "n" * 10_001), ("region", ["list"]), ("tier", "platinum"),
    ("lifecycle", "dead"), ("is_placeholder", "yes"),
    ("responsible_id", 10**30), ("responsible_id", 1e400), ("department_id", "abc"),
    ("bill_to_id", 2**31), ("related_user_ids", [10**20]), ("related_user_ids", "1,2"),
    ("phones", "13812345678"), ("phones", ["13812345678"] * 21), ("phones", [None]),
    ("email", {"a": 1}), ("id", 5), ("created_at", "2020-01-01"), ("colour", "red"),
])
def test_bad_fields_are_422_naming_the_field_never_500(client, agent, field, value):
    body = {"name": "Valid name", field: value}
    # json.dumps writes infinity as "Infinity"; 1e400 is valid JSON that parses to it.
    raw = json.dumps(body) if value != 1e400 else json.dumps(body).replace("Infinity", "1e400")
    r = client.post("/api/v1/customers", data=raw,
                    headers={**bearer(agent), "Content-Type": "application/json"})
    assert r.status_code in (400, 422), (r.status_code, r.get_data(True)[:300])
    body = assert_error(r, r.status_code)
    if r.status_code == 422:
        named = " ".join(body["error"]["fields"])
        assert field in named, body


def test_unknown_urls_and_methods_answer_json(client, agent):
    assert_error(get(client, "/api/v1/nothing-here", agent), 404)
    assert_error(get(client, "/api/v1/customers/0", agent), 404)
    assert_error(get(client, "/api/v1/customers/99999999999999999999", agent), 404)
    assert_error(get(client, "/api/v1/customers/abc", agent), 404)
    r = client.delete("/api/v1/customers", headers=bearer(agent))
    assert_error(r, 405)
    assert "POST" in r.headers["Allow"] and "GET" in r.headers["Allow"]


def test_query_parameters_with_nul_or_absurd_length_are_422(client, agent):
    for name in ("q", "serial", "region", "industry"):
        assert_error(get(client, "/api/v1/customers", agent,
                         query_string={name: "a\x00b"}), 422, name)
        assert_error(get(client, "/api/v1/customers", agent,
                         query_string={name: "a" * 501}), 422, name)
    assert_error(get(client, "/api/v1/customers", agent, query_string={"tier": "gold"}),
                 422, "tier")
    assert_error(get(client, "/api/v1/customers", agent,
                     query_string={"lifecycle": "dead"}), 422, "lifecycle")


# --- lists ------------------------------------------------------------------------------

def test_pagination_and_links(client, agent, make_customer):
    ids = [make_customer(agent, f"Customer {i:02d}").id for i in range(7)]
    r = get(client, "/api/v1/customers", agent, query_string={"per_page": 3})
    body = r.get_json()
    assert_schema(body, "CustomerPage")
    assert (body["total"], body["pages"], body["page"], body["prev"]) == (7, 3, 1, None)
    seen = [c["id"] for c in body["items"]]
    while body["next"]:
        assert body["next"].startswith("/api/v1/customers?")
        body = get(client, body["next"], agent).get_json()
        seen += [c["id"] for c in body["items"]]
    assert seen == ids
    assert body["page"] == 3 and body["prev"] and "page=2" in body["prev"]

    body = get(client, "/api/v1/customers?per_page=1000", agent).get_json()
    assert body["per_page"] == 100 and len(body["items"]) == 7
    body = get(client, "/api/v1/customers?page=9", agent).get_json()
    assert body["items"] == [] and body["next"] is None
    for bad in ({"page": 0}, {"page": "x"}, {"per_page": 0}, {"per_page": "-1"},
                {"page": "1e3"}, {"page": "١"}):
        name = next(iter(bad))
        assert_error(get(client, "/api/v1/customers", agent, query_string=bad), 422, name)


def test_filters(client, agent, make_customer, session):
    from callcenter.products.models import InstalledProduct
    a = make_customer(agent, "Acme Trading Co., Ltd.", tier="vip", lifecycle="current",
                      region="East", industry="logistics", tax_id="91110000X")
    b = make_customer(agent, "华通汽车", tier="small", region="North", industry="bus")
    session.add(InstalledProduct(model="K9", serial_number="SN-0001", customer_id=b.id))
    session.flush()

    def ids(**query):
        r = get(client, "/api/v1/customers", agent, query_string=query)
        assert r.status_code == 200, r.get_json()
        return [c["id"] for c in r.get_json()["items"]]

    assert ids(tier="vip") == [a.id]
    assert ids(lifecycle="current") == [a.id]
    assert ids(region="North") == [b.id]
    assert ids(industry="logistics") == [a.id]
    assert ids(serial="SN-0001") == [b.id]
    assert ids(q="acme") == [a.id]
    assert ids(q="华通") == [b.id]
    assert ids(q="91110000X") == [a.id]
    assert ids(q="SN-0001") == [b.id]
    assert ids(q="100%_") == []
    assert ids(tier="vip", region="North") == []


# --- one customer ------------------------------------------------------------------------

def test_get_patch_and_history(client, agent, make_customer):
    c = make_customer(agent, "Old Name", phones=["13812345678"], external_id="ERP-1")
    url = f"/api/v1/customers/{c.id}"
    r = get(client, url, agent)
    assert r.status_code == 200
    assert_schema(r.get_json(), "CustomerDetail")
    assert r.get_json()["external_id"] == "ERP-1"

    r = patch(client, url, agent, {"name": "New Name", "tier": "major",
                                   "phones": ["+86 139 0000 0000"]})
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert (data["name"], data["tier"], data["region"]) == ("New Name", "major", "")
    assert [p["number"] for p in data["phones"]] == ["+8613900000000"]
    # PATCH is partial: fields not sent keep their values.
    r = patch(client, url, agent, {"region": "West"})
    assert r.get_json()["name"] == "New Name" and r.get_json()["tier"] == "major"

    r = get(client, url + "/history", agent)
    assert r.status_code == 200
    history = r.get_json()
    assert_schema(history, "ChangePage")
    changed = {(h["field"], h["old_value"], h["new_value"]) for h in history["items"]}
    assert ("name", "Old Name", "New Name") in changed
    assert ("tier", "ordinary", "major") in changed
    assert ("region", "", "West") in changed
    assert all(h["user"]["id"] == agent.id for h in history["items"])


def test_identity_fields_cannot_change(client, agent, make_customer):
    c = make_customer(agent, "Fixed", external_id="ERP-7")
    url = f"/api/v1/customers/{c.id}"
    assert_error(patch(client, url, agent, {"external_id": "ERP-8"}), 422, "external_id")
    assert_error(patch(client, url, agent, {"external_id": None}), 422, "external_id")
    assert_error(patch(client, url, agent, {"id": c.id + 1}), 422, "id")
    assert_error(patch(client, url, agent, {"id": "1"}), 422, "id")
    # Sending the unchanged identity back (GET, edit, PATCH) is fine.
    r = patch(client, url, agent, {"id": c.id, "external_id": "ERP-7", "name": "Fixed 2"})
    assert r.status_code == 200 and r.get_json()["external_id"] == "ERP-7"
    assert_error(patch(client, url, agent, {"created_at": "2020-01-01T00:00:00Z"}), 422,
                 "created_at")


def test_partner_rule_payer_equals_bill_to(client, agent, make_customer):
    person = make_customer(agent, "Wang Wu")
    company = make_customer(agent, "Transport Co")
    url = f"/api/v1/customers/{person.id}"
    assert_error(patch(client, url, agent, {"bill_to_id": company.id, "payer_id": person.id}),
                 422, "payer_id")
    assert_error(post(client, "/api/v1/customers", agent,
                      {"name": "P", "payer_id": company.id}), 422, "payer_id")
    r = patch(client, url, agent, {"bill_to_id": company.id})
    assert r.status_code == 200
    assert (r.get_json()["bill_to_id"], r.get_json()["payer_id"]) == (company.id, company.id)
    assert r.get_json()["ship_to_id"] == person.id


def test_out_of_scope_looks_exactly_like_missing(client, agent, make_user, make_customer):
    stranger = make_user("agent", scope="own", department="Service/Shanghai")
    hidden = make_customer(stranger, "Hidden", phones=["13912345678"])
    missing_id = hidden.id + 1000
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"name": "x"}),
                                 ("GET", "/history", None), ("GET", "/contacts", None),
                                 ("POST", "/contacts", {"name": "x"})):
        answers = []
        for cid in (hidden.id, missing_id):
            r = client.open(f"/api/v1/customers/{cid}{suffix}", method=method, json=body,
                            headers=bearer(agent))
            answers.append((r.status_code, r.get_json()))
        assert answers[0] == answers[1] and answers[0][0] == 404, (method, suffix, answers)
    r = get(client, "/api/v1/customers", agent, query_string={"phone": "13912345678"})
    assert r.get_json()["items"] == []


# --- contacts -----------------------------------------------------------------------------

def test_contacts_add_list_patch(client, agent, make_customer):
    c = make_customer(agent, "Bus Co")
    url = f"/api/v1/customers/{c.id}/contacts"
    r = post(client, url, agent, {"name": "Li Si", "position": "driver",
                                  "phones": ["+86 138 1234 5678"]})
    assert r.status_code == 201, r.get_json()
    contact = r.get_json()
    assert_schema(contact, "Contact")
    assert contact["customer_id"] == c.id and contact["phones"][0]["number"] == "+8613812345678"

    r = get(client, url, agent)
    assert_schema(r.get_json(), "ContactList")
    assert [x["id"] for x in r.get_json()["items"]] == [contact["id"]]

    # A contact's phone finds the customer (the caller may be the contact).
    r = get(client, "/api/v1/customers", agent, query_string={"phone": "013812345678"})
    assert [x["id"] for x in r.get_json()["items"]] == [c.id]

    curl = f"/api/v1/contacts/{contact['id']}"
    r = patch(client, curl, agent, {"position": "fleet manager",
                                    "phones": ["010-6234 5678", "13700000000"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["position"] == "fleet manager"
    assert [p["number"] for p in r.get_json()["phones"]] == ["+861062345678", "+8613700000000"]
    assert_error(patch(client, curl, agent, {"phones": ["garbage"]}), 422, "phones[0]")
    assert_error(patch(client, curl, agent, {"name": ""}), 422, "name")
    assert_error(patch(client, curl, agent, {"customer_id": 5}), 422, "customer_id")
    assert_error(post(client, url, agent, {"name": "X", "phones": ["?"]}), 422, "phones[0]")
    assert_error(post(client, url, agent, {"name": "X", "age": 3}), 422, "age")
    assert_error(post(client, url, agent, {}), 422, "name")

    history = get(client, f"/api/v1/customers/{c.id}/history", agent).get_json()["items"]
    assert any(h["entity"] == "contact" and h["field"] == "position" for h in history)


def test_contact_external_id_must_be_unique(client, agent, make_customer):
    c = make_customer(agent, "Bus Co")
    url = f"/api/v1/customers/{c.id}/contacts"
    assert post(client, url, agent, {"name": "A", "external_id": "C-1"}).status_code == 201
    assert_error(post(client, url, agent, {"name": "B", "external_id": "C-1"}), 422,
                 "external_id")


def test_contact_of_out_of_scope_customer_is_404(client, agent, make_user, make_customer):
    stranger = make_user("agent", scope="own", token=True)
    hidden = make_customer(stranger, "Hidden")
    r = post(client, f"/api/v1/customers/{hidden.id}/contacts", stranger, {"name": "P"})
    contact_id = r.get_json()["id"]
    missing = assert_error(patch(client, f"/api/v1/contacts/{contact_id + 99}", agent,
                                 {"name": "Q"}), 404)
    hidden_answer = assert_error(patch(client, f"/api/v1/contacts/{contact_id}", agent,
                                       {"name": "Q"}), 404)
    assert missing == hidden_answer


# --- who am I, session auth ------------------------------------------------------------------

def test_me(client, make_user):
    user = make_user("technician", scope="related", department="Field/North", token=True)
    r = get(client, "/api/v1/me", user)
    assert r.status_code == 200
    me = r.get_json()
    assert_schema(me, "Me")
    assert (me["role"], me["scope"], me["authenticated_by"]) == ("technician", "related",
                                                                  "token")
    assert me["department"]["name"] == "North"
    assert "customer.read" in me["permissions"] and "customer.update" not in me["permissions"]


def test_session_cookie_writes_need_csrf(client, make_user):
    user = make_user("agent", username="cookie-agent")
    page = client.get("/login").get_data(True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "cookie-agent",
                                    "password": "correct horse battery", "csrf_token": token})
    assert r.status_code in (302, 303)
    r = client.get("/api/v1/me")
    assert r.status_code == 200 and r.get_json()["id"] == user.id
    assert r.get_json()["authenticated_by"] == "session"
    assert_error(client.post("/api/v1/customers", json={"name": "No CSRF"}), 400)
    r = client.post("/api/v1/customers", json={"name": "With CSRF"},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_json()
