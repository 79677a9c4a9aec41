"""The technician's phone (/tech) in headless Chromium at phone size (390x844): a
technician takes a job, records findings and parts, gets the customer's signature and
hands it over for inspection; the office inspects and settles through the API. Then the
same with the network cut in the middle: the change waits on the phone, the page says so,
and once the network is back it is applied exactly once.

Screenshots (English and Chinese, phone and desk width) of every screen go to
$TECH_SHOTS (default: the test's tmp dir).
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tech_support import make_day, make_job, served

from callcenter.db import make_engine
from callcenter.users.services import create_user, issue_api_token
from repairs.models import RepairOrder, RepairOrderHistory, StockMovement, SyncedChange

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "tech-browser-pass-1"
WAIT_MS = 15_000
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}


def _seed(url: str) -> dict:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            tech = create_user(session, username="wang", password=PASSWORD,
                               role="technician", department="Aftersales/East",
                               display_name="王师傅", locale="en", scope="own")
            lead = create_user(session, username="lead", password=PASSWORD, role="supervisor",
                               department="Aftersales", display_name="李主管", locale="en",
                               scope="all")
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            day = make_day(session, tech, stock=5, when=now - timedelta(minutes=30),
                           office=lead)
            second = make_job(session, tech, day["station"], when=now + timedelta(hours=1),
                              office=lead, customer_name="上海申通公交有限公司")
            old = make_job(session, tech, day["station"], office=lead,
                           when=now - timedelta(days=40))
            old.product_id = day["order"].product_id  # an earlier repair of the same bus
            old.status = old.status.CLOSED
            old.findings = "更换起动继电器"
            token = issue_api_token(session, lead)
            session.commit()
            return {"order": day["order"].id, "second": second.id, "part": day["part"].id,
                    "tech": tech.id, "lead_token": token, "db": url}
    finally:
        engine.dispose()


@pytest.fixture
def site(backend, fresh_database, tmp_path, redis_url):
    url = fresh_database.create(backend)
    ids = _seed(url)
    with served(url, tmp_path / "instance", redis_url) as base:
        yield base, ids


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TECH_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/login?next=/tech")
    page.get_by_label("Username").fill("wang")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _watch(page, problems: list[str]) -> None:
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def _phone(browser, base: str, problems: list[str], locale: str = "en-US", viewport=PHONE):
    context = browser.new_context(locale=locale, viewport=viewport, has_touch=True)
    page = context.new_page()
    _watch(page, problems)
    _log_in(page, base)
    page.wait_for_selector(".tech-job", timeout=WAIT_MS)
    return context, page


def _sign(page) -> None:
    pad = page.locator("canvas.tech-sign")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 80)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 30 + i * 25, box["y"] + 80 + (25 if i % 2 else -25))
    page.mouse.up()


def _jpeg(path: Path) -> None:
    from PIL import Image
    Image.new("RGB", (2400, 1600), (200, 60, 40)).save(path, "JPEG")


def _count(url: str, model, *where) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        engine.dispose()


def _order(url: str, order_id: int) -> RepairOrder:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            order = session.get(RepairOrder, order_id)
            session.expunge(order)
            return order
    finally:
        engine.dispose()


def _office(base: str, token: str, order_id: int, to: str, note: str = "") -> None:
    order = requests.get(f"{base}/api/v1/repair-orders/{order_id}", timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).json()
    response = requests.post(f"{base}/api/v1/repair-orders/{order_id}/transitions",
                             json={"to": to, "version": order["version"], "note": note},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_technician_takes_a_job_records_parts_and_closes_it(site, browser, tmp_path):
    from playwright.sync_api import expect
    base, ids = site
    problems: list[str] = []
    context, page = _phone(browser, base, problems)
    cards = page.locator(".tech-job")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("北京华通汽车运输有限公司")  # the earlier one first
    expect(cards.first.get_by_role("link", name="Map")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/search\?query=.+"))
    cards.first.locator(".tech-job__link").click()
    job = page.locator('[data-view="job"]')
    expect(job).to_contain_text("更换起动继电器")  # the equipment's repair history
    page.get_by_role("button", name="Start the repair").click()
    expect(job.locator(".badge").first).to_have_text("Repairing", timeout=WAIT_MS)
    page.get_by_label("Findings").fill("起动继电器烧坏, relay burnt out")
    page.get_by_role("button", name="Save findings").click()
    expect(page.locator("[data-queue]")).to_have_text("All changes sent.", timeout=WAIT_MS)
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add part").click()
    expect(job.locator(".tech-parts")).to_contain_text("2 pcs", timeout=WAIT_MS)
    photo = tmp_path / "fault.jpg"
    _jpeg(photo)
    page.locator('input[type="file"]').set_input_files(str(photo))
    expect(job).to_contain_text("1 photo(s) added.", timeout=WAIT_MS)
    _sign(page)
    page.get_by_role("button", name="Save signature").click()
    expect(job).to_contain_text("Signed.", timeout=WAIT_MS)
    page.get_by_role("button", name="Finish: hand over for inspection").click()
    expect(job.locator(".badge").first).to_have_text("Inspection", timeout=WAIT_MS)
    expect(page.locator("[data-queue]")).to_have_text("All changes sent.", timeout=WAIT_MS)
    db = ids["db"]
    order = _order(db, ids["order"])
    assert order.status.value == "inspection" and order.signature_path
    assert order.findings == "起动继电器烧坏, relay burnt out"
    assert _count(db, StockMovement, StockMovement.repair_order_id == ids["order"]) == 1
    assert _count(db, RepairOrderHistory, RepairOrderHistory.order_id == ids["order"],
                  RepairOrderHistory.field == "photo") == 1
    # The office inspects and settles; the job is closed.
    _office(base, ids["lead_token"], ids["order"], "settlement", "OK")
    _office(base, ids["lead_token"], ids["order"], "closed")
    assert _order(db, ids["order"]).status.value == "closed"
    assert problems == []
    context.close()


def test_the_network_cut_in_the_middle_the_change_syncs_later_exactly_once(site, browser):
    from playwright.sync_api import expect
    base, ids = site
    problems: list[str] = []
    context, page = _phone(browser, base, problems)
    # The service worker has the shell and today's jobs: a reload offline still shows them.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_selector(".tech-job", timeout=WAIT_MS)
    context.set_offline(True)
    page.reload()
    expect(page.locator(".tech-job")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("[data-day]")).to_contain_text("Shown from this phone’s copy")
    page.locator(".tech-job__link").first.click()
    db = ids["db"]
    expect(page.locator("[data-net]")).to_have_text("Offline")
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add part").click()
    expect(page.locator("[data-queue]")).to_have_text(
        "Queued on this phone: 1 change(s), sent when the network is back.", timeout=WAIT_MS)
    expect(page.locator(".tech-parts")).to_contain_text("waiting to be sent")
    # Still readable offline: back to the list and in again.
    page.get_by_role("link", name="All jobs").click()
    expect(page.locator(".tech-job").first).to_contain_text("1 change(s) waiting")
    page.locator(".tech-job__link").first.click()
    assert _count(db, StockMovement) == 0 and _count(db, SyncedChange) == 0
    context.set_offline(False)
    expect(page.locator("[data-queue]")).to_have_text("All changes sent.", timeout=WAIT_MS)
    expect(page.locator(".tech-parts")).not_to_contain_text("waiting to be sent")
    page.get_by_role("button", name="Sync now").click()  # a retry changes nothing
    page.wait_for_timeout(500)
    assert _count(db, StockMovement, StockMovement.repair_order_id == ids["order"]) == 1
    assert _count(db, RepairOrderHistory, RepairOrderHistory.order_id == ids["order"],
                  RepairOrderHistory.field == "part_issued") == 1
    assert _count(db, SyncedChange) == 1
    # Offline, the browser logs the requests that could not go out; nothing else.
    assert not [p for p in problems if "net::ERR_" not in p], problems
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screenshots_of_every_screen(site, browser, tmp_path, lang):
    """Every screen at phone and desk width, in English and Chinese, for a person to look
    at (TECH_SHOTS=/work/shots/tech)."""
    from playwright.sync_api import expect
    base, ids = site
    folder = shots_dir(tmp_path)
    problems: list[str] = []
    for width, viewport in (("phone", PHONE), ("desk", DESK)):
        context, page = _phone(browser, base, problems, viewport=viewport)
        if lang == "zh":
            if page.locator("[data-nav-toggle]").is_visible():
                page.locator("[data-nav-toggle]").click()
            page.locator("button.lang-switch__option[lang=zh-CN]").click()
            page.wait_for_selector(".tech-job", timeout=WAIT_MS)
        page.screenshot(path=folder / f"{lang}-{width}-list.png", full_page=True)
        page.locator(".tech-job__link").first.click()
        page.wait_for_selector(".tech-view")
        page.screenshot(path=folder / f"{lang}-{width}-job.png")
        page.screenshot(path=folder / f"{lang}-{width}-job-full.png", full_page=True)
        context.set_offline(True)
        page.locator("#tech-qty").fill("1")
        page.locator('[data-act="add-part"]').click()
        expect(page.locator(".tech-parts .badge")).to_be_visible()
        page.screenshot(path=folder / f"{lang}-{width}-offline.png")
        if importlib.util.find_spec("repairs.orders") is None:
            context.close()
            continue
        # The office changes the findings meanwhile; the phone's findings conflict.
        _office_findings(ids["db"], ids["order"], "办公室: 客户说电瓶没电 (office note)")
        page.locator("#tech-findings").fill("起动继电器烧坏")
        page.locator('[data-act="save-findings"]').click()
        context.set_offline(False)
        expect(page.locator(".tech-conflict")).to_be_visible(timeout=WAIT_MS)
        page.locator(".tech-conflict").scroll_into_view_if_needed()
        page.screenshot(path=folder / f"{lang}-{width}-conflict.png")
        page.locator('[data-act="keep-mine"]').click()
        expect(page.locator(".tech-conflict")).to_be_hidden(timeout=WAIT_MS)
        # The kept change is sent again after the dialog closes: wait for it to land
        # before the phone goes away.
        _wait_for(lambda: _order(ids["db"], ids["order"]).findings == "起动继电器烧坏")
        context.close()
    if importlib.util.find_spec("repairs.orders") is not None:
        assert _order(ids["db"], ids["order"]).findings == "起动继电器烧坏"
    # Offline requests that could not go out, and the conflict's 409: nothing else.
    assert not [p for p in problems if "net::ERR_" not in p and "409" not in p], problems


def _wait_for(condition, timeout: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _office_findings(url: str, order_id: int, text: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            order = session.get(RepairOrder, order_id)
            order.findings, order.version = text, order.version + 1
            session.commit()
    finally:
        engine.dispose()


_STORE_COUNTS = """async (id) => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("tech-" + id); r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error); });
  const count = (name) => new Promise((ok) => {
    const q = db.transaction(name).objectStore(name).count(); q.onsuccess = () => ok(q.result); });
  const out = { queue: await count("queue"), state: await count("state") };
  db.close();
  return out;
}"""
_TECH_CACHES = "caches.keys().then((keys) => keys.filter((k) => k.startsWith('tech-')))"


def _log_out(page, answer: str) -> None:
    button = page.locator("form[data-logout] button")
    if not button.is_visible():   # phone width: behind the menu button
        page.locator("[data-nav-toggle]").click()
    page.once("dialog", lambda dialog: getattr(dialog, answer)())
    button.click()


def test_logging_out_leaves_no_jobs_on_the_phone_but_keeps_unsent_work(site, browser):
    """A shared phone: after logout neither the service worker's cache nor IndexedDB
    holds today's jobs (customers' names and addresses); a change not yet sent is not
    lost: the technician is asked first, and it is sent at their next login, once."""
    from playwright.sync_api import expect
    base, ids = site
    problems: list[str] = []
    context, page = _phone(browser, base, problems)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()   # now through the service worker, which keeps today's jobs
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_selector(".tech-job", timeout=WAIT_MS)
    assert page.evaluate(_TECH_CACHES) == ["tech-v2"]
    assert page.evaluate(_STORE_COUNTS, ids["tech"])["state"] >= 1
    # The sync cannot get through (as on a dead spot): the part waits on the phone.
    page.route("**/api/v1/tech/sync", lambda route: route.abort())
    page.locator(".tech-job__link").first.click()
    page.get_by_label("Quantity").fill("1")
    page.get_by_role("button", name="Add part").click()
    expect(page.locator("[data-queue]")).to_contain_text("1 change(s)", timeout=WAIT_MS)
    # Asked first: "stay" keeps everything as it was.
    _log_out(page, "dismiss")
    page.wait_for_timeout(300)
    assert "/tech" in page.url and page.evaluate(_TECH_CACHES) == ["tech-v2"]
    _log_out(page, "accept")
    page.wait_for_url(lambda url: "/login" in url, timeout=WAIT_MS)
    assert page.evaluate(_TECH_CACHES) == []
    assert page.evaluate(_STORE_COUNTS, ids["tech"]) == {"queue": 1, "state": 0}
    assert _count(ids["db"], StockMovement) == 0
    # Back at work: the waiting part goes out, once.
    page.unroute("**/api/v1/tech/sync")
    _log_in(page, base)
    expect(page.locator("[data-queue]")).to_have_text("All changes sent.", timeout=WAIT_MS)
    assert _count(ids["db"], StockMovement, StockMovement.repair_order_id == ids["order"]) == 1
    assert not [p for p in problems if "net::ERR_" not in p], problems
    context.close()
