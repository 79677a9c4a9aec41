"""Headless Chromium through the real UI: log in, find a customer by a phone number typed
in another format than stored, open the 360° page, switch language.

A live server (werkzeug, background thread) serves a freshly migrated database holding
committed data, on each backend.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.customers.services import add_contact, create_customer
from callcenter.db import make_engine
from callcenter.products.models import InstalledProduct
from callcenter.users.services import create_user

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-123"


def _seed(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            user = create_user(session, username="wang", password=PASSWORD, role="agent",
                               department="Service/Beijing", display_name="王芳",
                               locale="en")
            customer = create_customer(session, user, {
                "name": "北京华通汽车运输有限公司", "phones": ["13812345678"],
                "tier": "vip", "lifecycle": "current", "region": "北京",
                "tax_id": "91110105MA01ABCD2X"}, region="CN")
            add_contact(session, user, customer, {"name": "张伟", "position": "车队经理",
                                                  "phones": ["010-6234 5678 ext. 12"]}, region="CN")
            session.add(InstalledProduct(model="HT6120 城市客车", serial_number="LZYTBGCL5K1000001",
                                         customer_id=customer.id,
                                         warranty_end=date.today() + timedelta(days=300),
                                         installed_on=date.today() - timedelta(days=65)))
            session.commit()
            return customer.id
    finally:
        engine.dispose()


@pytest.fixture
def live_server(backend, fresh_database, tmp_path, redis_url):
    url = fresh_database.create(backend)
    customer_id = _seed(url)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="browser-test-secret-key")) as live:
        yield live.base, customer_id


def test_login_search_by_phone_open_360_and_switch_language(live_server, browser, tmp_path,
                                                            backend):
    from playwright.sync_api import expect

    base, customer_id = live_server
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []  # CSP violations and script errors show up here
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(base + "/customers/")
    expect(page).to_have_url(f"{base}/login?next=%2Fcustomers%2F")
    page.get_by_label("Username").fill("wang")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()

    # Stored as 13812345678; typed the way it is printed on a business card.
    page.get_by_label("Find a customer").fill("+86 138 1234 5678")
    page.get_by_label("Find a customer").press("Enter")
    result = page.get_by_role("link", name="北京华通汽车运输有限公司")
    expect(result).to_be_visible()
    result.click()

    expect(page).to_have_url(f"{base}/customers/{customer_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("北京华通汽车运输有限公司")
    expect(page.get_by_text("Installed products", exact=True)).to_be_visible()
    expect(page.get_by_text("LZYTBGCL5K1000001")).to_be_visible()
    expect(page.get_by_text("In warranty")).to_be_visible()
    expect(page.get_by_text("张伟")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"360-en-{backend}.png"), full_page=True)

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="已安装设备")).to_be_visible()
    page.locator("#master-data > summary").click()    # the master data is folded
    expect(page.get_by_role("heading", name="合作伙伴职能")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(f"{base}/customers/{customer_id}")
    page.screenshot(path=str(tmp_path / f"360-zh-{backend}.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Installed products")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Phone-sized: the menu folds behind a button and the page still reads top to bottom.
    page.set_viewport_size({"width": 390, "height": 844})
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.locator("#site-menu").get_by_role("link", name="Customers")).to_be_hidden()
    menu.click()
    expect(page.locator("#site-menu").get_by_role("link", name="Customers")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"360-phone-{backend}.png"), full_page=True)

    assert not problems, problems
    context.close()
