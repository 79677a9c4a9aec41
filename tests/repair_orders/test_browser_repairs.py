"""The office's repair screens in headless Chromium against a live server: a repair
order is raised from a ticket's page, dispatched, its dispatch sheet opened and the PDF
downloaded; then every repair screen is photographed in English and Chinese at desk
(1366x900) and phone (390x844) width, and none may scroll sideways.

Screenshots go to $REPAIR_SHOTS (default: the test's tmp dir): look at them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from live_server import live_app, settled
from sheet_support import CUSTOMER, seed_order
from sqlalchemy.orm import Session

from callcenter.config import load_settings
from callcenter.db import make_engine
from callcenter.users.services import create_user
from tickets.services import create_ticket

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "browser-pass-123"
WAIT_MS = 15_000
SIZES = {"desk": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _settings(url: str, instance: Path, redis_url: str):
    return load_settings({"CALLCENTER_INSTANCE": str(instance), "DATABASE_URL": url,
                          "REDIS_URL": redis_url, "SECRET_KEY": "browser-repairs-secret"})


def _seed(url: str, settings) -> dict:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            lead = create_user(session, username="lead", password=PASSWORD,
                               role="supervisor", department="Service",
                               display_name="李主管", locale="en")
            for name, locale in (("boss", "en"), ("laoban", "zh_CN")):
                create_user(session, username=name, password=PASSWORD, role="admin",
                            department="Service", display_name="王经理", locale=locale)
            tech = create_user(session, username="wang", password=PASSWORD,
                               role="technician", department="Service/Stations",
                               display_name="王师傅", locale="zh_CN")
            ids = seed_order(session, lead, tech, settings=settings)
            from repairs.models import RepairOrder
            order = session.get(RepairOrder, ids["order"])
            fresh = create_ticket(session, lead, {
                "type": "service_request", "subject": "车门气泵漏气",
                "description": "前门关闭缓慢，有漏气声。", "customer_id": ids["customer"],
                "contact_id": order.reporter_contact_id,
                "installed_product_id": ids["product"]}, settings=settings)
            session.commit()
            return {**ids, "fresh_ticket": fresh.id, "tech": tech.id}
    finally:
        engine.dispose()


@pytest.fixture
def server(backend, fresh_database, tmp_path, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    url = fresh_database.create(backend)
    settings = _settings(url, tmp_path / "instance", redis_url)
    ids = _seed(url, settings)
    with live_app(settings) as live:
        yield live.base, ids


def _log_in(page, base: str, username: str, target: str = "/repairs/") -> None:
    page.goto(f"{base}/login?next={target}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/login" not in url)


def _watch(page, problems: list[str]) -> None:
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def test_raise_dispatch_print_and_download(server, browser, tmp_path):
    from playwright.sync_api import expect

    base, ids = server
    problems: list[str] = []
    ctx = browser.new_context(locale="en-US", viewport=SIZES["desk"], accept_downloads=True)
    page = ctx.new_page()
    _watch(page, problems)
    _log_in(page, base, "lead", f"/tickets/{ids['fresh_ticket']}")
    page.get_by_role("link", name="Raise a repair order").click()
    expect(page.get_by_role("heading", name="Raise a repair order")).to_be_visible()
    expect(page.get_by_label("The fault, as reported")).to_have_value("前门关闭缓慢，有漏气声。")
    page.get_by_label("The fault, as reported").fill("前门气泵漏气，关门缓慢。")
    page.get_by_role("button", name="Raise repair order").click()
    expect(page.get_by_text("raised.")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "diagnosis")

    dispatch = page.locator("form[data-dispatch]")
    dispatch.get_by_label("Technician").select_option(str(ids["tech"]))
    dispatch.get_by_label("Station").select_option(label="北京朝阳维修站")
    dispatch.get_by_label("Scheduled").fill("2026-12-09T09:30")
    dispatch.get_by_role("button", name="Dispatch").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "dispatched")
    expect(page.get_by_text("王师傅").first).to_be_visible()

    page.get_by_role("link", name="Dispatch sheet").click()
    expect(page.get_by_role("heading", name="Dispatch sheet")).to_be_visible()
    expect(page.get_by_text(CUSTOMER).first).to_be_visible()
    expect(page.get_by_text("前门气泵漏气，关门缓慢。")).to_be_visible()
    expect(page.get_by_text("王师傅")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "sheet.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert info.value.suggested_filename.startswith("dispatch-sheet-RO-")
    # The sheet in Chinese, by its switch.
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="派工单")).to_be_visible()
    assert problems == []
    ctx.close()


def _screens(ids: dict) -> list[tuple[str, str]]:
    order = ids["order"]
    return [("list", "/repairs/?view=all&status="), ("detail", f"/repairs/{order}"),
            ("raise", f"/repairs/new?ticket_id={ids['fresh_ticket']}"),
            ("sheet", f"/repairs/{order}/dispatch-sheet"),
            ("ticket", f"/tickets/{ids['ticket']}#repairs"),
            ("customer", f"/customers/{ids['customer']}#repair-history"),
            ("stations", "/repairs/stations/"),
            ("stock", f"/repairs/stations/{ids['station']}/stock"),
            ("station-edit", f"/repairs/stations/{ids['station']}/edit"),
            ("parts", "/repairs/parts/"), ("part-edit", f"/repairs/parts/{ids['belt']}/edit")]


# Screens look the same on either database: one run (the flows above run on both).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_repair_screen_in_both_languages_and_widths(server, browser, tmp_path):
    base, ids = server
    shots = Path(os.environ.get("REPAIR_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    overflow: list[str] = []
    for user, lang in (("boss", "en"), ("laoban", "zh")):
        # One login per language; the window resized for each width.
        ctx = browser.new_context(locale="en-US" if lang == "en" else "zh-CN",
                                  viewport=SIZES["desk"])
        page = ctx.new_page()
        _watch(page, problems)
        _log_in(page, base, user)
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            for name, path in _screens(ids):
                response = page.goto(f"{base}{path}")
                assert response.status == 200, (name, response.status)
                # Server-rendered screens (no fetch after load): painted is complete.
                settled(page)
                wide = page.evaluate("document.documentElement.scrollWidth"
                                     " - document.documentElement.clientWidth")
                if wide > 1:
                    overflow.append(f"{name} {lang} {size}: {wide}px")
                page.screenshot(path=str(shots / f"{name}-{lang}-{size}.png"), full_page=True)
        ctx.close()
    assert overflow == []
    assert problems == []
