"""A call the agent dialled (click-to-dial) on the desk in Chromium, in Chinese and
English, 1280 and 390 px wide: its pop says the agent dialled it, offers no transfer (the
call is in no queue) and no queue of its own, then turns into the wrap-up form like a queue call.
The events are published through Redis as the bridge publishes them
(tests/test_outbound_pops.py follows them from the PBX). Screenshots go to
``$DESK_SHOTS`` (else the test's folder)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import redis
from live_server import browser_login
from page_checks import OVERFLOW, switch_language
from sqlalchemy import update
from test_browser_desk import PASSWORD, desk_server  # noqa: F401 (the fixture)

from callcenter.calls.models import PbxQueue
from callcenter.realtime.publish import AgentEventPublisher

pytestmark = pytest.mark.browser

DIALLED = {"en": "You dialled", "zh": "呼出"}
ANSWERED = {"en": "✆ Answered", "zh": "✆ 已接听"}
DISPOSITION = {"en": "Disposition", "zh": "通话小结"}
TALK_TIME = {"en": "Talk time", "zh": "通话时长"}
#: the last contacts name the queue as people read it (PbxQueue.display_name)
LAST_CONTACT = {"en": "客服热线 · Answered", "zh": "客服热线 · 已接听"}


def _dialled(call_id: str, customer_id: int) -> dict:
    return {"call_id": call_id, "ami_read_at": time.time(), "direction": "outbound",
            "caller": {"number": "13812345678", "name": "", "e164": "+8613812345678",
                       "display": "138 1234 5678"},
            "customer": {"id": customer_id, "name": "北京华通汽车运输有限公司", "tier": "vip",
                         "url": f"/customers/{customer_id}", "contacts": [], "products": [],
                         "open_tickets": [],
                         "last_calls": [{"started_at": "2026-11-20T09:15:00+08:00",
                                         "queue": "support", "outcome": "answered"}]},
            "queue": None, "wait_s": None, "interface": "PJSIP/1001", "reason": None,
            "outcome": None, "talk_s": None}


def test_a_dialled_call_pops_without_a_transfer_then_asks_for_its_wrap_up(
        desk_server, browser, redis_url, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    base, user_id, customer_id, app = desk_server
    with app.extensions["db_sessionmaker"]() as session:
        session.execute(update(PbxQueue).where(PbxQueue.name == "support")
                        .values(display_name="客服热线"))
        session.commit()
    folder = Path(os.environ.get("DESK_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    publisher = AgentEventPublisher(redis.Redis.from_url(redis_url), redis_url)
    round_ = 0
    for lang in ("zh", "en"):
        for width in (1280, 390):
            round_ += 1
            call_id = f"1795460000.{round_}"
            context, page = browser_login(browser, base, "li", PASSWORD,
                                          {"width": 1280, "height": 900})
            page.goto(base + "/desk")
            problems: list[str] = []
            page.on("pageerror", lambda exc, problems=problems: problems.append(str(exc)))
            switch_language(page, lang)
            page.set_viewport_size({"width": width, "height": 900})
            expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state",
                                                                             "live")
            publisher.publish(user_id, "call.answered", _dialled(call_id, customer_id))
            card = page.locator(f'[data-call-id="{call_id}"]')
            expect(card.locator(".pop__state")).to_have_text(ANSWERED[lang])
            expect(card.locator("[data-pop-outbound]")).to_have_text(DIALLED[lang])
            expect(card.locator("[data-pop-number]")).to_have_text("138 1234 5678")
            expect(card.locator("[data-pop-queue]")).to_have_count(0)
            expect(card.locator("[data-pop-transfer]")).to_have_count(0)
            expect(card.get_by_role("heading", name="北京华通汽车运输有限公司")).to_be_visible()
            expect(card.get_by_text(LAST_CONTACT[lang], exact=True)).to_be_visible()
            page.screenshot(path=str(folder / f"desk-dialled-{lang}-{width}.png"),
                            full_page=True)
            assert page.evaluate(OVERFLOW) == [], (lang, width)

            publisher.publish(user_id, "call.ended", {**_dialled(call_id, customer_id),
                                                      "reason": "hangup", "talk_s": 62.0})
            expect(card.get_by_label(DISPOSITION[lang])).to_be_visible()
            expect(card.locator("[data-pop-outbound]")).to_have_text(DIALLED[lang])
            expect(card.get_by_text(TALK_TIME[lang])).to_be_visible()
            expect(card.get_by_text("1:02")).to_be_visible()
            page.screenshot(path=str(folder / f"desk-dialled-ended-{lang}-{width}.png"),
                            full_page=True)
            publisher.publish(user_id, "call.dismissed", {**_dialled(call_id, customer_id),
                                                          "reason": "wrapped_up"})
            expect(card).to_have_count(0)
            assert not problems, problems
            context.close()
