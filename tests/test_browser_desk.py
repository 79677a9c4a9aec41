"""The agent desk in headless Chromium: pops arrive over Socket.IO from events published
through Redis (as the bridge publishes them), hostile caller text stays text, a
dismissed call goes, an ended call becomes the wrap-up form, a reload shows the same
calls again (the snapshot).
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.core.display import date_text, datetime_text, time_text
from callcenter.customers.services import add_contact, create_customer
from callcenter.db import make_engine
from callcenter.products.models import InstalledProduct
from callcenter.realtime.publish import AgentEventPublisher
from callcenter.users.services import create_user, ensure_department

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-123"
HOSTILE = "<img src=x onerror=alert(1)>"
WARRANTY_END = date.today() + timedelta(days=300)


def _seed(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            user = create_user(session, username="li", password=PASSWORD, role="agent",
                               department="Service/Beijing", display_name="李娜",
                               interface="PJSIP/1001", locale="en")
            customer = create_customer(session, user, {
                "name": "北京华通汽车运输有限公司", "phones": ["13812345678"],
                "tier": "vip", "lifecycle": "current"}, region="CN")
            add_contact(session, user, customer, {"name": "张伟", "position": "车队经理",
                                                  "phones": ["010-6234 5678"]}, region="CN")
            session.add(InstalledProduct(model="HT6120 城市客车",
                                         serial_number="LZYTBGCL5K1000001",
                                         customer_id=customer.id,
                                         warranty_end=date.today() + timedelta(days=300)))
            session.add(PbxQueue(name="support",
                                 department_id=ensure_department(session, "Service").id))
            # The defect library knows a defect of the caller's bus: the pop suggests it.
            from kb.items import create_item
            create_item(session, None, {"title": "HT6120 车门气泵故障", "kind": "defect",
                                        "status": "published", "symptom": "车门关不上",
                                        "models": ["HT6120 城市客车"]})
            session.commit()
            return user.id, customer.id
    finally:
        engine.dispose()


@pytest.fixture
def desk_server(backend, fresh_database, tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    url = fresh_database.create(backend)
    user_id, customer_id = _seed(url)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="browser-desk-secret-key")) as live:
        yield live.base, user_id, customer_id, live.app


def _known_caller(customer_id: int) -> dict:
    return {
        "call_id": "1795455872.8", "ami_read_at": time.time(),
        "caller": {"number": "013812345678", "name": "ZHANG SAN", "e164": "+8613812345678",
                   "display": "138 1234 5678"},
        "customer": {
            "id": customer_id, "name": "北京华通汽车运输有限公司", "tier": "vip",
            "url": f"/customers/{customer_id}",
            "contacts": [{"name": "张伟", "position": "车队经理",
                          "phones": [{"display": "010 6234 5678", "number": "+861062345678"}]}],
            "products": [{"model": "HT6120 城市客车", "serial_number": "LZYTBGCL5K1000001",
                          "warranty_state": "in_warranty",
                          "warranty_end": WARRANTY_END.isoformat()}],
            "open_tickets": [],
            "last_calls": [{"started_at": "2026-11-20T09:15:00+08:00", "queue": "support",
                            "outcome": "answered", "disposition": "resolved"}]},
        "queue": "support", "wait_s": 3.2, "interface": "PJSIP/1001",
        "reason": None, "outcome": None, "talk_s": None}


def _hostile_caller() -> dict:
    return {"call_id": "1795455880.12", "ami_read_at": time.time(),
            "caller": {"number": "15011112222", "name": HOSTILE, "e164": "+8615011112222",
                       "display": "150 1111 2222"},
            "customer": None, "queue": "repairs", "wait_s": 0.5, "interface": "PJSIP/1001",
            "reason": None, "outcome": None, "talk_s": None}


def test_pops_arrive_live_stay_text_and_turn_into_the_wrap_up(desk_server, browser, tmp_path,
                                                             backend, redis_url):
    from playwright.sync_api import expect

    base, user_id, customer_id, app = desk_server
    publisher = AgentEventPublisher(redis.Redis.from_url(redis_url), redis_url)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []  # CSP violations and script errors show up here
    dialogs: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(base + "/login?next=/desk")
    page.get_by_label("Username").fill("li")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Agent desk")).to_be_visible()
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    expect(page.get_by_text("No calls right now.")).to_be_visible()
    banner = page.locator("[data-conn-banner]")
    expect(banner).to_be_hidden()

    # The server drops the connection (a restart, say): the banner says so, then that
    # it is back.
    sio = app.extensions["socketio"]
    for sid in app.extensions["realtime_connections"].sids(user_id):
        sio.server.disconnect(sid)
    expect(banner).to_contain_text("The live connection is down")
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "offline")
    expect(banner).to_contain_text("The live connection is back", timeout=10000)
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")

    # A known VIP caller rings: the pop, without a page load.
    publisher.publish(user_id, "call.ringing", _known_caller(customer_id))
    pops = page.locator("[data-pops] > li")
    known = page.locator('[data-call-id="1795455872.8"]')
    expect(known.get_by_role("heading", name="北京华通汽车运输有限公司")).to_be_visible()
    expect(known.locator(".pop__state")).to_have_text("☎ Ringing")
    expect(known.locator(".badge--tier-vip")).to_have_text("★VIP")
    # Shown as every page shows it (static/js/display.js, callcenter/core/display.py):
    # the number national at home, dates in the page's language and the center's zone;
    # what the PBX sent (a trunk prefix here) only on hover.
    number = known.locator("[data-pop-number]")
    expect(number).to_have_text("138 1234 5678")
    expect(number).to_have_attribute("title", "As the PBX sent it: 013812345678")
    expect(known.get_by_text("013812345678")).to_have_count(0)
    expect(known.get_by_text("010 6234 5678")).to_be_visible()
    zone = ZoneInfo("Asia/Shanghai")
    expect(known.get_by_text(
        "until " + date_text(WARRANTY_END, "en", zone), exact=True)).to_be_visible()
    started = datetime_text("2026-11-20T09:15:00+08:00", "en", zone)
    assert started == "Nov 20, 2026, 09:15"
    expect(known.get_by_text(started, exact=True)).to_be_visible()
    expect(known.get_by_text("support", exact=True)).to_be_visible()
    expect(known.get_by_text("LZYTBGCL5K1000001")).to_be_visible()
    expect(known.get_by_text("In warranty")).to_be_visible()
    expect(known.get_by_text("张伟")).to_be_visible()
    expect(known.get_by_text("No open tickets")).to_be_visible()
    suggested = known.locator("[data-pop-suggestions]")
    expect(suggested).to_contain_text("Suggested answers")
    expect(suggested.get_by_role("link", name="HT6120 车门气泵故障")).to_have_attribute(
        "target", "_blank")
    expect(known.get_by_text("support · Answered · Resolved")).to_be_visible()
    open_link = known.get_by_role("link", name="Open the customer (360°)")
    expect(open_link).to_have_attribute("href", f"/customers/{customer_id}")
    expect(open_link).to_have_attribute("target", "_blank")
    expect(page.locator("[data-pops-count]")).to_have_text("1 call")

    # An unknown caller with a hostile name: text, newest on top.
    publisher.publish(user_id, "call.ringing", _hostile_caller())
    hostile = page.locator('[data-call-id="1795455880.12"]')
    expect(hostile.get_by_role("heading", name=HOSTILE)).to_be_visible()
    expect(pops).to_have_count(2)
    expect(pops.first).to_have_attribute("data-call-id", "1795455880.12")
    assert page.locator("[data-pops] img").count() == 0
    create = hostile.get_by_role("link", name="Create a customer with this number")
    expect(create).to_have_attribute("href", "/customers/new?q=15011112222")
    page.screenshot(path=str(tmp_path / f"desk-pops-{backend}.png"), full_page=True)

    # Keyboard: "a" opens the top pop's action (here: create the customer) in a new tab.
    with context.expect_page() as new_tab:
        page.locator("h1").click()
        page.keyboard.press("a")
    created = new_tab.value
    created.wait_for_load_state()
    assert created.url == f"{base}/customers/new?q=15011112222"
    expect(created.get_by_label("Phone numbers")).to_have_value("15011112222")
    created.close()

    # Someone else answered the unknown caller: that pop goes.
    publisher.publish(user_id, "call.dismissed", {**_hostile_caller(),
                                                  "reason": "answered_elsewhere"})
    expect(hostile).to_have_count(0)
    expect(pops).to_have_count(1)

    publisher.publish(user_id, "call.answered", _known_caller(customer_id))
    expect(known.locator(".pop__state")).to_have_text("✆ Answered")
    publisher.publish(user_id, "call.ended", {**_known_caller(customer_id), "reason": "hangup",
                                              "talk_s": 95.0})
    expect(known.locator(".pop__state")).to_have_text("✎ Call ended")
    expect(known.get_by_text("1:35")).to_be_visible()
    disposition = known.get_by_label("Disposition")
    expect(disposition).to_be_visible()
    page.screenshot(path=str(tmp_path / f"desk-wrapup-{backend}.png"), full_page=True)

    # A reload: the snapshot brings the same call back, still waiting for its wrap-up.
    page.reload()
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    expect(pops).to_have_count(1)
    expect(known.get_by_label("Disposition")).to_be_visible()

    # Save: JSON with the CSRF header to the wrap-up API (answered here by the test).
    posted: list[dict] = []

    def wrapup(route):
        posted.append({"url": route.request.url, "headers": route.request.headers,
                       "body": json.loads(route.request.post_data)})
        route.fulfill(status=200, content_type="application/json", body='{"ok": true}')

    page.route("**/api/v1/calls/*/wrapup", wrapup)
    known.get_by_role("button", name="Save").click()
    expect(known.get_by_text("Choose a disposition.")).to_be_visible()
    known.get_by_label("Disposition").select_option("callback")
    known.get_by_label("Note").fill("Wants a technician on Monday; 客户要求周一上门")
    known.get_by_role("button", name="Save").click()
    expect(pops).to_have_count(0)
    assert posted[0]["url"] == f"{base}/api/v1/calls/1795455872.8/wrapup"
    assert posted[0]["body"] == {"disposition": "callback",
                                 "notes": "Wants a technician on Monday; 客户要求周一上门"}
    assert posted[0]["headers"].get("x-csrftoken")

    assert not dialogs, dialogs
    assert not problems, problems
    context.close()


def test_status_control_shows_the_bridge_not_answering(desk_server, browser, tmp_path):
    from playwright.sync_api import expect

    base, _user_id, _customer_id, _app = desk_server
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/login?next=/desk")
    page.get_by_label("Username").fill("li")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="坐席工作台")).to_be_visible()
    # The page's one date module shows what the server shows, in Chinese.
    shown = page.evaluate("""() => import("/static/js/display.js").then((m) => [
        m.formatDateTime("2026-11-20T01:15:00Z"), m.formatDate("2027-03-01"),
        m.formatTime(1795455872)])""")
    zone = ZoneInfo("Asia/Shanghai")
    assert shown == ["2026-11-20 09:15", "2027-03-01", time_text(1795455872, "zh_CN", zone)]
    # Sound off is remembered (localStorage) across page loads. The modules bind the
    # settings before the live link goes up: once live, a change is stored (under load a
    # click that came earlier was lost).
    expect(page.locator("[data-live-indicator]")).to_have_text("实时")
    page.get_by_label("播放提示音").uncheck()
    page.reload()
    expect(page.get_by_label("播放提示音")).not_to_be_checked()
    expect(page.get_by_label("显示浏览器通知")).to_be_checked()
    expect(page.locator("[data-live-indicator]")).to_have_text("实时")
    # Nobody answers on cc:bridge:commands here: the control says so (after 5 s).
    page.get_by_role("radio", name="暂停", exact=True).check()
    page.get_by_label("暂停原因").select_option("lunch")
    page.get_by_role("button", name="更改状态").click()
    expect(page.get_by_role("alert")).to_contain_text("电话网关没有响应", timeout=15000)
    page.screenshot(path=str(tmp_path / "desk-status-zh.png"), full_page=True)
    context.close()
