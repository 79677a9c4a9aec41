"""The call log page (/calls) and the header in headless Chromium, in Chinese and English,
at desk widths (1280, 1440) and a phone's (390): nothing runs off to the side, the
header is one row wide at desk widths for an admin (the pages used now and then sit
under "More", which opens and closes), a filter narrows the list, and the screens go
to $CALLS_SHOTS (default: the test's tmp dir) to be looked at."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from live_server import browser_login, live_app, live_settings
from page_checks import OVERFLOW as _OVERFLOW
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Direction, Outcome
from callcenter.customers.services import create_customer
from callcenter.db import make_engine
from callcenter.users.services import create_user

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "calls-browser-pass-1"
WAIT_MS = 15_000
NOTE = "客户反映空调不制冷，已指导检查滤网并预约明天上门，客户同意，备注：请带压缩机皮带。"


@pytest.fixture
def site(fresh_database, tmp_path, redis_url):
    url = fresh_database.create("sqlite")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            admin = create_user(session, username="admin_en", password=PASSWORD,
                                role="admin", locale="en")
            create_user(session, username="admin_zh", password=PASSWORD, role="admin",
                        locale="zh_CN")
            agent = create_user(session, username="agent_zh", password=PASSWORD,
                                role="agent", department="客服中心/北京热线",
                                locale="zh_CN", interface="Local/agent1@agents/n")
            customer = create_customer(session, admin, {
                "name": "北京华通汽车服务有限公司", "phones": ["13812345678"],
                "tier": "vip"}, region="CN")
            start = datetime.now(UTC) - timedelta(hours=3)
            for n in range(30):
                at = start + timedelta(minutes=5 * n)
                answered = n % 4 != 3
                session.add(CallRecord(
                    call_id=f"1795455{n:03d}.1", caller_number="13812345678",
                    caller_e164="+8613812345678", caller_name="Zhang San",
                    customer_id=customer.id if n % 2 == 0 else None, queue="support",
                    agent_id=agent.id if answered else None,
                    agent_interface=agent.interface if answered else None,
                    outcome=Outcome.ANSWERED if answered else Outcome.ABANDONED,
                    started_at=at, answered_at=at + timedelta(seconds=12) if answered else None,
                    ended_at=at + timedelta(minutes=3), wait_s=12.0 if answered else 40.0,
                    talk_s=168.0 if answered else None,
                    disposition="resolved" if answered and n % 3 == 0 else None,
                    wrapup_notes=NOTE if answered and n % 3 == 0 else "",
                    wrapup_by_id=agent.id if answered and n % 3 == 0 else None,
                    wrapup_at=at + timedelta(minutes=4) if answered and n % 3 == 0 else None))
            # the newest two: the agent's click-to-dials (answered; busy)
            for n, outcome in ((30, Outcome.ANSWERED), (31, Outcome.BUSY)):
                at = start + timedelta(minutes=5 * n)
                session.add(CallRecord(
                    call_id=f"1795455{n:03d}.1", caller_number="13812345678",
                    caller_e164="+8613812345678", caller_name="北京华通汽车服务有限公司",
                    customer_id=customer.id, direction=Direction.OUTBOUND,
                    agent_id=agent.id, agent_interface=agent.interface,
                    agents=[agent.interface], outcome=outcome, started_at=at,
                    answered_at=at + timedelta(seconds=8) if n == 30 else None,
                    ended_at=at + timedelta(minutes=2),
                    talk_s=112.0 if n == 30 else None))
            session.commit()
    finally:
        engine.dispose()
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="calls-browser-secret")) as live:
        yield live.base


def _log_in(browser, base: str, username: str, width: int, height: int = 900):
    return browser_login(browser, base, username, PASSWORD,
                         {"width": width, "height": height})




def test_the_call_log_and_the_header_at_every_width(site, browser, tmp_path):
    from playwright.sync_api import expect
    folder = Path(os.environ.get("CALLS_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    for username, lang in (("admin_en", "en"), ("admin_zh", "zh")):
        for width in (1280, 1440, 390):
            context, page = _log_in(browser, site, username, width)
            page.goto(f"{site}/calls/")
            expect(page.locator("[data-calls] tbody tr").first).to_be_visible(timeout=WAIT_MS)
            page.screenshot(path=folder / f"{lang}-{width}-calls.png", full_page=True)
            assert page.evaluate(_OVERFLOW) == [], (lang, width)
            outbound = page.locator("[data-direction='outbound']")
            expect(outbound).to_have_count(2)
            expect(outbound.first).to_have_text({"en": "Outbound", "zh": "呼出"}[lang])
            expect(page.locator("[data-direction='inbound']").first).to_have_text(
                {"en": "Inbound", "zh": "呼入"}[lang])
            if width > 1000:
                header = page.locator(".site-header__inner").bounding_box()
                assert header["height"] < 80, (lang, width, header)   # one row
                page.locator("[data-nav-more] summary").click()
                users = page.locator("[data-nav-more] a[href='/admin/users']")
                expect(users).to_be_visible()
                page.screenshot(path=folder / f"{lang}-{width}-more.png")
                page.locator("h1").click()
                expect(users).to_be_hidden()
            context.close()
    # an agent narrows the log to the calls not wrapped up yet
    context, page = _log_in(browser, site, "agent_zh", 1280)
    page.goto(f"{site}/calls/")
    page.locator("#f-disposition").select_option("none")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("[data-calls] tbody tr").first).to_be_visible(timeout=WAIT_MS)
    assert page.locator(".cl-wrapup__note").count() == 0
    page.screenshot(path=folder / "zh-1280-calls-filtered.png", full_page=True)
    context.close()


def test_agents_without_calls_see_an_empty_log(site, browser):
    from playwright.sync_api import expect
    context, page = _log_in(browser, site, "agent_zh", 390, 844)
    page.goto(f"{site}/calls/?since=2000-01-01&until=2000-01-02")
    expect(page.locator(".empty")).to_be_visible(timeout=WAIT_MS)
    context.close()
