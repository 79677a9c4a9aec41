"""A Redis that restarts empty starts every agent's seq again at 1. The desk had seen
higher seqs and would take the new events for ones it already had, leaving the pops of
calls that ended during the outage open for good. ``seq_run`` tells it the counts began
again (headless Chromium, events published as the bridge publishes them)."""

from __future__ import annotations

import pytest
import redis
from test_browser_desk import PASSWORD, _known_caller, desk_server  # noqa: F401 - fixture

from callcenter.realtime.publish import AgentEventPublisher

pytestmark = pytest.mark.browser


def test_the_desk_follows_a_redis_that_restarted_empty(desk_server, browser,  # noqa: F811
                                                       redis_url):
    from playwright.sync_api import expect

    base, user_id, customer_id, _app = desk_server
    client = redis.Redis.from_url(redis_url)
    publisher = AgentEventPublisher(client, redis_url)
    page = browser.new_context(locale="en-US").new_page()
    page.goto(base + "/login?next=/desk")
    page.get_by_label("Username").fill("li")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")

    first = {**_known_caller(customer_id), "call_id": "1795455872.8"}
    for event in ("call.ringing", "call.answered", "call.ended"):
        publisher.publish(user_id, event, first)  # seqs 1..3 on the desk
    expect(page.locator('[data-call-id="1795455872.8"]')).to_be_visible()
    second = {**_known_caller(customer_id), "call_id": "1795455999.1"}
    publisher.publish(user_id, "call.ringing", second)  # seq 4
    expect(page.locator('[data-call-id="1795455999.1"] .pop__state')).to_have_text(
        "☎ Ringing")

    client.flushdb()  # what a restart without persistence leaves
    # the call that rang ended during the outage: the bridge tells the desk (seq 1 now)
    publisher.publish(user_id, "call.dismissed", {**second, "reason": "caller_left"})
    expect(page.locator('[data-call-id="1795455999.1"]')).to_have_count(0)
    third = {**_known_caller(customer_id), "call_id": "1795456000.2"}
    publisher.publish(user_id, "call.ringing", third)  # seq 2: not "already seen"
    expect(page.locator('[data-call-id="1795456000.2"]')).to_be_visible()
