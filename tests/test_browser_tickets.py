"""Tickets in headless Chromium against a live server: a call pops on the agent's desk
(published through Redis as the bridge does), the agent opens a ticket from the pop in
a new tab with everything filled in, the supervisor's wallboard (already open) shows it
without a reload (the real ``ticket.changed`` event makes the panel re-fetch), and the
ticket breaching and escalating shows on the panel and as a banner.

Screenshots (English and Chinese, desk and phone width) of every ticket screen go to
$TICKET_SHOTS (default: the test's tmp dir). On SQLite only: the browser part is the same
on both databases, and what the flow writes is held on both without a browser.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from live_server import live_app, live_settings, settled
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.config import load_settings
from callcenter.customers.services import add_contact, create_customer
from callcenter.db import make_engine
from callcenter.products.models import InstalledProduct
from callcenter.realtime.publish import AgentEventPublisher
from callcenter.users.models import User
from callcenter.users.services import create_user, ensure_department
from tickets.escalation import fire_due_escalations
from tickets.models import SlaState, Ticket
from tickets.transitions import transition_ticket

pytestmark = [
    pytest.mark.browser,
    # A page left while a static file streams (the pop's link opens a tab; contexts
    # close) drops the connection mid-file: werkzeug's test server then leaves the file
    # to the garbage collector, whose ResourceWarning is the server's, not the product's.
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
]

PASSWORD = "browser-pass-123"
WAIT_MS = 15_000


def _seed(url: str) -> dict:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            agent = create_user(session, username="li", password=PASSWORD, role="agent",
                                department="Service/Beijing", display_name="李娜",
                                interface="PJSIP/1001", locale="en", scope="department")
            create_user(session, username="lead", password=PASSWORD, role="supervisor",
                        department="Service", display_name="李主管", locale="en")
            customer = create_customer(session, agent, {
                "name": "北京华通汽车运输有限公司", "phones": ["13812345678"],
                "tier": "vip", "lifecycle": "current"}, region="CN")
            contact = add_contact(session, agent, customer, {
                "name": "张伟", "position": "车队经理", "phones": ["13812345678"]},
                region="CN")
            product = InstalledProduct(model="HT6120 城市客车", serial_number="LZYTBGCL5K1000001",
                                       customer_id=customer.id)
            session.add(product)
            session.add(PbxQueue(name="support",
                                 department_id=ensure_department(session, "Service").id))
            # The bridge logs the ringing call (callcenter.calls): the ticket links to it.
            session.add(CallRecord(call_id="1795455872.8", queue="support",
                                   caller_number="13812345678", caller_e164="+8613812345678",
                                   customer_id=customer.id, agent_interface="PJSIP/1001",
                                   agents=["PJSIP/1001"], outcome=Outcome.IN_PROGRESS,
                                   started_at=datetime.now(UTC)))
            session.commit()
            return {"agent": agent.id, "customer": customer.id, "contact": contact.id,
                    "product": product.id, "department": agent.department_id}
    finally:
        engine.dispose()


@pytest.fixture
def server(fresh_database, tmp_path, redis_url):
    """SQLite only: what the flow writes is held on both databases without a browser
    (tests/test_web_tickets.py: the form from the call; test_escalation.py,
    test_escalation_notices.py, the ticket panel in test_web_tickets.py)."""
    redis.Redis.from_url(redis_url).flushdb()
    url = fresh_database.create("sqlite")
    ids = _seed(url)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="browser-tickets-secret-key")) as live:
        yield live.base, ids, url


def _ringing(ids: dict) -> dict:
    return {
        "call_id": "1795455872.8", "ami_read_at": time.time(),
        "caller": {"number": "13812345678", "name": "ZHANG WEI", "e164": "+8613812345678"},
        "customer": {
            "id": ids["customer"], "name": "北京华通汽车运输有限公司", "tier": "vip",
            "url": f"/customers/{ids['customer']}",
            "contacts": [{"id": ids["contact"], "name": "张伟", "position": "车队经理",
                          "phones": ["+8613812345678"], "calling": True}],
            "products": [{"id": ids["product"], "model": "HT6120 城市客车",
                          "serial_number": "LZYTBGCL5K1000001", "warranty_state": "none",
                          "warranty_end": None}],
            "open_tickets": [], "last_calls": []},
        "queue": "support", "wait_s": 3.2, "interface": "PJSIP/1001",
        "reason": None, "outcome": None, "talk_s": None}


def _log_in(page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Wait for the page the login leads to: the next step must not act on the old one.
    page.wait_for_url(lambda url: "/login" not in url)


def _watch(page, problems: list[str]) -> None:
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def test_a_call_becomes_a_ticket_the_wallboard_follows_it_to_its_escalation(
        server, browser, redis_url, tmp_path):
    from playwright.sync_api import expect


    base, ids, db_url = server
    problems: list[str] = []
    # The supervisor's wallboard is open before anything happens.
    board_ctx = browser.new_context(locale="en-US", viewport={"width": 1600, "height": 1000})
    board = board_ctx.new_page()
    _watch(board, problems)
    _log_in(board, base, "lead", "/wallboard")
    panel = board.locator("[data-ticket-panel]")
    expect(panel.get_by_text("No open tickets in your teams.")).to_be_visible()
    expect(board.locator("[data-connection='live']")).to_be_visible(timeout=WAIT_MS)

    # The call pops on the agent's desk.
    desk_ctx = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
    desk = desk_ctx.new_page()
    _watch(desk, problems)
    _log_in(desk, base, "li", "/desk")
    expect(desk.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    publisher = AgentEventPublisher(redis.Redis.from_url(redis_url), redis_url)
    publisher.publish(ids["agent"], "call.ringing", _ringing(ids))
    pop = desk.locator('[data-call-id="1795455872.8"]')
    expect(pop.get_by_text("No open tickets")).to_be_visible()
    new_ticket = pop.get_by_role("link", name="New ticket")
    expect(new_ticket).to_be_visible()

    # From the pop: the form opens in a new tab with the call, customer, contact, product.
    with desk_ctx.expect_page() as tab_info:
        new_ticket.click()
    form = tab_info.value
    _watch(form, problems)
    form.wait_for_load_state()
    expect(form.get_by_role("heading", name="New ticket")).to_be_visible()
    expect(form.get_by_text("北京华通汽车运输有限公司")).to_be_visible()
    expect(form.get_by_label("Reporter (contact)")).to_have_value(str(ids["contact"]))
    expect(form.get_by_label("Product")).to_have_value(str(ids["product"]))
    expect(form.get_by_text("From the call 1795455872.8")).to_be_visible()
    form.get_by_label("Type").select_option("complaint")
    form.get_by_label("Priority").select_option("urgent")
    form.get_by_label("What does the customer want?").fill("车门无法关闭，车辆停运")
    form.get_by_label("Details").fill("前门气泵故障；客户要求今天上门。")
    form.get_by_role("button", name="Create ticket").click()
    expect(form.get_by_role("heading", name="车门无法关闭，车辆停运")).to_be_visible()
    ticket_id = int(form.url.rstrip("/").rsplit("/", 1)[1])
    expect(form.get_by_text(f"Ticket #{ticket_id} created.")).to_be_visible()

    # The wallboard follows without a reload (ticket.changed -> the panel re-fetches).
    board.evaluate("window.__not_reloaded = true")
    expect(panel.locator("[data-total='open']")).to_have_text("1", timeout=WAIT_MS)
    expect(panel.locator("tr[data-team]")).to_contain_text("Beijing")

    # The agent takes it; then time passes its first-response target: the real
    # escalation sweep (what the timer job runs) fires the 80 % warning to the agent
    # and the breach to the team lead. The wallboard shows the breach and a banner; the
    # desk shows the agent's notice. Both arrive over Socket.IO, without a reload.
    settings = load_settings({"CALLCENTER_INSTANCE": str(tmp_path / "instance"),
                              "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                              "SECRET_KEY": "browser-tickets-secret-key"})
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            agent = session.get(User, ids["agent"])
            ticket = session.get(Ticket, ticket_id)
            transition_ticket(session, agent, ticket, {
                "to": "assigned", "version": ticket.version, "assignee_id": agent.id},
                settings=settings)
            session.commit()
            assert ticket.first_response_due_at is not None
            later = ticket.first_response_due_at + timedelta(minutes=1)
            fired = fire_due_escalations(session, settings, now=later)
            assert fired.fired == 2, fired   # the warning and the breach (level 1)
            session.expire_all()
            ticket = session.get(Ticket, ticket_id)
            assert (ticket.escalation_level, ticket.sla_state) == (1, SlaState.BREACHED)
    finally:
        engine.dispose()
    banner = panel.locator("[data-ticket-banner]")
    expect(banner).to_contain_text(f"Ticket #{ticket_id} escalated to level 1.",
                                   timeout=WAIT_MS)
    expect(panel.locator("[data-total='breached']")).to_have_text("1", timeout=WAIT_MS)
    expect(panel.locator("[data-oldest]")).to_contain_text("车门无法关闭")
    assert board.evaluate("window.__not_reloaded") is True
    notices = desk.locator("[data-ticket-notices]")
    expect(notices).to_contain_text(f"Ticket #{ticket_id} “车门无法关闭，车辆停运”",
                                    timeout=WAIT_MS)
    # Unread, it is there again when the desk opens anew; dismissed, it is read for good.
    desk.reload()
    expect(notices).to_contain_text(f"Ticket #{ticket_id} “车门无法关闭，车辆停运”")
    with desk.expect_response(lambda r: "/api/v1/notices/" in r.url and r.ok):
        notices.get_by_role("button", name="Dismiss").first.click()
    expect(notices).to_be_hidden()
    _until_no_unread_notices(db_url, ids["agent"])   # the ticket's other notice too
    desk.reload()
    expect(desk.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    expect(notices).to_be_hidden()

    _screenshots(browser, base, ids, ticket_id, redis_url,
                 Path(os.environ.get("TICKET_SHOTS") or tmp_path / "shots"))
    assert not problems, problems
    for ctx in (board_ctx, desk_ctx):
        ctx.close()


def _until_no_unread_notices(db_url: str, user_id: int, timeout_s: float = 15) -> None:
    from tickets.models import TicketNotice
    engine = make_engine(db_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with Session(engine) as session:
                unread = session.scalars(select(TicketNotice.id).where(
                    TicketNotice.user_id == user_id, TicketNotice.read_at.is_(None))).all()
            if not unread or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not unread, f"notices still unread: {unread}"
    finally:
        engine.dispose()


SIZES = {"desk": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _screenshots(browser, base: str, ids: dict, ticket_id: int, redis_url: str,
                 shots: Path) -> None:
    """Every ticket screen, English and Chinese, desk and phone width: one login per
    user, the language switched and the window resized within that session."""
    shots.mkdir(parents=True, exist_ok=True)
    publisher = AgentEventPublisher(redis.Redis.from_url(redis_url), redis_url)
    pages = {"list": "/tickets/?queue=all", "view": f"/tickets/{ticket_id}",
             "new": f"/tickets/new?customer_id={ids['customer']}&phone=13700009999&"
                    "name=王先生&call_id=1795455872.8",
             "customer": f"/customers/{ids['customer']}#open"}
    for user, names in (("li", [*pages, "desk"]), ("lead", ["wallboard"])):
        ctx = browser.new_context(viewport=SIZES["desk"])
        page = ctx.new_page()
        _log_in(page, base, user, "/tickets/")
        for lang in ("en", "zh_CN"):
            if "/tickets/" not in page.url:
                page.goto(base + "/tickets/")
            # The switch folds behind the menu button at phone width: press it by script.
            with page.expect_navigation():
                page.evaluate("(code) => document.querySelector("
                              "`button[name='locale'][value='${code}']`).click()", lang)
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                for name in names:
                    if name == "desk":
                        page.goto(base + "/desk")
                        page.wait_for_selector("[data-live-indicator][data-state='live']")
                        # The same call again (its pop replaced, not a second one)
                        # now that the caller has an open ticket.
                        call = _ringing(ids)
                        call["customer"]["open_tickets"] = [{
                            "id": ticket_id, "subject": "车门无法关闭，车辆停运",
                            "status": "assigned", "sla_state": "breached"}]
                        publisher.publish(ids["agent"], "call.ringing", call)
                        page.wait_for_selector("[data-call-id='1795455872.8'] "
                                               f"a[href$='/tickets/{ticket_id}']")
                    elif name == "wallboard":
                        page.goto(base + "/wallboard")
                        page.wait_for_selector("[data-ticket-panel]")
                    else:
                        page.goto(base + pages[name])
                    settled(page)
                    page.screenshot(path=str(shots / f"{name}-{lang}-{size}.png"),
                                    full_page=True)
        ctx.close()
