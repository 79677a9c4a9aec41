"""The wallboard's charts and alert thresholds in headless Chromium (SQLite only: the
figures are checked on both databases in tests/test_wallboard_chart.py), in Chinese and
English at 1280 and 1440 px: the chart draws today's quarters with Chart.js (served from
node_modules), the agents' figures of the day show, nothing runs off to the side; a new
call (a call-log row and the bridge's ``queue.update``) changes the chart's data and the
agent's count without a reload; a supervisor sets a queue's thresholds with the page's
form and the queue's card alerts by them. Screens go to $WALLBOARD_SHOTS (default: the
test's tmp dir) to be looked at."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from live_server import browser_login, live_app, live_settings
from page_checks import OVERFLOW as _OVERFLOW
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.db import make_engine
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY, channel_for
from callcenter.users.services import create_user, ensure_department
from callcenter.wallboard.models import AgentPause

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "chart-browser-pass-1"
WAIT_MS = 15_000
AGENTS = [("Local/agent1@agents/n", "王芳", "on_call", None),
          ("Local/agent2@agents/n", "李娜", "paused", "lunch"),
          ("Local/agent3@agents/n", "Tom Li", "available", None),
          ("Local/agent4@agents/n", "欧阳晓东", "wrap_up", "wrap-up")]


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for username, locale in (("lead_en", "en"), ("lead_zh", "zh_CN")):
                create_user(session, username=username, password=PASSWORD, role="supervisor",
                            department="客服中心/北京热线", display_name="李主管",
                            locale=locale)
            for i, (interface, name, _state, _reason) in enumerate(AGENTS):
                create_user(session, username=f"agent{i}", password=PASSWORD, role="agent",
                            department="客服中心/北京热线", display_name=name,
                            interface=interface)
            beijing = ensure_department(session, "客服中心/北京热线")
            session.add_all([
                PbxQueue(name="support", display_name="北京热线", department_id=beijing.id),
                PbxQueue(name="vip", display_name="VIP 专线", department_id=beijing.id,
                         service_level_s=20)])
            now = datetime.now(UTC)
            # Three hours of calls, busier lately; some wait long, some give up.
            for n in range(90):
                queued = now - timedelta(seconds=60 + n * 115)
                queue = "vip" if n % 5 == 0 else "support"
                wait = (4, 9, 15, 26, 41)[n % 5] + (n % 3)
                abandoned = n % 11 == 4
                agent = AGENTS[n % 4][0]
                session.add(CallRecord(
                    call_id=f"chart-{n}", queue=queue, caller_number="13812345678",
                    started_at=queued - timedelta(seconds=2), queued_at=queued,
                    answered_at=None if abandoned else queued + timedelta(seconds=wait),
                    ended_at=queued + timedelta(seconds=wait + (0 if abandoned else 150)),
                    wait_s=wait, talk_s=None if abandoned else 120 + n % 7 * 20,
                    agent_interface=None if abandoned else agent,
                    outcome=Outcome.ABANDONED if abandoned else Outcome.ANSWERED))
            session.add_all([
                AgentPause(interface=AGENTS[1][0], state="paused", reason="break",
                           started_at=now - timedelta(minutes=95),
                           ended_at=now - timedelta(minutes=80)),
                AgentPause(interface=AGENTS[1][0], state="paused", reason="lunch",
                           started_at=now - timedelta(minutes=12), ended_at=None),
                AgentPause(interface=AGENTS[2][0], state="paused", reason="meeting",
                           started_at=now - timedelta(minutes=40),
                           ended_at=now - timedelta(minutes=31))])
            session.commit()
    finally:
        engine.dispose()


def _live_state(redis_conn) -> None:
    now = time.time()
    redis_conn.hset(QUEUES_KEY, mapping={
        "support": json.dumps({"queue": "support", "members": [a[0] for a in AGENTS],
                               "waiting": [{"call_id": "w1", "caller_number": "13900001111",
                                            "queued_at": now - 14}]}),
        "vip": json.dumps({"queue": "vip", "members": [AGENTS[0][0]], "waiting": []})})
    for i, (interface, name, state, reason) in enumerate(AGENTS):
        redis_conn.hset(AGENTS_KEY, interface, json.dumps({
            "interface": interface, "name": name, "state": state, "reason": reason,
            "since": now - 60 * (12 if state == "paused" else i + 1),
            "queues": ["support", "vip"] if i == 0 else ["support"]}))


@pytest.fixture
def site(fresh_database, tmp_path, redis_url, redis_conn):
    url = fresh_database.create("sqlite")
    _seed(url)
    _live_state(redis_conn)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="chart-browser-secret")) as live:
        yield live



#: The chart's data as Chart.js holds it (labels and the datasets' numbers).
_CHART = """() => {
  const chart = window.Chart && Chart.getChart(document.querySelector("[data-chart-canvas]"));
  if (!chart) return null;
  return {labels: chart.data.labels, sets: chart.data.datasets.map(
    (d) => ({label: d.label, data: d.data.slice(), hidden: Boolean(d.hidden)}))};
}"""


def _open(browser, base: str, username: str, width: int, problems: list[str]):
    context, page = browser_login(browser, base, username, PASSWORD,
                                  {"width": width, "height": 900})
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{base}/wallboard")
    page.wait_for_function(f"() => ({_CHART})() !== null", timeout=WAIT_MS)
    return context, page


def test_the_charts_at_desk_widths_and_live(site, browser, tmp_path, redis_url):
    from flask_socketio import SocketIO
    from playwright.sync_api import expect

    folder = Path(os.environ.get("WALLBOARD_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    words = {"en": ("Offered", "Answered", "Abandoned", "Service level", "Target 80%"),
             "zh": ("呼入", "已接听", "已放弃", "服务水平", "目标 80%")}
    for username, lang in (("lead_en", "en"), ("lead_zh", "zh")):
        for width in (1280, 1440):
            context, page = _open(browser, site.base, username, width, problems)
            chart = page.evaluate(_CHART)
            assert [s["label"] for s in chart["sets"]] == list(words[lang]), lang
            today = page.evaluate("""() => fetch("/api/v1/wallboard/today").then(r => r.json())""")
            assert chart["labels"] == [iv["label"] for iv in today["intervals"]]
            assert chart["sets"][0]["data"] == today["total"]["offered"]
            assert sum(chart["sets"][0]["data"]) == sum(today["total"]["offered"]) > 0
            assert chart["sets"][4]["data"][0] == 80          # the target line, in percent
            # The agents' figures of the day, in their row.
            row = page.locator(f"tr[data-interface='{AGENTS[1][0]}']")
            figures = {a["interface"]: a for a in today["agents"]}
            expect(row.locator("[data-field='handled']")).to_have_text(
                str(figures[AGENTS[1][0]]["handled"]))
            assert row.locator("[data-field='pause_s']").inner_text().startswith("2")  # 27 min
            page.screenshot(path=folder / f"{lang}-{width}-wallboard.png", full_page=True)
            assert page.evaluate(_OVERFLOW) == [], (lang, width)
            if width == 1280:
                page.locator("[data-chart-details] summary").click()
                expect(page.locator("[data-chart-rows] tr").first).to_be_visible()
                page.locator("[data-chart-queue]").select_option("vip")
                page.wait_for_function(f"(want) => ({_CHART})().sets[0].data.join() === want",
                                       arg=",".join(map(str, today["queues"][1]["offered"])))
                page.locator(".wb-chart").screenshot(path=folder / f"{lang}-chart-vip.png")
                assert page.evaluate(_OVERFLOW) == [], (lang, "table open")
            context.close()

    # Live: a call enters the queue and is answered by agent3; the bridge writes the row
    # and pushes the queue's figures; the chart follows without a reload.
    context, page = _open(browser, site.base, "lead_en", 1280, problems)
    expect(page.locator("[data-connection='live']")).to_be_visible(timeout=WAIT_MS)
    page.evaluate("window.__not_reloaded = true")
    before = page.evaluate(_CHART)
    row = page.locator(f"tr[data-interface='{AGENTS[2][0]}']")
    handled = int(row.locator("[data-field='handled']").inner_text())
    now = datetime.now(UTC)
    engine = make_engine(site.settings.database_url)
    with Session(engine) as session:
        session.add(CallRecord(call_id="chart-live", queue="support", caller_number="139",
                               started_at=now - timedelta(seconds=3), queued_at=now,
                               answered_at=now + timedelta(seconds=2), wait_s=2.0,
                               agent_interface=AGENTS[2][0], outcome=Outcome.IN_PROGRESS))
        session.commit()
    engine.dispose()
    emitter = SocketIO(message_queue=redis_url, channel=channel_for(redis_url))
    emitter.emit("queue.update", {"queue": "support", "display_name": "北京热线",
                                  "waiting": 0, "longest_wait_s": 0.0, "callers": [],
                                  "offered": 999, "answered": 998, "abandoned": 1,
                                  "service_level": 0.9, "abandon_rate": 0.001,
                                  "sl_threshold_s": 20, "sl_target": 0.8,
                                  "abandon_rate_limit": 0.05, "alerts": [], "live": True,
                                  "updated_at": now.isoformat()}, to="queue:support")
    # Summed: a quarter hour may begin meanwhile.
    offered = sum(before["sets"][0]["data"]) + 1
    page.wait_for_function(
        f"(want) => ({_CHART})().sets[0].data.reduce((a, b) => a + b, 0) === want",
        arg=offered, timeout=WAIT_MS)
    after = page.evaluate(_CHART)
    assert sum(after["sets"][1]["data"]) == sum(before["sets"][1]["data"]) + 1  # answered
    assert after["sets"][0]["data"][-1] >= 1                   # in the current quarter
    expect(row.locator("[data-field='handled']")).to_have_text(str(handled + 1))
    assert page.evaluate("window.__not_reloaded") is True
    context.close()
    assert not problems, problems


def test_a_supervisor_sets_the_thresholds_and_the_board_follows(site, browser, tmp_path):
    from playwright.sync_api import expect

    folder = Path(os.environ.get("WALLBOARD_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    for username, lang in (("lead_zh", "zh"), ("lead_en", "en")):
        for width in (1280, 1440):
            context, page = browser_login(browser, site.base, username, PASSWORD,
                                          {"width": width, "height": 900})
            page.goto(f"{site.base}/wallboard/thresholds")
            expect(page.locator("[data-threshold-queue='vip']")).to_be_visible()
            assert page.evaluate(_OVERFLOW) == [], (lang, width)
            page.screenshot(path=folder / f"{lang}-{width}-thresholds.png", full_page=True)
            context.close()

    context, page = browser_login(browser, site.base, "lead_en", PASSWORD,
                                  {"width": 1280, "height": 900})
    page.goto(f"{site.base}/wallboard/thresholds")
    support = page.locator("[data-threshold-queue='support']")
    support.get_by_label("Longest wait over").fill("9999")
    support.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Must be a whole number from 1 to 3600.")).to_be_visible()
    page.screenshot(path=folder / "en-1280-thresholds-invalid.png", full_page=True)
    support = page.locator("[data-threshold-queue='support']")
    support.get_by_label("Service level below").fill("99")
    support.get_by_label("Longest wait over").fill("5")
    support.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The alerts of 北京热线 are saved.")).to_be_visible()
    page.goto(f"{site.base}/wallboard")
    card = page.locator("[data-queue='support']")
    # The waiting caller (14 s) is now past 5 s; the service level below 99 %.
    expect(card.locator("[data-flag='longest_wait']")).to_contain_text("Over 5 s")
    expect(card.locator("[data-flag='service_level']")).to_contain_text("Below target 99%")
    expect(card.locator("[data-flag='service_level'] .wb-flag__icon")).to_have_text("⚠")
    page.locator("[data-chart-queue]").select_option("support")
    page.wait_for_function(f"() => ({_CHART})().sets[4].data[0] === 99")
    card.screenshot(path=folder / "en-card-thresholds.png")
    context.close()
