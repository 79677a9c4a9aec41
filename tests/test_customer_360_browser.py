"""The customer's 360° page in headless Chromium, on a customer as the demo has them (calls
with wrap-ups, open and resolved tickets, products in and out of warranty, contacts,
addresses, a history of edits), in Chinese and English at 1280, 1440 and 390 px:

- the timeline's top is above the fold of a 1280x800 window;
- nothing runs off to the side, and no table cell, badge or heading is squeezed under
  two characters' width (checked in the page, with the folded parts opened too);
- the master data is folded and opens (by click and by its key), and the keys work,
  but not while typing in a field;
- the change history reads in names;

and the screens go to $CUSTOMER_SHOTS (default: the test's tmp dir) to be looked at."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from live_server import browser_login, live_app, live_settings
from page_checks import OVERFLOW as _OVERFLOW
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome
from callcenter.customers.addresses import add_address
from callcenter.customers.services import add_contact, create_customer, update_customer
from callcenter.db import make_engine
from callcenter.products.services import register_product
from callcenter.users.services import create_user, ensure_department
from tickets.models import TicketStatus
from tickets.services import create_ticket

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "customer-360-pass-1"
WAIT_MS = 15_000
NOTES = ["客户反映空调不制冷，已指导检查滤网并预约明天上门，客户同意，备注：请带压缩机皮带。",
         "前门关不严，司机说雨天漏水。已建工单，等待站点排期。", ""]


def _seed(url: str, settings) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            admin = create_user(session, username="admin_en", password=PASSWORD, role="admin",
                                locale="en", display_name="Admin Li")
            create_user(session, username="admin_zh", password=PASSWORD, role="admin",
                        locale="zh_CN", display_name="管理员")
            agent = create_user(session, username="agent_zh", password=PASSWORD, role="agent",
                                department="客服中心/北京热线", display_name="王芳",
                                locale="zh_CN", interface="Local/agent1@agents/n")
            colleague = create_user(session, username="liu", password=PASSWORD, role="agent",
                                    department="客服中心/北京热线", display_name="刘洋")
            fleet = create_customer(session, admin, {"name": "华通车队管理有限公司"}, region="CN")
            customer = create_customer(session, admin, {
                "name": "北京华通汽车服务有限公司", "phones": ["13812345678", "010-62345678"],
                "tier": "vip", "lifecycle": "current", "region": "北京", "industry": "客运",
                "tax_id": "91110105MA01ABCD2X", "email": "service@huatong.example",
                "notes": "车队 120 台，夜间值班电话见联系人。"}, region="CN")
            update_customer(session, admin, customer, {
                "responsible_id": agent.id, "related_user_ids": [colleague.id],
                "ship_to_id": fleet.id,
                "department_id": ensure_department(session, "客服中心/北京热线").id},
                region="CN")
            for name, position, phone in (("张伟", "车队经理", "13900001111"),
                                          ("Tom Li", "Fleet engineer", "010-62345678 ext. 12")):
                add_contact(session, admin, customer, {"name": name, "position": position,
                                                       "phones": [phone]}, region="CN")
            add_address(session, admin, customer, {"purpose": "service", "province": "北京市",
                                                   "city": "朝阳区",
                                                   "line": "酒仙桥路 10 号 华通车场"})
            today = date.today()
            for model, serial, end in (("HT6120 城市客车", "LZYTBGCL5K1000001", 300),
                                       ("HT6890 旅游客车", "LZYTBGCL5K1000002", 12),
                                       ("HT6600 校车", "LZYTBGCL5K1000003", -40)):
                register_product(session, admin, customer, {
                    "model": model, "serial_number": serial,
                    "warranty_end": today + timedelta(days=end),
                    "installed_on": today - timedelta(days=400)})
            now = datetime.now(UTC)
            for n in range(8):
                at = now - timedelta(hours=3 * n + 1)
                answered = n % 3 != 2
                session.add(CallRecord(
                    call_id=f"1796000{n:03d}.1", caller_number="13812345678",
                    caller_e164="+8613812345678", caller_name="张伟", customer_id=customer.id,
                    queue="support", agent_id=agent.id if answered else None,
                    agent_interface=agent.interface if answered else None,
                    outcome=Outcome.ANSWERED if answered else Outcome.ABANDONED,
                    started_at=at, answered_at=at + timedelta(seconds=12) if answered else None,
                    ended_at=at + timedelta(minutes=3), wait_s=12.0 if answered else 40.0,
                    talk_s=168.0 if answered else None,
                    disposition=("resolved", "ticket_needed", None)[n % 3],
                    wrapup_notes=NOTES[n % 3], wrapup_by_id=agent.id if answered else None,
                    wrapup_at=at + timedelta(minutes=4) if answered else None))
            for n, subject in enumerate(("前门关不严，雨天漏水", "空调不制冷", "仪表盘报警灯常亮")):
                ticket = create_ticket(session, admin, {
                    "type": "complaint", "subject": subject, "customer_id": customer.id,
                    "priority": "high" if n == 0 else "normal"},
                    settings=settings, now=now - timedelta(hours=3 * n + 2))
                if n == 2:
                    ticket.status = TicketStatus.RESOLVED
                    ticket.resolved_at = now - timedelta(hours=3)
            session.commit()
            return customer.id
    finally:
        engine.dispose()


@pytest.fixture
def site(fresh_database, tmp_path, redis_url):
    url = fresh_database.create("sqlite")
    settings = live_settings(tmp_path / "instance", url, redis_url, secret="customer-360-secret")
    customer_id = _seed(url, settings)
    with live_app(settings) as live:
        yield live.base, customer_id



#: Table cells, badges, headings and labels narrower than two characters of their own
#: font: where "小结" or "已解决" would stand one character per line.
_SQUEEZED = """() => {
  const out = [];
  for (const el of document.querySelectorAll(
      "main td, main th, main .badge, main h1, main h2, main h3, main dt, main summary")) {
    if (el.offsetParent === null || el.textContent.trim().length < 2) continue;
    const shut = el.closest("details:not([open])");
    if (shut && !el.closest("summary")) continue;
    const hidden = el.closest(".visually-hidden, thead");
    if (hidden && getComputedStyle(hidden).position === "absolute") continue;
    const style = getComputedStyle(el);
    const inner = el.getBoundingClientRect().width - parseFloat(style.paddingLeft) -
      parseFloat(style.paddingRight) - parseFloat(style.borderLeftWidth) -
      parseFloat(style.borderRightWidth);
    if (inner < 2 * parseFloat(style.fontSize) - 0.05) {
      out.push(el.tagName + " '" + el.textContent.trim().slice(0, 12) + "' " + Math.round(inner));
    }
  }
  return out.slice(0, 5);
}"""


def _check_layout(page, where) -> None:
    assert page.evaluate(_OVERFLOW) == [], where
    assert page.evaluate(_SQUEEZED) == [], where


def test_the_360_page_at_every_width_in_both_languages(site, browser, tmp_path):
    from playwright.sync_api import expect
    base, customer_id = site
    folder = Path(os.environ.get("CUSTOMER_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []   # CSP violations and script errors of every page below
    words = {"en": ("Partner functions", "Timeline"),
             "zh": ("合作伙伴职能", "时间线")}
    for username, lang in (("admin_en", "en"), ("admin_zh", "zh")):
        partners, timeline_word = words[lang]
        for width in (1280, 1440, 390):
            context, page = browser_login(browser, base, username, PASSWORD,
                                          {"width": width, "height": 800})
            page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"{base}/customers/{customer_id}")
            timeline = page.locator("#timeline")
            expect(timeline.get_by_role("heading", name=timeline_word)).to_be_visible()
            expect(page.locator("[data-wrapup-note]").first).to_contain_text("客户反映空调不制冷")
            page.screenshot(path=folder / f"{lang}-{width}-360.png")
            page.screenshot(path=folder / f"{lang}-{width}-360-full.png", full_page=True)
            if width == 1280:
                top = timeline.bounding_box()["y"]
                assert top < 800, (lang, top)                      # above the fold
                first_call = page.locator(".tl-all__item--call").first.bounding_box()
                assert first_call["y"] < 800, (lang, first_call)
            _check_layout(page, (lang, width, "folded"))

            # The master data is folded, and opens: by its key here, by a click below.
            master = page.locator("#master-data")
            expect(page.get_by_role("heading", name=partners)).to_be_hidden()
            assert master.evaluate("d => d.open") is False
            page.locator("h1").click()
            page.keyboard.press("m")
            expect(page.get_by_role("heading", name=partners)).to_be_visible()
            page.locator("#by-kind > summary").click()
            expect(page.locator(".calls-table")).to_be_visible()
            page.screenshot(path=folder / f"{lang}-{width}-360-open.png", full_page=True)
            _check_layout(page, (lang, width, "open"))
            page.keyboard.press("m")
            expect(page.get_by_role("heading", name=partners)).to_be_hidden()
            page.locator("#master-data > summary").click()
            expect(page.get_by_role("heading", name=partners)).to_be_visible()
            assert not problems, problems
            context.close()

    # The keys, as an agent with a keyboard uses them.
    context, page = browser_login(browser, base, "admin_en", PASSWORD,
                                  {"width": 1280, "height": 800})
    page.goto(f"{base}/customers/{customer_id}")
    expect(page.locator("#c360-keys")).to_be_visible()
    # Typing a letter into a field is typing, not a shortcut.
    page.evaluate("""() => { const f = document.createElement('input');
                             f.id = 'scratch'; document.querySelector('main').prepend(f); }""")
    page.locator("#scratch").press_sequentially("mht")
    assert page.locator("#master-data").evaluate("d => d.open") is False
    expect(page).to_have_url(f"{base}/customers/{customer_id}")
    page.keyboard.press("Escape")                 # leaves the field: the keys work again
    page.keyboard.press("h")
    expect(page).to_have_url(f"{base}/customers/{customer_id}/history")
    history = page.locator("main table")
    expect(history).to_contain_text("刘洋")                  # related employee, by name
    expect(history).to_contain_text("华通车队管理有限公司")     # ship-to, by name
    expect(history).to_contain_text("王芳")                  # responsible, by name
    page.screenshot(path=folder / "en-1280-history.png", full_page=True)
    _check_layout(page, ("en", 1280, "history"))
    page.go_back()
    page.keyboard.press("t")
    expect(page).to_have_url(f"{base}/tickets/new?customer_id={customer_id}")
    page.go_back()
    page.keyboard.press("e")
    expect(page).to_have_url(f"{base}/customers/{customer_id}/edit")
    context.close()

    # The history on a phone, in Chinese.
    context, page = browser_login(browser, base, "admin_zh", PASSWORD,
                                  {"width": 390, "height": 844})
    page.goto(f"{base}/customers/{customer_id}/history")
    expect(page.locator("main table")).to_contain_text("刘洋")
    page.screenshot(path=folder / "zh-390-history.png", full_page=True)
    _check_layout(page, ("zh", 390, "history"))
    context.close()
