"""The agent's own state live on the desk, and the wallboard's waiting callers in display
form, in headless Chromium against the PBX simulator, the bridge, Redis and RQ (the
``acw`` stack of tests/test_after_call_work.py; SQLite: the part under test is the live
path, which no query of the database is on).

- The desk's badge follows the PBX without a reload: wrap-up (with the time left) when
  the call ends, available again when the wrap-up is saved or the timer ends it, paused
  when a supervisor pauses the agent.
- The wallboard lists the callers waiting with their numbers as every other screen
  shows them (national format at home), and a hostile caller ID as text.

Screenshots (zh-CN and en, 1280 and 390 wide) go to ``$H1_SHOTS`` (else a tmp folder).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from live_server import SETTLED_JS, browser_login
from page_checks import OVERFLOW, switch_language
from sqlalchemy.orm import Session
from stack import PASSWORD, WAIT_S, wait_until
from test_after_call_work import AGENT1, _run_jobs, acw  # noqa: F401 - the fixture
from test_bridge_commands import _desk_session, agent_state, member
from test_bridge_standby import place_call

from callcenter.core.display import phone_text
from callcenter.desk.acw import end_after_call_work
from callcenter.realtime.live import QUEUES_KEY
from callcenter.realtime.publish import LivePublisher
from callcenter.users.models import User

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]
WAIT_MS = 15_000
HOSTILE = "<img src=x onerror=\"document.title='owned'\">"


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("H1_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder




def _shoot(page, folder: Path, name: str) -> None:
    """Both widths; nothing may stick out at either."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate(SETTLED_JS)
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
        assert page.evaluate(OVERFLOW) == [], (name, width)
    page.set_viewport_size({"width": 1280, "height": 900})


def _set_status(stack, username: str, status: str, reason: str | None = None) -> None:
    """``username`` (a supervisor: for agent1) changes agent1's status, as the desk does."""
    http, csrf = _desk_session(stack, username)
    body = {"status": status, "reason": reason, "user_id": stack.ids["agent1"]}
    response = http.post(stack.base + "/desk/status", json=body,
                         headers={"X-CSRFToken": csrf}, timeout=WAIT_S)
    assert response.status_code == 200, response.text


def _in_wrap_up(sim, redis_conn) -> None:
    wait_until(lambda: member(sim, "support", AGENT1) == (True, "wrap-up"), WAIT_S,
               what="the PBX pausing agent1 for the wrap-up")


def test_the_desk_badge_follows_the_pbx_without_a_reload(
        acw, redis_conn, browser, shots, monkeypatch):  # noqa: F811 - acw, imported
    from playwright.sync_api import expect

    stack, sim, engine = acw
    # The web server knows the wrap-up time as the bridge does (one ACW_SECONDS for both
    # in a deployment; the test stack's web side starts with it off).
    monkeypatch.setitem(stack.app.config, "SETTINGS", replace(stack.settings, acw_seconds=30))
    context, page = browser_login(browser, stack.base, "agent1", PASSWORD,
                                  {"width": 1280, "height": 900})
    try:
        page.goto(stack.base + "/desk")
        current = page.locator("[data-status-current]")
        left = page.locator("[data-status-left]")
        expect(current).to_have_text("Available", timeout=WAIT_MS)
        expect(left).to_be_hidden()
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live",
                                                                          timeout=WAIT_MS)
        page.evaluate("window.sameDocument = true")   # gone if the page were reloaded

        # The call ends: the PBX pauses agent1 for the wrap-up, the badge says so at once,
        # with the time left.
        call_id = place_call(sim, talk_s=0.3)
        _in_wrap_up(sim, redis_conn)
        expect(current).to_have_text("Wrap-up", timeout=WAIT_MS)
        expect(current).to_have_class(re.compile(r"\bdesk-state--wrap_up\b"))
        expect(left).to_be_visible(timeout=WAIT_MS)
        expect(left).to_have_text(re.compile(r"^\d+:\d\d left for the wrap-up$"))
        first = left.inner_text()
        expect(left).not_to_have_text(first, timeout=3000)   # it counts down
        _shoot(page, shots, "desk-wrap-up-en")

        # The wrap-up is saved: the pause ends (the job the save enqueued), and the badge
        # shows it without a reload.
        form = page.locator(f".pop[data-call-id='{call_id}'] form.pop__wrapup")
        form.locator("select").first.select_option("resolved")
        form.locator("button.btn--primary").first.click()
        saved_job = f"acw-saved-{stack.ids['agent1']}-{call_id.replace('.', '_')}"
        wait_until(lambda: redis_conn.exists(f"rq:job:{saved_job}"), WAIT_S,
                   what="the job that ends the wrap-up")
        _run_jobs(redis_conn)
        expect(current).to_have_text("Available", timeout=WAIT_MS)
        expect(left).to_be_hidden()
        expect(page.locator("input[name=status][value=available]")).to_be_checked()

        # The next call's wrap-up ends by the timer (what its job runs).
        call_id = place_call(sim, talk_s=0.3)
        _in_wrap_up(sim, redis_conn)
        expect(current).to_have_text("Wrap-up", timeout=WAIT_MS)
        wait_until(lambda: agent_state(redis_conn, AGENT1)["reason"] == "wrap-up", WAIT_S)
        with Session(engine) as session:
            user = session.get(User, stack.ids["agent1"])
            assert end_after_call_work(session, redis_conn, user, call_id) == "ended"
            session.commit()
        expect(current).to_have_text("Available", timeout=WAIT_MS)
        expect(left).to_be_hidden()

        # A supervisor pauses agent1: the desk shows why, and the form the same.
        _set_status(stack, "sup_support", "paused", "meeting")
        expect(current).to_have_text("Paused: Meeting", timeout=WAIT_MS)
        expect(page.locator("input[name=status][value=paused]")).to_be_checked()
        expect(page.locator("select[name=reason]")).to_have_value("meeting")
        assert page.evaluate("window.sameDocument") is True   # never reloaded

        # In Chinese (the switch reloads the page; the state comes with the connection).
        switch_language(page, "zh")
        expect(current).to_have_text("暂停：会议", timeout=WAIT_MS)
        _set_status(stack, "sup_support", "available")
        expect(current).to_have_text("空闲", timeout=WAIT_MS)
        place_call(sim, talk_s=0.3)
        _in_wrap_up(sim, redis_conn)
        expect(current).to_have_text("话后处理", timeout=WAIT_MS)
        expect(left).to_have_text(re.compile(r"^话后处理剩余 \d+:\d\d$"), timeout=WAIT_MS)
        _shoot(page, shots, "desk-wrap-up-zh")
        assert page.title() != "owned"
    finally:
        context.close()


def _waiting_call(sim) -> str:
    """A call that waits in its queue (no patience limit, no queue timeout): its number."""
    async def spawn(pbx_sim):
        pbx_sim._generated_call()
        call = max(pbx_sim.calls, key=lambda c: c.number)
        call.patience, call.qtimeout = None, 600   # before its task first runs
        while getattr(call, "one", None) is None:
            await asyncio.sleep(0.005)
        return call.cid.num
    return sim.call(spawn)


def test_the_wallboard_lists_waiting_callers_as_people_read_numbers(
        acw, redis_conn, browser, shots):  # noqa: F811 - acw, imported
    from playwright.sync_api import expect

    stack, sim, _engine = acw
    _set_status(stack, "sup_support", "paused", "meeting")   # nobody answers: they wait
    wait_until(lambda: member(sim, "support", AGENT1) == (True, "meeting"), WAIT_S)
    numbers = [_waiting_call(sim) for _ in range(4)]
    wait_until(lambda: redis_conn.hget(QUEUES_KEY, "support") and
               redis_conn.hget(QUEUES_KEY, "support").count(b"caller_number") == 4,
               WAIT_S, what="four callers waiting in the live state")
    shown = {phone_text(n, "CN") if n else "" for n in numbers}
    assert shown != set(numbers), numbers   # the display form is not the PBX's number
    context, page = browser_login(browser, stack.base, "sup_support", PASSWORD,
                                  {"width": 1280, "height": 900})
    try:
        for lang in ("en", "zh"):
            page.goto(stack.base + "/wallboard")
            switch_language(page, lang)
            card = page.locator(".wb-queue[data-queue='support']")
            items = card.locator("[data-callers] .wb-caller__number")
            expect(items).to_have_count(4, timeout=WAIT_MS)
            unknown = "Unknown number" if lang == "en" else "未知号码"
            texts = {t if t != unknown else "" for t in items.all_inner_texts()}
            assert texts == shown, (lang, texts, numbers)
            _shoot(page, shots, f"wallboard-waiting-{lang}")
        # A push (the bridge's queue.update) with a caller ID made to look like markup:
        # shown as the text it is.
        sent = page.evaluate("document.querySelectorAll('[data-callers] img').length")
        LivePublisher(redis_conn, stack.settings.redis_url).emit("queue.update", "support", {
            "queue": "support", "display_name": "support", "waiting": 1,
            "longest_wait_s": 3, "sl_threshold_s": 20, "live": True,
            "callers": [{"call_id": "x.1", "caller_number": HOSTILE,
                         "caller_display": HOSTILE, "queued_at": None, "wait_s": 3}]})
        expect(card.get_by_text(HOSTILE)).to_be_visible(timeout=WAIT_MS)
        assert page.evaluate("document.querySelectorAll('[data-callers] img').length") == sent
        assert page.title() != "owned"
    finally:
        context.close()
