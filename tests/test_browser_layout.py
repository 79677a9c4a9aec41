"""Every main page in headless Chromium, in Chinese and English, at desk widths (1280,
1440) and the desk and the customer's page on a phone (390), on the full demo plus a
day's calls: nothing sticks out of what holds it, the page is never wider than the
window, and no table cell is narrower than two characters of its own font (where "小结"
would stand one character per line). Checked in the page; the screens go to
$LAYOUT_SHOTS (default: the test's tmp dir) to be looked at."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from live_server import browser_login, live_app, live_settings
from page_checks import OVERFLOW as _OVERFLOW
from page_checks import switch_language
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.audit.services import record
from callcenter.calls.cards import caller_card
from callcenter.calls.models import CallRecord, Outcome
from callcenter.customers.models import Customer
from callcenter.db import make_engine
from callcenter.demo import LOGINS, load_demo
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY
from callcenter.realtime.publish import LivePublisher
from callcenter.users.models import User
from kb.demo import load_demo_kb
from kb.models import KbItem
from repairs.demo import load_demo_repairs
from repairs.models import RepairOrder
from tickets.demo import load_demo_tickets
from tickets.models import Ticket

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORDS = {login.username: login.password for login in LOGINS}
WAIT_MS = 15_000
DESK, WIDE, PHONE = (1280, 900), (1440, 900), (390, 844)
NOTES = ["客户反映空调不制冷，已指导检查滤网并预约明天上门，客户同意，备注：请带压缩机皮带。",
         "Caller asked for the invoice of last month's repair; sent it by e-mail.",
         "前门关不严，司机说雨天漏水。已建工单，等待站点排期。", ""]
DISPOSITIONS = ["resolved", "callback", "ticket_needed", "wrong_number", "other", None]
#: The customers the day's calls come from (the first is the one whose page is checked).
CALLERS = ("DEMO-C001", "DEMO-C002", "DEMO-C003", "DEMO-C004", "DEMO-C005", None)


def _day_of_calls(session: Session, users: dict[str, User], customers: dict[str, Customer],
                  timezone: str) -> None:
    """~40 calls today (in the call center's time zone), most answered and wrapped up."""
    now = datetime.now(UTC)
    midnight = now.astimezone(ZoneInfo(timezone)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    start = max(midnight.astimezone(UTC) + timedelta(minutes=1), now - timedelta(hours=8))
    step = (now - timedelta(minutes=5) - start) / 40
    agents = [users[name] for name in ("agent1", "agent2", "agent3")]
    for n in range(40):
        at = start + step * n
        answered = n % 5 != 4
        agent = agents[n % 3] if answered else None
        ext = CALLERS[n % len(CALLERS)]
        customer = customers[ext] if ext else None
        phone = customer.phones[0].e164 if customer and customer.phones else "+8613700000000"
        wrapped = answered and n % 4 != 1
        session.add(CallRecord(
            call_id=f"1797000{n:03d}.1", caller_number="0" + phone[3:], caller_e164=phone,
            caller_name="张伟" if n % 2 else "ZHANG SAN", customer_id=customer and customer.id,
            queue="support" if n % 4 else "repairs",
            agent_id=agent and agent.id, agent_interface=agent and agent.interface,
            agents=[agent.interface] if agent else [],
            outcome=Outcome.ANSWERED if answered else Outcome.ABANDONED,
            started_at=at, queued_at=at + timedelta(seconds=2),
            answered_at=at + timedelta(seconds=14) if answered else None,
            ended_at=at + timedelta(minutes=3), wait_s=12.0 if answered else 41.0,
            talk_s=154.0 + n if answered else None,
            disposition=DISPOSITIONS[n % len(DISPOSITIONS)] if wrapped else None,
            wrapup_notes=NOTES[n % len(NOTES)] if wrapped else "",
            wrapup_by_id=agent.id if wrapped else None,
            wrapup_at=at + timedelta(minutes=4) if wrapped else None))


def _seed(url: str, settings) -> dict:
    """The full demo as `callcenter demo` loads it, a day of calls and a few audit rows;
    the ids of the records whose pages are checked."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            load_demo(session)
            load_demo_tickets(session, settings)
            load_demo_repairs(session, settings)
            load_demo_kb(session)
            users = {u.username: u for u in session.scalars(select(User))}
            customers = {c.external_id: c for c in session.scalars(select(Customer))
                         if c.external_id}
            _day_of_calls(session, users, customers, settings.timezone)
            customer = customers["DEMO-C001"]
            # The audit rows as the app writes them (calls/access.py, calls/services.py,
            # customers/views.py, wallboard/monitor.py).
            for n, action in enumerate(("customer.viewed_via_call", "call.wrapped_up_via_call",
                                        "customer.popped_via_call")):
                record(session, users["agent4"], action, entity="customer",
                       entity_id=customer.id, call_id=f"1797000{n:03d}.1",
                       detail=f"/customers/{customer.id}")
            record(session, users["supervisor"], "agent.monitored", entity="user",
                   entity_id=users["agent1"].id, call_id="1797000003.1",
                   detail="listen|started")
            session.commit()
            ticket = session.scalar(select(Ticket).where(Ticket.customer_id == customer.id)
                                    .order_by(Ticket.id)) or session.scalar(select(Ticket))
            order = session.scalar(select(RepairOrder).order_by(RepairOrder.id))
            entry = session.scalar(select(KbItem).order_by(KbItem.id))
            return {"customer": customer.id, "ticket": ticket.id, "order": order.id,
                    "entry": entry.id, "agent1": users["agent1"].id,
                    "agent1_interface": users["agent1"].interface}
    finally:
        engine.dispose()


def _live_state(redis_url: str, url: str, settings, ids: dict) -> None:
    """What the bridge would have put in Redis: queues with callers waiting, agents in
    their states, and two calls on agent1's desk (one ringing, one ended: the wrap-up)."""
    conn = redis.Redis.from_url(url=redis_url)
    now = time.time()
    for queue, waiting in (("support", 3), ("repairs", 1)):
        conn.hset(QUEUES_KEY, queue, json.dumps({
            "queue": queue, "members": [ids["agent1_interface"]],
            "waiting": [{"call_id": f"17980000{queue}{i}.1", "caller_number": "13900001111",
                         "queued_at": now - 20 * (i + 1)} for i in range(waiting)]}))
    for name, interface, state in (("王芳", ids["agent1_interface"], "on_call"),
                                   ("Li Lei", "Local/agent2@agents/n", "paused"),
                                   ("赵敏", "Local/agent3@agents/n", "available")):
        conn.hset(AGENTS_KEY, interface, json.dumps({
            "interface": interface, "name": name, "state": state,
            "reason": "午餐" if state == "paused" else None,
            "since": now - 65, "queues": ["support", "repairs"]}))
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            cards = [caller_card(session, number, "ZHANG SAN", "CN",
                                 today=datetime.now(ZoneInfo(settings.timezone)).date(),
                                 exclude_call_id=call_id)
                     for number, call_id in (("13812345678", "1798100001.1"),
                                             ("15011112222", "1798100002.1"))]
    finally:
        engine.dispose()
    publisher = LivePublisher(conn, redis_url)
    base = {"ami_read_at": now, "queue": "support", "wait_s": 3.2,
            "interface": ids["agent1_interface"], "reason": None, "outcome": None,
            "talk_s": None}
    publisher.publish(ids["agent1"], "call.ringing",
                      {**base, **cards[0], "call_id": "1798100001.1"})
    ended = {**base, **cards[1], "call_id": "1798100002.1"}
    publisher.publish(ids["agent1"], "call.ringing", ended)
    publisher.publish(ids["agent1"], "call.answered", ended)
    publisher.publish(ids["agent1"], "call.ended", {**ended, "reason": "hangup", "talk_s": 95.0})
    conn.close()


@pytest.fixture(scope="module")
def site(fresh_database, tmp_path_factory, redis_url):
    url = fresh_database.create("sqlite")
    settings = live_settings(tmp_path_factory.mktemp("layout-instance"), url, redis_url,
                             secret="layout-browser-secret")
    ids = _seed(url, settings)
    _live_state(redis_url, url, settings, ids)
    with live_app(settings) as live:
        yield live.base, ids


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LAYOUT_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder



#: Visible table cells with text whose content box is under two of their characters
#: (2 x font-size) and whose text breaks onto more lines (or runs out) for it: "已解决"
#: standing one character per line. A cell as wide as its whole text on one line ("#5",
#: "—") is as wide as it needs to be, not squeezed.
_SQUEEZED = """() => {
  const out = [];
  const range = document.createRange();
  const broken = el => {
    const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      if (!node.textContent.trim()) continue;
      range.selectNodeContents(node);
      const lines = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) return true;
    }
    return el.scrollWidth > el.clientWidth + 1;
  };
  for (const el of document.querySelectorAll("main td, main th")) {
    if (el.offsetParent === null || el.textContent.trim().length < 1) continue;
    const shut = el.closest("details:not([open])");
    if (shut && !el.closest("summary")) continue;
    const hidden = el.closest(".visually-hidden, thead");
    if (hidden && getComputedStyle(hidden).position === "absolute") continue;
    const style = getComputedStyle(el);
    const inner = el.getBoundingClientRect().width - parseFloat(style.paddingLeft) -
      parseFloat(style.paddingRight) - parseFloat(style.borderLeftWidth) -
      parseFloat(style.borderRightWidth);
    if (inner < 2 * parseFloat(style.fontSize) - 0.05 && broken(el)) {
      out.push(el.tagName + " '" + el.textContent.trim().slice(0, 12) + "' " +
               Math.round(inner) + "px");
    }
  }
  return out.slice(0, 8);
}"""

#: At desk widths the header is one row (brand, links, the user's menu side by side).
_HEADER_ROWS = """() => {
  const header = document.querySelector(".site-header__inner");
  const height = header.getBoundingClientRect().height;
  return height < 80 ? [] : ["header " + Math.round(height) + "px high: two rows"];
}"""


#: Resolves once the page has been laid out and painted again (after a resize).
_NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _admin_pages(ids: dict) -> list[tuple[str, str, str]]:
    """(name, path, what shows once the page is ready)."""
    customer = ids["customer"]
    return [
        ("customers", "/customers/?q=华通", "main table tbody tr"),
        ("customer", f"/customers/{customer}", "#timeline"),
        ("history", f"/customers/{customer}/history", "main table"),
        ("calls", "/calls/", "[data-calls] tbody tr"),
        ("tickets", "/tickets/?queue=all", "main table tbody tr"),
        ("ticket", f"/tickets/{ids['ticket']}", ".tk-grid"),
        ("repairs", "/repairs/?view=all", "main table tbody tr"),
        ("repair", f"/repairs/{ids['order']}", "main .card"),
        ("kb", "/kb/", ".kb-hit"),
        ("kb-search", "/kb/?q=空调", ".kb-hit"),
        ("kb-entry", f"/kb/{ids['entry']}", ".kb-entry"),
        ("users", "/admin/users", "main table tbody tr"),
        ("audit", "/admin/audit", "main table tbody tr"),
        ("import", "/imports/", "main form"),
    ]




def _check(page, base: str, pages, lang: str, sizes, shots: Path,
           problems: list[str]) -> None:
    """Each page loaded once and looked at in each size in turn (the window resized, as
    a person widens it: the CSS lays it out again; a page is not loaded twice for it)."""
    from playwright.sync_api import expect
    for name, path, ready in pages:
        page.set_viewport_size({"width": sizes[0][0], "height": sizes[0][1]})
        page.goto(base + path)
        expect(page.locator(ready).first).to_be_visible(timeout=WAIT_MS)
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate(_NEXT_FRAME)
            page.screenshot(path=shots / f"{lang}-{width}-{name}.png", full_page=True)
            where = f"{name} ({path}) {lang} {width}px"
            problems.extend(f"{where}: overflow: {o}" for o in page.evaluate(_OVERFLOW))
            problems.extend(f"{where}: squeezed cell: {s}" for s in page.evaluate(_SQUEEZED))
            if width > 1024:
                problems.extend(f"{where}: {h}" for h in page.evaluate(_HEADER_ROWS))


def test_every_page_fits_in_both_languages_at_every_width(site, browser, shots):
    """One login per user (the logins are the slow part), both languages in turn."""
    base, ids = site
    problems: list[str] = []
    for username, pages in (
            ("admin", _admin_pages(ids)),
            ("supervisor", [("wallboard", "/wallboard", ".wb-queue")]),
            ("agent1", [("desk", "/desk", "[data-pops] > li")])):
        context, page = browser_login(browser, base, username, PASSWORDS[username],
                                      {"width": DESK[0], "height": DESK[1]})
        for lang in ("zh", "en"):
            page.set_viewport_size({"width": DESK[0], "height": DESK[1]})
            switch_language(page, lang)
            _check(page, base, pages, lang, (DESK, WIDE), shots, problems)
            if username == "admin":       # the customer's page on a phone
                _check(page, base, pages[1:2], lang, (PHONE,), shots, problems)
            if username == "agent1":
                _check(page, base, pages, lang, (PHONE,), shots, problems)
        context.close()
    assert problems == [], "\n".join(problems)
