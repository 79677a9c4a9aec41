"""The import's progress page in headless Chromium: a supervisor reading Chinese uploads a
file with bad rows, a real worker imports it, and the page (static/js/import.js) lists
the rejected rows in Chinese; an administrator reading English opens the same finished
import and reads them in English. Nothing runs off to the side at a desk's or a phone's
width; the screens go to $IMPORT_SHOTS (default: the test's tmp dir) to be looked at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from live_server import browser_login, live_app, live_settings
from page_checks import OVERFLOW as _OVERFLOW
from rq import SimpleWorker
from sqlalchemy.orm import Session
from test_import_errors_i18n import ENGLISH_WORD, _customers_file

from callcenter.db import make_engine
from callcenter.jobs import get_queue
from callcenter.users.services import create_user

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "import-browser-pass-1"
WAIT_MS = 15_000


@pytest.fixture
def site(fresh_database, tmp_path, redis_url, monkeypatch):
    url = fresh_database.create("sqlite")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            create_user(session, username="sup_zh", password=PASSWORD, role="supervisor",
                        scope="all", locale="zh_CN")
            create_user(session, username="admin_en", password=PASSWORD, role="admin",
                        locale="en")
            session.commit()
    finally:
        engine.dispose()
    settings = live_settings(tmp_path / "instance", url, redis_url,
                             secret="import-browser-secret-key")
    # The worker below runs in this process and reads its settings from the environment.
    for name, value in {"DATABASE_URL": url, "REDIS_URL": redis_url,
                        "CALLCENTER_INSTANCE": str(tmp_path / "instance"),
                        "SECRET_KEY": "import-browser-secret-key"}.items():
        monkeypatch.setenv(name, value)
    with live_app(settings) as live:
        yield live.base, settings


def test_the_rejected_rows_read_in_chinese_and_in_english(site, browser, tmp_path,
                                                           redis_conn):
    from playwright.sync_api import expect
    base, settings = site
    folder = Path(os.environ.get("IMPORT_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "客户资料.csv"
    source.write_bytes(_customers_file())

    context, page = browser_login(browser, base, "sup_zh", PASSWORD,
                                  {"width": 1280, "height": 900})
    page.goto(f"{base}/imports/")
    page.locator("input[type=file]").set_input_files(str(source))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/imports/[\w-]+$"))
    progress_url = page.url
    worker = SimpleWorker([get_queue("imports", settings=settings)], connection=redis_conn)
    worker.subscribe = lambda: None   # see tests/test_import_errors_i18n.py
    assert worker.work(burst=True)

    rows = page.locator("[data-error-rows] tr")
    expect(rows).to_have_count(15, timeout=WAIT_MS)
    expect(page.locator("[data-import-title]")).to_contain_text("已导入")
    problems = rows.locator("td:nth-child(3)").all_inner_texts()
    assert "此项为必填项。" in problems
    for problem in problems:
        assert re.search(r"[\u4e00-\u9fff]", problem), problem
    assert not ENGLISH_WORD.search(page.locator("[data-summary]").inner_text())
    page.screenshot(path=folder / "zh-1280-import.png", full_page=True)
    assert page.evaluate(_OVERFLOW) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=folder / "zh-390-import.png", full_page=True)
    assert page.evaluate(_OVERFLOW) == []
    context.close()

    context, page = browser_login(browser, base, "admin_en", PASSWORD,
                                  {"width": 1280, "height": 900})
    page.goto(progress_url)
    expect(page.locator("[data-error-rows] tr")).to_have_count(15, timeout=WAIT_MS)
    problems = page.locator("[data-error-rows] td:nth-child(3)").all_inner_texts()
    assert "This field is required." in problems
    assert not any(re.search(r"[\u4e00-\u9fff]", p) for p in problems), problems
    page.screenshot(path=folder / "en-1280-import.png", full_page=True)
    context.close()
