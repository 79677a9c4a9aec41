"""The agent's day in headless Chromium (issue 12): after-call work on the desk, with the
pause really set in the PBX simulator and ended by the wrap-up saved in the page; and
finding customers by pinyin, initials and any word from the search box. (The call log
page: tests/test_browser_call_log.py; live monitoring: tests/test_live_monitoring.py.)"""

from __future__ import annotations

import pytest
from live_server import browser_login
from sqlalchemy.orm import Session
from stack import PASSWORD, WAIT_S, wait_until
from test_after_call_work import AGENT1, _run_jobs, acw  # noqa: F401 - the fixture
from test_bridge_commands import agent_state, member
from test_bridge_standby import place_call

from callcenter.customers.services import create_customer
from callcenter.db import make_engine
from callcenter.jobs import fetch_job
from callcenter.users.models import User

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]
WAIT_MS = 15_000


def test_after_call_work_on_the_desk_pauses_in_the_pbx_until_the_wrap_up_is_saved(
        acw, redis_conn, browser):  # noqa: F811 - the fixture imported above
    from playwright.sync_api import expect

    stack, sim, _engine = acw
    context, page = browser_login(browser, stack.base, "agent1", PASSWORD,
                                  {"width": 1280, "height": 900})
    try:
        page.goto(stack.base + "/desk")
        current = page.locator("[data-status-current]")
        expect(current).to_have_text("Available", timeout=WAIT_MS)

        call_id = place_call(sim, talk_s=0.3)
        # The call ends: the PBX pauses agent1 with the reason wrap-up, and the desk says
        # so (its badge is drawn by the server: a reload shows it), with the wrap-up form
        # of that call open.
        wait_until(lambda: member(sim, "support", AGENT1) == (True, "wrap-up"), WAIT_S,
                   what="the PBX pausing agent1 for the wrap-up")
        wait_until(lambda: agent_state(redis_conn, AGENT1)["state"] == "wrap_up", WAIT_S,
                   what="the live state in wrap-up")
        page.reload()
        expect(current).to_have_text("Wrap-up", timeout=WAIT_MS)
        card = page.locator(f".pop[data-call-id='{call_id}']")
        form = card.locator("form.pop__wrapup")
        expect(form).to_be_visible(timeout=WAIT_MS)

        form.locator("select").first.select_option("resolved")
        form.locator("textarea").first.fill("已指导客户重启设备，问题解决。")
        form.locator("button.btn--primary").first.click()
        expect(page.locator("[data-desk-toast]")).to_be_visible(timeout=WAIT_MS)
        expect(card).to_have_count(0, timeout=WAIT_MS)   # saved: the card leaves the desk
        # The saved wrap-up ends the pause (a job, as the status control's own, enqueued
        # once the save committed).
        saved_job = f"acw-saved-{stack.ids['agent1']}-{call_id.replace('.', '_')}"
        wait_until(lambda: fetch_job(saved_job, connection=redis_conn) is not None, WAIT_S,
                   what="the job that ends the wrap-up")
        _run_jobs(redis_conn)
        wait_until(lambda: member(sim, "support", AGENT1) == (False, ""), WAIT_S,
                   what="the PBX unpausing agent1")
        wait_until(lambda: agent_state(redis_conn, AGENT1)["state"] == "available", WAIT_S,
                   what="the live state back to available")
        page.reload()
        expect(current).to_have_text("Available", timeout=WAIT_MS)
        expect(page.locator(f".pop[data-call-id='{call_id}']")).to_have_count(0)
    finally:
        context.close()


def test_the_search_box_finds_names_by_pinyin_initials_and_any_word(sqlite_stack, browser):
    from playwright.sync_api import expect

    stack = sqlite_stack
    engine = make_engine(stack.settings.database_url)
    try:
        with Session(engine) as session:
            admin = session.get(User, stack.ids["admin"])
            for name in ("张三丰机电有限公司", "欧阳科技", "李记汽修", "Tom Li Trading",
                         "王五商行"):
                create_customer(session, admin, {"name": name, "phones": []}, region="CN")
            session.commit()
    finally:
        engine.dispose()
    context, page = browser_login(browser, stack.base, "admin", PASSWORD,
                                  {"width": 1280, "height": 900})
    try:
        for query, found, not_found in (("zsf", "张三丰机电有限公司", "王五商行"),
                                        ("zhang san feng", "张三丰机电有限公司", "欧阳科技"),
                                        ("ouyang", "欧阳科技", "李记汽修"),
                                        ("li", "李记汽修", "张三丰机电有限公司"),
                                        ("li", "Tom Li Trading", "王五商行"),
                                        ("汽修", "李记汽修", "欧阳科技")):
            page.goto(stack.base + "/customers/")
            box = page.locator("[data-search-input]")
            box.fill(query)
            box.press("Enter")
            results = page.locator("main")
            expect(results).to_contain_text(found, timeout=WAIT_MS)
            expect(results).not_to_contain_text(not_found)
    finally:
        context.close()
