"""The web UI: login, throttling, language, customer search, 360° page and forms.

CSRF stays enabled: every POST carries a token fetched from a rendered page.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from webtools import csrf_token, get_token, login, post, text

from callcenter.customers.models import ChangeRecord, Customer
from callcenter.products.models import InstalledProduct


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="alice", department="Service/Beijing")


@pytest.fixture
def logged_in(client, agent):
    response = login(client, "alice")
    assert response.status_code == 302
    return client


# --- login, logout, throttling ------------------------------------------------------------

def test_login_page_then_login_and_logout(client, agent):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'for="username"' in text(page) and 'for="password"' in text(page)
    assert client.get("/customers/").status_code == 302  # not logged in: to the login page

    response = login(client, "alice")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert client.get("/customers/").status_code == 200

    assert client.get("/logout").status_code == 405  # logout is POST-only
    response = post(client, "/logout")
    assert response.status_code == 302
    assert client.get("/customers/").status_code == 302


def test_login_requires_csrf_token(client, agent):
    response = client.post("/login", data={"username": "alice",
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/customers/").status_code == 302


@pytest.mark.parametrize("target,expected", [
    ("/customers/?q=x", "/customers/?q=x"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_login_next_is_same_site_only(client, agent, target, expected):
    token = get_token(client, "/login?next=" + target)
    response = client.post("/login", data={"username": "alice", "password":
                                           "correct horse battery", "next": target,
                                           "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_wrong_password_is_counted_and_kept(client, agent, session):
    response = login(client, "alice", "wrong password")
    assert response.status_code == 200
    assert "Wrong username or password" in text(response)
    session.expire_all()
    # The count survived the request (a 4xx answer would have rolled it back).
    assert session.get(type(agent), agent.id).failed_logins == 1


def test_repeated_wrong_passwords_throttle_the_account(app, client, agent):
    from limits import parse_many
    limit = parse_many(app.config["SETTINGS"].login_rate_limit)[0]
    for _ in range(limit.amount):
        assert "Wrong username or password" in text(login(client, "alice", "guess!guess"))
    response = login(client, "alice")  # even the right password is refused now
    assert response.status_code == 429
    assert "Too many login attempts. Try again in" in text(response)
    assert 0 < int(response.headers["Retry-After"]) <= limit.get_expiry()
    assert client.get("/customers/").status_code == 302


def test_unknown_user_gets_the_same_answer(client):
    response = login(client, "nobody", "whatever123")
    assert response.status_code == 200
    assert "Wrong username or password" in text(response)


# --- language -------------------------------------------------------------------------

def test_language_switch_to_chinese_and_back(logged_in, session, agent):
    response = post(logged_in, "/language", {"locale": "zh_CN", "next": "/customers/"})
    assert response.status_code == 302 and response.headers["Location"] == "/customers/"
    page = text(logged_in.get("/customers/"))
    assert 'lang="zh-CN"' in page and "查找客户" in page
    session.expire_all()
    assert session.get(type(agent), agent.id).locale == "zh_CN"

    post(logged_in, "/language", {"locale": "en"})
    page = text(logged_in.get("/customers/"))
    assert 'lang="en"' in page and "Find a customer" in page


def test_language_switch_ignores_unknown_locales_and_foreign_next(logged_in):
    response = post(logged_in, "/language", {"locale": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_language_switch_works_before_login(client):
    token = get_token(client, "/login")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token})
    assert "登录" in text(client.get("/login"))


# --- search and the 360° page -----------------------------------------------------------

def test_search_by_any_phone_format_serial_tax_id_and_name(logged_in, agent, make_customer,
                                                           session):
    zhang = make_customer(agent, "张三汽车运输有限公司", phones=["13812345678"],
                          tax_id="91110000123456789X")
    make_customer(agent, "Other Customer", phones=["010-6234 5678"])
    session.add(InstalledProduct(model="K9", serial_number="SN-777", customer_id=zhang.id))
    session.flush()
    for q in ("+86 138 1234 5678", "008613812345678", "SN-777", "91110000123456789X",
              "张三汽车"):
        page = text(logged_in.get("/customers/", query_string={"q": q}))
        assert "张三汽车运输有限公司" in page, q
        assert "Other Customer" not in page, q
    page = text(logged_in.get("/customers/", query_string={"q": "(010)62345678"}))
    assert "Other Customer" in page and "张三" not in page


def test_search_is_paginated(logged_in, agent, make_customer):
    for i in range(30):
        make_customer(agent, f"Paged {i:02d}")
    first = text(logged_in.get("/customers/?q=Paged"))
    assert "Paged 00" in first and "Paged 29" not in first and "Page 1 of 2" in first
    second = text(logged_in.get("/customers/?q=Paged&page=2"))
    assert "Paged 29" in second and "Paged 00" not in second


def test_360_page_shows_all_sections(logged_in, agent, make_customer, session):
    company = make_customer(agent, "Transport Co", tier="major")
    person = make_customer(agent, "王小明", phones=["13912345678"], tier="vip",
                           bill_to_id=company.id)
    session.add_all([
        InstalledProduct(model="Bus X", serial_number="SN-OK", customer_id=person.id,
                         warranty_end=date.today() + timedelta(days=400)),
        InstalledProduct(model="Bus Y", serial_number="SN-OLD", customer_id=person.id,
                         warranty_end=date.today() - timedelta(days=3)),
    ])
    session.flush()
    page = text(logged_in.get(f"/customers/{person.id}"))
    assert "王小明" in page
    assert "badge--tier-vip" in page and "★" in page
    assert "Same as sold-to" in page  # ship-to left at its default
    assert "Transport Co" in page     # bill-to and payer
    assert "139 1234 5678" in page and "+86 139" not in page  # national at home
    assert "In warranty" in page and "Warranty expired" in page
    for section in ("Contacts", "Addresses", "Installed products", "Calls", "Tickets",
                    "Change history"):
        assert section in page, section


def test_out_of_scope_customer_is_404(logged_in, make_user, make_customer):
    stranger = make_user("agent", department="Service/Shanghai")
    theirs = make_customer(stranger, "Not yours")
    for url in (f"/customers/{theirs.id}", f"/customers/{theirs.id}/edit",
                f"/customers/{theirs.id}/history", f"/customers/{theirs.id}/contacts/new"):
        response = logged_in.get(url)
        assert response.status_code == 404, url
        assert "Not yours" not in text(response)
    assert post(logged_in, f"/customers/{theirs.id}/edit", {"name": "x"}).status_code == 404
    page = text(logged_in.get("/customers/?q=Not+yours"))
    assert f'href="/customers/{theirs.id}"' not in page and "0 customers" in page
    assert logged_in.get("/customers/999999").status_code == 404


# --- forms ------------------------------------------------------------------------------

def _count(session, name):
    return session.scalar(select(func.count()).select_from(Customer)
                          .where(Customer.name == name))


def test_create_customer(logged_in, session):
    response = post(logged_in, "/customers/new", {
        "name": "李四", "phones": "+86 138 0000 1111\n010-6234 5678 ext. 12",
        "lifecycle": "current", "tier": "vip", "responsible_id": "", "department_id": ""})
    assert response.status_code == 302, text(response)
    customer = session.scalar(select(Customer).where(Customer.name == "李四"))
    assert response.headers["Location"] == f"/customers/{customer.id}"
    page = text(logged_in.get(response.headers["Location"]))
    assert "Customer 李四 created." in page and "010 6234 5678 ext. 12" in page


def test_form_shows_field_errors_and_stores_nothing(logged_in, session):
    response = post(logged_in, "/customers/new", {"name": "", "email": "not-an-email",
                                                  "lifecycle": "current", "tier": "vip"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="name-error"' in page and "This field is required" in page
    assert 'id="email-error"' in page
    assert 'aria-invalid="true"' in page

    response = post(logged_in, "/customers/new", {
        "name": "Bad Phone Ltd", "phones": "13812345678\nnot a phone",
        "lifecycle": "current", "tier": "vip"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="phones-error"' in page and "line 2" in page and "not a valid phone" in page
    assert _count(session, "Bad Phone Ltd") == 0


def test_payer_must_equal_bill_to(logged_in, agent, make_customer, session):
    a = make_customer(agent, "Payer A")
    b = make_customer(agent, "Payer B")
    response = post(logged_in, "/customers/new", {
        "name": "Split Finance", "lifecycle": "current", "tier": "ordinary",
        "bill_to_id": str(a.id), "payer_id": str(b.id)})
    assert response.status_code == 422
    assert 'id="payer_id-error"' in text(response)
    assert _count(session, "Split Finance") == 0
    # Leaving the payer empty makes it follow the bill-to.
    response = post(logged_in, "/customers/new", {
        "name": "Joint Finance", "lifecycle": "current", "tier": "ordinary",
        "bill_to_id": str(a.id)})
    assert response.status_code == 302
    joint = session.scalar(select(Customer).where(Customer.name == "Joint Finance"))
    assert joint.bill_to_id == joint.payer_id == a.id


def test_partner_outside_scope_is_treated_as_missing(logged_in, make_user, make_customer):
    stranger = make_user("agent", department="Service/Shanghai")
    hidden = make_customer(stranger, "Hidden partner")
    response = post(logged_in, "/customers/new", {
        "name": "Probe", "lifecycle": "current", "tier": "ordinary",
        "ship_to_id": str(hidden.id)})
    assert response.status_code == 422
    assert 'id="ship_to_id-error"' in text(response)
    assert "Hidden partner" not in text(response)


def test_edit_records_history(logged_in, agent, make_customer, session):
    customer = make_customer(agent, "Old Name", phones=["13812345678"])
    form = text(logged_in.get(f"/customers/{customer.id}/edit"))
    assert 'value="Old Name"' in form and "13812345678" in form
    response = logged_in.post(f"/customers/{customer.id}/edit", data={
        "csrf_token": csrf_token(form), "name": "New Name", "phones": "13812345678",
        "lifecycle": "current", "tier": "major", "responsible_id": str(agent.id),
        "department_id": str(agent.department_id)})
    assert response.status_code == 302, text(response)
    session.expire_all()
    assert session.get(Customer, customer.id).name == "New Name"
    fields = set(session.scalars(select(ChangeRecord.field)
                                 .where(ChangeRecord.customer_id == customer.id)))
    assert {"name", "tier", "lifecycle"} <= fields
    history = text(logged_in.get(f"/customers/{customer.id}/history"))
    assert "Old Name" in history and "New Name" in history


def test_bad_phone_on_edit_changes_nothing(logged_in, agent, make_customer, session):
    customer = make_customer(agent, "Keep Me", phones=["13812345678"])
    response = post(logged_in, f"/customers/{customer.id}/edit", {
        "name": "Changed", "phones": "garbage", "lifecycle": "current", "tier": "vip"})
    assert response.status_code == 422
    session.expire_all()
    assert session.get(Customer, customer.id).name == "Keep Me"


def test_hostile_input_is_escaped(logged_in, session):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = post(logged_in, "/customers/new", {"name": evil, "notes": evil,
                                                  "lifecycle": "current", "tier": "vip"})
    assert response.status_code == 302
    for url in (response.headers["Location"], "/customers/?q=script",
                response.headers["Location"] + "/history"):
        page = text(logged_in.get(url))
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page
    # ... and in a re-rendered form with errors.
    page = text(post(logged_in, "/customers/new", {"name": evil, "email": evil,
                                                   "lifecycle": "current", "tier": "vip"}))
    assert "<script>alert" not in page


def test_pages_have_no_inline_script_or_style(logged_in, agent, make_customer):
    customer = make_customer(agent, "CSP Check")
    for url in ("/customers/", f"/customers/{customer.id}", f"/customers/{customer.id}/edit"):
        response = logged_in.get(url)
        page = text(response)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "<style" not in page and " style=" not in page
        assert page.count("<script") == page.count('<script src="/static/')
        assert " onclick=" not in page


def test_add_contact_address_and_product(logged_in, agent, make_customer, session):
    customer = make_customer(agent, "Fleet Owner")
    url = f"/customers/{customer.id}"
    response = post(logged_in, url + "/contacts/new",
                    {"name": "赵六", "position": "Driver", "phones": "13711112222"})
    assert response.status_code == 302
    response = post(logged_in, url + "/addresses/new",
                    {"purpose": "service", "line": "朝阳路 1 号", "city": "北京",
                     "country": "cn"})
    assert response.status_code == 302, text(response)
    response = post(logged_in, url + "/products/new",
                    {"model": "Coach 12m", "serial_number": "VIN-001",
                     "warranty_type": "standard", "warranty_end": "2099-01-31"})
    assert response.status_code == 302, text(response)
    page = text(logged_in.get(url))
    assert "赵六" in page and "137 1111 2222" in page
    assert "朝阳路 1 号" in page and "VIN-001" in page and "In warranty" in page

    # The same serial twice is a field error, not a crash.
    response = post(logged_in, url + "/products/new",
                    {"model": "Coach", "serial_number": "VIN-001", "warranty_type": "none"})
    assert response.status_code == 422 and 'id="serial_number-error"' in text(response)
    response = post(logged_in, url + "/addresses/new", {"purpose": "main", "line": ""})
    assert response.status_code == 422 and 'id="line-error"' in text(response)


def test_assign_product_from_placeholder_to_real_end_user(logged_in, agent, make_customer,
                                                         session, make_user):
    branch = make_customer(agent, "Beijing Branch (placeholder)", is_placeholder=True)
    owner = make_customer(agent, "Real Owner", phones=["13655556666"])
    product = InstalledProduct(model="Old Bus", serial_number="OLD-1", customer_id=branch.id)
    session.add(product)
    session.flush()
    url = f"/customers/{branch.id}/products/{product.id}/assign"
    page = text(logged_in.get(url, query_string={"q": "136 5555 6666"}))
    assert "Real Owner" in page
    response = post(logged_in, url, {"new_customer_id": str(owner.id)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/customers/{owner.id}")
    session.expire_all()
    assert session.get(InstalledProduct, product.id).customer_id == owner.id
    # Out-of-scope target: looks like a missing customer, nothing moves.
    hidden = make_customer(make_user("agent", department="Elsewhere"), "Hidden")
    response = post(logged_in, f"/customers/{owner.id}/products/{product.id}/assign",
                    {"new_customer_id": str(hidden.id)})
    assert response.status_code == 422
    session.expire_all()
    assert session.get(InstalledProduct, product.id).customer_id == owner.id
    # The product must belong to the customer in the URL.
    assert logged_in.get(url).status_code == 404


# --- roles ------------------------------------------------------------------------------

def test_technician_sees_no_customer_write_buttons_and_gets_403(client, make_user,
                                                               make_customer, session):
    tech = make_user("technician", username="tom", scope="all")
    customer = make_customer(make_user("agent"), "Tech Visit")
    login(client, "tom")
    page = text(client.get(f"/customers/{customer.id}"))
    assert "Tech Visit" in page
    assert f"/customers/{customer.id}/edit" not in page
    assert "/customers/new" not in page and "Add contact" not in page
    assert "Register product" in page  # technicians record equipment found on site
    assert "Duplicates" not in page
    assert client.get(f"/customers/{customer.id}/edit").status_code == 403
    assert post(client, f"/customers/{customer.id}/edit", {"name": "x"}).status_code == 403
    assert post(client, "/customers/new", {"name": "x"}).status_code == 403
    assert tech.role.value == "technician"


def test_agent_and_supervisor_buttons(client, make_user, make_customer):
    make_user("agent", username="ann", scope="all")
    make_user("supervisor", username="sue", scope="all")
    customer = make_customer(make_user("agent"), "Buttons Inc")
    login(client, "ann")
    page = text(client.get(f"/customers/{customer.id}"))
    assert f"/customers/{customer.id}/edit" in page and "Add contact" in page
    assert "/customers/duplicates" not in page
    assert client.get("/customers/duplicates").status_code == 403
    post(client, "/logout")
    login(client, "sue")
    page = text(client.get(f"/customers/{customer.id}"))
    assert "/customers/duplicates" in page


# --- duplicates and merge ----------------------------------------------------------------

def test_duplicates_list_and_merge(client, make_user, make_customer, session):
    sup = make_user("supervisor", username="sam", scope="all")
    a = make_customer(sup, "华通汽车有限公司", phones=["13812345678"])
    b = make_customer(sup, "华通汽车", phones=["+86 138 1234 5678"])
    session.add(InstalledProduct(model="M", serial_number="DUP-1", customer_id=b.id))
    session.flush()
    login(client, "sam")
    page = text(client.get("/customers/duplicates"))
    assert "华通汽车有限公司" in page and "same phone number" in page
    assert "Possible duplicates" in text(client.get(f"/customers/{a.id}"))
    compare = client.get(f"/customers/merge?survivor_id={a.id}&merged_id={b.id}")
    assert compare.status_code == 200 and "data-confirm" in text(compare)
    response = client.post("/customers/merge", data={
        "csrf_token": csrf_token(text(compare)), "survivor_id": a.id, "merged_id": b.id})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Customer, b.id).merged_into_id == a.id
    assert session.scalar(select(InstalledProduct.customer_id)
                          .where(InstalledProduct.serial_number == "DUP-1")) == a.id
    # The merged record's page leads to the survivor.
    response = client.get(f"/customers/{b.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/customers/{a.id}"
    # The merged record is history now: no more edits to it.
    assert client.get(f"/customers/{b.id}/edit").status_code == 404
    # Merging again is refused with a message, not a crash.
    response = client.post("/customers/merge", data={
        "csrf_token": csrf_token(text(compare)), "survivor_id": a.id, "merged_id": b.id})
    assert response.status_code == 422 and "already merged" in text(response)


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert response.is_json


def test_home_goes_to_search(logged_in):
    response = logged_in.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/customers/"


def test_field_errors_in_chinese(client, agent, make_customer):
    other = make_customer(agent, "Bill-to Co")
    login(client, "alice", language="zh_CN")
    page = text(post(client, "/customers/new", {
        "name": "", "lifecycle": "current", "tier": "ordinary", "ship_to_id": "abc",
        "phones": "13812345678\n123"}))
    assert "该字段是必填字段" in page          # WTForms' own message, translated
    assert "第 2 行" in page and "不是有效的电话号码" in page  # the service's rule, translated
    page = text(post(client, "/customers/new", {
        "name": "张", "lifecycle": "current", "tier": "ordinary", "bill_to_id": str(other.id),
        "payer_id": "999999"}))
    assert "没有您可查看的客户编号 999999" in page
