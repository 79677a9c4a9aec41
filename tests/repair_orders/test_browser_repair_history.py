"""A repair order's history in headless Chromium against a live server, in English and
Chinese at 1280 and 390 wide: the settlement's note reads as words with the bill-to's
name and the amount as money (never ``payable_by_customer 0.00; bill_to 4``), and the
history runs off to no side.

Screenshots go to $REPAIR_SHOTS (default: the test's tmp dir): look at them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from live_server import live_app, settled
from page_checks import OVERFLOW
from sheet_support import CUSTOMER, seed_order
from sqlalchemy.orm import Session

from callcenter.config import load_settings
from callcenter.customers.models import Customer
from callcenter.customers.services import create_customer
from callcenter.db import make_engine
from callcenter.users.services import create_user

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "browser-pass-123"
SIZES = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}
BILL_TO = "张三"
#: What the settlement row's note says, per language: 2.5 h at 80.00 and the belt the
#: seed issued (86.50), out of warranty, billed to a partner, paid by the customer.
SETTLEMENT = {"en": f"Payable by customer: 286.50; billed to: {BILL_TO}; payer: {CUSTOMER}",
              "zh": f"客户承担：286.50；开票给：{BILL_TO}；付款方：{CUSTOMER}"}


def _seed(url: str, settings) -> dict:
    from repairs.models import RepairOrder, RepairStatus
    from repairs.orders import record_work
    from repairs.transitions import move_order

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            lead = create_user(session, username="lead", password=PASSWORD,
                               role="supervisor", department="Service",
                               display_name="李主管", locale="en")
            admins = [create_user(session, username=name, password=PASSWORD, role="admin",
                                  department="Service", display_name="王经理", locale=locale)
                      for name, locale in (("boss", "en"), ("laoban", "zh_CN"))]
            tech = create_user(session, username="wang", password=PASSWORD,
                               role="technician", department="Service/Stations",
                               display_name="王师傅", locale="zh_CN")
            ids = seed_order(session, lead, tech, settings=settings)
            order = session.get(RepairOrder, ids["order"])
            partner = create_customer(session, lead, {"name": BILL_TO}, region="CN")
            session.get(Customer, order.customer_id).bill_to_id = partner.id
            order.in_warranty = False
            rules = replace(settings, repair_labour_rate=Decimal("80.00"))
            record_work(session, lead, order, version=order.version, labour_hours="2.5")
            order.status = RepairStatus.INSPECTION
            session.flush()
            move_order(session, admins[0], order, to=RepairStatus.SETTLEMENT,
                       version=order.version, settings=rules)
            session.commit()
            return ids
    finally:
        engine.dispose()


@pytest.fixture
def server(backend, fresh_database, tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    url = fresh_database.create(backend)
    settings = load_settings({"CALLCENTER_INSTANCE": str(tmp_path / "instance"),
                              "DATABASE_URL": url, "REDIS_URL": redis_url,
                              "SECRET_KEY": "browser-repair-history-secret"})
    ids = _seed(url, settings)
    with live_app(settings) as live:
        yield live.base, ids


# The page looks the same on either database: one run.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_history_in_both_languages_at_1280_and_390(server, browser, tmp_path):
    base, ids = server
    shots = Path(os.environ.get("REPAIR_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    overflow: dict[str, list[str]] = {}
    for user, lang in (("boss", "en"), ("laoban", "zh")):
        ctx = browser.new_context(locale="en-US" if lang == "en" else "zh-CN",
                                  viewport=SIZES["1280"])
        page = ctx.new_page()
        page.goto(f"{base}/login?next=/repairs/{ids['order']}")
        page.locator("input[name=username]").fill(user)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url(lambda url: "/login" not in url)
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.goto(f"{base}/repairs/{ids['order']}#history")
            settled(page)
            history = page.locator("#history")
            words = history.inner_text()
            assert SETTLEMENT[lang] in words, words
            assert "payable_by_customer" not in words and "bill_to" not in words
            found = page.evaluate(OVERFLOW)
            if found:
                overflow[f"{lang} {size}"] = found
            history.scroll_into_view_if_needed()
            history.screenshot(path=str(shots / f"repair-history-{lang}-{size}.png"))
            page.screenshot(path=str(shots / f"repair-page-{lang}-{size}.png"), full_page=True)
        ctx.close()
    assert overflow == {}
