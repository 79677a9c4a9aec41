"""The wallboard in headless Chromium against a live server with the Socket.IO server:
a supervisor opens /wallboard and sees their queue's figures (ticking), then a
``queue.update`` and an ``agent.update`` published through the Redis message queue (as
the bridge does, from another process) change the page without a reload.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.db import make_engine
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY
from callcenter.users.services import create_user, ensure_department

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-123"
WAIT_MS = 10_000


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            create_user(session, username="lead", password=PASSWORD, role="supervisor",
                        department="Service/Beijing", display_name="李主管", locale="en")
            create_user(session, username="fang", password=PASSWORD, role="agent",
                        department="Service/Beijing", display_name="王芳",
                        interface="Local/agent1@agents/n")
            session.add_all([
                PbxQueue(name="support", display_name="北京热线",
                         department_id=ensure_department(session, "Service/Beijing").id),
                PbxQueue(name="sh", display_name="上海热线",
                         department_id=ensure_department(session, "Service/Shanghai").id)])
            now = datetime.now(UTC)
            for i, wait in enumerate((5, 8, 50)):      # two of three within 20 s
                queued = now - timedelta(minutes=10 + i)
                session.add(CallRecord(
                    call_id=f"b{i}", queue="support", caller_number="13812345678",
                    started_at=queued, queued_at=queued,
                    answered_at=queued + timedelta(seconds=wait),
                    ended_at=queued + timedelta(seconds=wait + 60), wait_s=wait, talk_s=60,
                    outcome=Outcome.ANSWERED))
            session.commit()
    finally:
        engine.dispose()


def _live_state(redis_conn) -> None:
    now = time.time()
    redis_conn.hset(QUEUES_KEY, "support", json.dumps({
        "queue": "support", "members": ["Local/agent1@agents/n"],
        "waiting": [{"call_id": "1795455872.8", "caller_number": "13900001111",
                     "queued_at": now - 30},
                    {"call_id": "1795455872.9", "caller_number": "<script>x</script>",
                     "queued_at": now - 3}]}))
    redis_conn.hset(AGENTS_KEY, "Local/agent1@agents/n", json.dumps({
        "interface": "Local/agent1@agents/n", "name": "Agent 1", "state": "paused",
        "reason": "午餐", "since": now - 65, "queues": ["support"]}))


@pytest.fixture
def live_server(backend, fresh_database, tmp_path, redis_url, redis_conn):
    url = fresh_database.create(backend)
    _seed(url)
    _live_state(redis_conn)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="browser-test-secret-key")) as live:
        yield live.base


def _queue_update(**changes) -> dict:
    now = datetime.now(UTC)
    figures = {
        "queue": "support", "display_name": "北京热线", "waiting": 7,
        "longest_wait_s": 95.0, "members": 1, "offered": 12, "answered": 9, "abandoned": 3,
        "answered_within_sl": 6, "service_level": 0.5, "abandon_rate": 0.25, "asa_s": 14.0,
        "aht_s": 61.0, "sl_threshold_s": 20, "sl_target": 0.8, "abandon_rate_limit": 0.05,
        "callers": [{"call_id": "9.1", "caller_number": "15011112222",
                     "queued_at": (now - timedelta(seconds=95)).isoformat(), "wait_s": 95.0}],
        "alerts": ["service_level", "abandon_rate", "longest_wait"], "live": True,
        "updated_at": now.isoformat().replace("+00:00", "Z")}
    figures.update(changes)
    return figures


def test_wallboard_shows_figures_and_follows_live_updates(live_server, browser, redis_url,
                                                          redis_conn, tmp_path, backend):
    from flask_socketio import SocketIO
    from playwright.sync_api import expect

    from callcenter.realtime.live import channel_for

    base = live_server
    context = browser.new_context(locale="en-US", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    problems: list[str] = []  # CSP violations and script errors show up here
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(base + "/login?next=/wallboard")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Wallboard", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Wallboard")).to_have_attribute("aria-current", "page")

    card = page.locator("[data-queue='support']")
    expect(card.get_by_role("heading", name="北京热线")).to_be_visible()
    expect(page.get_by_text("上海热线")).to_have_count(0)          # another department's
    waiting = card.locator("[data-field='waiting']")
    longest = card.locator("[data-field='longest_wait_s']")
    expect(waiting).to_have_text("2")
    expect(card.locator("[data-field='answered']")).to_have_text("3")
    expect(card.locator("[data-field='offered']")).to_have_text("3")
    expect(card.locator("[data-field='service_level']")).to_have_text("67%")
    # Waiting 30 s of a 20 s service level: colour, and the words that go with it.
    expect(card.locator("[data-flag='longest_wait']")).to_be_visible()
    expect(card.locator("[data-flag='longest_wait']")).to_contain_text("Over 20 s")
    expect(card.locator("[data-flag='service_level']")).to_contain_text("Below target 80%")
    # The caller's "number" is shown as text, never run as markup.
    expect(card.get_by_text("<script>x</script>")).to_be_visible()
    # The longest wait ticks each second, client-side.
    first = longest.inner_text()
    expect(longest).not_to_have_text(first, timeout=3000)

    agent = page.locator("tr[data-interface='Local/agent1@agents/n']")
    expect(agent).to_contain_text("王芳")
    expect(agent).to_contain_text("Paused")
    expect(agent).to_contain_text("午餐")
    in_state = agent.locator("[data-field='seconds_in_state']")
    expect(in_state).to_have_text(re.compile(r"^1:\d\d$"))     # 65 s and more
    page.screenshot(path=str(tmp_path / f"wallboard-{backend}.png"), full_page=True)

    # Socket.IO connected (the socket server put us in room queue:support).
    expect(page.locator("[data-connection='live']")).to_be_visible(timeout=WAIT_MS)
    page.evaluate("window.__not_reloaded = true")

    emitter = SocketIO(message_queue=redis_url, channel=channel_for(redis_url))
    emitter.emit("queue.update", _queue_update(), to="queue:support")
    expect(waiting).to_have_text("7", timeout=WAIT_MS)
    expect(card.locator("[data-field='offered']")).to_have_text("12")
    expect(card.locator("[data-field='abandon_rate']")).to_have_text("25%")
    expect(card.locator("[data-flag='abandon_rate']")).to_be_visible()
    expect(card.get_by_text("15011112222")).to_be_visible()
    assert longest.inner_text().startswith("1:3")            # 95 s and ticking

    # The bridge's own agent snapshot (no seconds_in_state: counted from `since`).
    emitter.emit("agent.update", {
        "interface": "Local/agent1@agents/n", "name": "Agent 1", "state": "on_call",
        "reason": None, "since": time.time() - 2, "queues": ["support"]}, to="queue:support")
    expect(agent).to_contain_text("On a call", timeout=WAIT_MS)
    expect(agent).to_contain_text("王芳")                      # our name, not the PBX's
    expect(agent).not_to_contain_text("午餐")

    # An update for a queue outside the supervisor's rooms never arrives.
    emitter.emit("queue.update", _queue_update(queue="sh", display_name="上海热线"),
                 to="queue:sh")
    emitter.emit("queue.update", _queue_update(waiting=0, callers=[], longest_wait_s=0.0,
                                               alerts=[]), to="queue:support")
    expect(waiting).to_have_text("0", timeout=WAIT_MS)
    expect(card.locator("[data-flag='longest_wait']")).to_be_hidden()
    expect(page.get_by_text("上海热线")).to_have_count(0)
    assert page.evaluate("window.__not_reloaded") is True

    # Cut off and back: the reconnect re-fetches the whole wallboard, so what changed in
    # the meantime (here: in the live state, with no push at all) shows.
    context.set_offline(True)
    expect(page.locator("[data-connection='offline']")).to_be_visible(timeout=30_000)
    now = time.time()
    redis_conn.hset(QUEUES_KEY, "support", json.dumps({
        "queue": "support", "members": ["Local/agent1@agents/n"],
        "waiting": [{"call_id": f"r{i}", "caller_number": f"1380000000{i}",
                     "queued_at": now - i} for i in range(4)]}))
    context.set_offline(False)
    expect(page.locator("[data-connection='live']")).to_be_visible(timeout=30_000)
    expect(waiting).to_have_text("4", timeout=WAIT_MS)
    expect(card.get_by_text("138 0000 0003")).to_be_visible()   # as every screen shows it
    assert page.evaluate("window.__not_reloaded") is True

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="监控大屏", level=1)).to_be_visible()
    expect(card.get_by_text("排队等待")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # A new page load reads the live state in Redis again (the pushes above did not change
    # it: only the bridge writes it).
    expect(page.locator("tr[data-interface='Local/agent1@agents/n']")).to_contain_text("暂停")
    page.screenshot(path=str(tmp_path / f"wallboard-zh-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(card.get_by_text("排队等待")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"wallboard-phone-{backend}.png"), full_page=True)

    assert not problems, problems
    context.close()
