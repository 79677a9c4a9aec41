"""Issue 9, defect 4: a stale edit silently overwrote another user's change (lost update).

Customers, contacts and installed products carry a ``version``: a PATCH that sends a
stale one is a 409 carrying ``current_version`` and changes nothing; every write bumps
it; the web edit form carries it and, when stale, shows "changed meanwhile" with both
values instead of overwriting. Parallel writers against a real served app: exactly one
of those holding the same version wins.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter

import pytest
from api_helpers import assert_error, assert_schema, bearer
from test_ticket_concurrency import call, in_parallel
from webtools import get_token, login

from callcenter.customers.models import Customer
from callcenter.imports.importer import import_csv

WRITERS = 8
_VERSION_INPUT = re.compile(r'<input[^>]*name="version"[^>]*>')


@pytest.fixture
def alice(make_user):
    return make_user("agent", username="alice", scope="own", department="Service/Beijing",
                     token=True)


@pytest.fixture
def bob(make_user):
    """Another editor who sees everything (a supervisor with scope all)."""
    return make_user("supervisor", username="bob", scope="all", token=True)


@pytest.fixture
def api(app):
    return app.test_client()


def _patch(api, path, user, body):
    return api.patch("/api/v1" + path, json=body, headers=bearer(user))


def _get(api, path, user):
    return api.get("/api/v1" + path, headers=bearer(user))


# --- the REST API ----------------------------------------------------------------------

def test_customer_json_has_version_and_a_stale_patch_is_409(api, alice, bob, make_customer):
    customer = make_customer(alice, "华通汽车", notes="first")
    r = _get(api, f"/customers/{customer.id}", alice)
    assert r.status_code == 200 and r.get_json()["version"] == 1
    assert_schema(r.get_json(), "CustomerDetail")

    r = _patch(api, f"/customers/{customer.id}", bob, {"version": 1, "notes": "bob's"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2
    # Alice still holds version 1: her change is refused, bob's stays.
    r = _patch(api, f"/customers/{customer.id}", alice, {"version": 1, "notes": "alice's"})
    body = assert_error(r, 409)
    assert body["current_version"] == 2 and body["error"]["current_version"] == 2
    assert body["error"]["code"] == "customer.stale_version"
    now = _get(api, f"/customers/{customer.id}", alice).get_json()
    assert (now["notes"], now["version"]) == ("bob's", 2)
    # With the current version it goes through; without any, last writer wins (and bumps).
    r = _patch(api, f"/customers/{customer.id}", alice, {"version": 2, "notes": "alice's"})
    assert r.status_code == 200 and r.get_json()["version"] == 3
    r = _patch(api, f"/customers/{customer.id}", bob, {"tier": "vip"})
    assert r.status_code == 200 and r.get_json()["version"] == 4
    # A PATCH that changes nothing does not bump; a version on create is read-only.
    r = _patch(api, f"/customers/{customer.id}", bob, {"version": 4, "tier": "vip"})
    assert r.status_code == 200 and r.get_json()["version"] == 4
    r = api.post("/api/v1/customers", json={"name": "X", "version": 7}, headers=bearer(bob))
    assert assert_error(r, 422, "version")["error"]["problems"]["version"]["code"] == \
        "read_only"


def test_contacts_and_products_have_versions_too(api, alice, bob, make_customer):
    customer = make_customer(alice, "Contacts Co")
    r = api.post(f"/api/v1/customers/{customer.id}/contacts", json={"name": "李伟"},
                 headers=bearer(alice))
    contact = r.get_json()
    assert r.status_code == 201 and contact["version"] == 1
    assert _patch(api, f"/contacts/{contact['id']}", bob,
                  {"version": 1, "position": "经理"}).status_code == 200
    r = _patch(api, f"/contacts/{contact['id']}", alice, {"version": 1, "position": "司机"})
    body = assert_error(r, 409)
    assert (body["error"]["code"], body["current_version"]) == ("contact.stale_version", 2)

    r = api.post("/api/v1/products", json={"customer_id": customer.id, "model": "XC-1",
                                           "serial_number": "SN-V1"}, headers=bearer(alice))
    product = r.get_json()
    assert r.status_code == 201 and product["version"] == 1
    assert_schema(product, "Product")
    assert _patch(api, f"/products/{product['id']}", bob,
                  {"version": 1, "model": "XC-2"}).status_code == 200
    r = _patch(api, f"/products/{product['id']}", alice, {"version": 1, "model": "XC-3"})
    body = assert_error(r, 409)
    assert (body["error"]["code"], body["current_version"]) == ("product.stale_version", 2)
    assert _get(api, f"/products/{product['id']}", alice).get_json()["model"] == "XC-2"


def test_merge_and_import_bump_versions(session, api, bob, make_customer):
    survivor = make_customer(bob, "Survivor", external_id="S-1")
    merged = make_customer(bob, "Merged")
    r = api.post(f"/api/v1/customers/{survivor.id}/merge", json={"merged_id": merged.id},
                 headers=bearer(bob))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["customer"]["version"] > 1
    session.expire_all()
    assert session.get(Customer, merged.id).version > 1
    # A form opened before a re-import is stale after it.
    before = session.get(Customer, survivor.id).version
    result = import_csv(session, None, "customers",
                        io.BytesIO(b"external_id,name\nS-1,Survivor Renamed\n"),
                        region="CN")
    assert result.updated == 1, result.errors
    session.expire_all()
    assert session.get(Customer, survivor.id).version == before + 1


# --- the web edit form -------------------------------------------------------------------

def _form_fields(page: str) -> dict[str, str]:
    """The edit form's values as the browser would send them back unchanged."""
    fields = {}
    for name in ("name", "tax_id", "email", "region", "industry", "ship_to_id", "bill_to_id",
                 "payer_id"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
        fields[name] = html.unescape(match.group(1)) if match else ""
    notes = re.search(r'<textarea[^>]*name="notes"[^>]*>(.*?)</textarea>', page, re.S)
    phones = re.search(r'<textarea[^>]*name="phones"[^>]*>(.*?)</textarea>', page, re.S)
    fields["notes"] = html.unescape(notes.group(1)).strip() if notes else ""
    fields["phones"] = html.unescape(phones.group(1)).strip() if phones else ""
    for name in ("lifecycle", "tier", "responsible_id", "department_id"):
        select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" '
                           r'selected', select)
        fields[name] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    version = _VERSION_INPUT.search(page)
    assert version, "the edit form carries no version"
    fields["version"] = re.search(r'value="(\d+)"', version.group(0)).group(1)
    return fields


@pytest.mark.parametrize("language,texts", [
    ("en", ("changed meanwhile", "Saved now (theirs)", "Yours")),
    ("zh_CN", ("此客户在此期间已被他人修改", "当前已保存（他人的）", "您的")),
])
def test_stale_web_form_shows_both_values_instead_of_overwriting(
        client, api, alice, bob, make_customer, session, language, texts):
    customer = make_customer(alice, "Old Name Co", notes="old notes", phones=["13812345678"])
    assert login(client, "alice", language=language).status_code == 302
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    form = _form_fields(page)
    assert form["version"] == "1"
    # Meanwhile bob changes the name through the API.
    assert _patch(api, f"/customers/{customer.id}", bob,
                  {"name": "API Name Co", "version": 1}).status_code == 200
    token = get_token(client, f"/customers/{customer.id}/edit")
    mine = {**form, "name": "Form Name Co", "notes": "my notes", "csrf_token": token}
    r = client.post(f"/customers/{customer.id}/edit", data=mine)
    assert r.status_code == 409
    text = html.unescape(r.get_data(as_text=True))
    for expected in texts:
        assert expected in text
    conflict = text[text.index('id="changed-meanwhile"'):text.index("</table>")]
    assert "API Name Co" in conflict and "Form Name Co" in conflict   # theirs and yours
    assert "old notes" in conflict and "my notes" in conflict
    session.expire_all()
    saved = session.get(Customer, customer.id)
    assert (saved.name, saved.notes, saved.version) == ("API Name Co", "old notes", 2)
    # The form came back with the current version: saving again keeps the user's values.
    again = _form_fields(r.get_data(as_text=True))
    assert again["version"] == "2" and again["name"] == "Form Name Co"
    r = client.post(f"/customers/{customer.id}/edit", data={**again, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    session.expire_all()
    assert session.get(Customer, customer.id).name == "Form Name Co"


# --- real parallel requests ----------------------------------------------------------------

def test_parallel_customer_patches_one_wins_the_rest_get_409(stack):
    team = call(stack, "GET", "/me", "agent1").json()["department"]["id"]
    r = call(stack, "POST", "/customers", json={"name": "Race Co", "phones": [],
                                                "department_id": team})
    assert r.status_code == 201, r.text
    customer = r.json()
    assert customer["version"] == 1

    def patch(i):
        return call(stack, "PATCH", f"/customers/{customer['id']}", f"agent{i % 5 + 1}",
                    json={"version": 1, "notes": f"writer {i}", "region": f"R{i}"})

    results = in_parallel(patch, WRITERS)
    codes = Counter(r.status_code for r in results)
    assert codes == {200: 1, 409: WRITERS - 1}, [r.text for r in results]
    won = next(i for i, r in enumerate(results) if r.status_code == 200)
    for loser in (r for r in results if r.status_code == 409):
        assert loser.json()["current_version"] == 2
        assert loser.json()["error"]["code"] == "customer.stale_version"
    now = call(stack, "GET", f"/customers/{customer['id']}").json()
    assert (now["notes"], now["region"], now["version"]) == (f"writer {won}", f"R{won}", 2)
    history = call(stack, "GET", f"/customers/{customer['id']}/history").json()["items"]
    assert sorted(h["field"] for h in history if h["field"] in ("notes", "region")) == \
        ["notes", "region"]  # one writer's changes, once
