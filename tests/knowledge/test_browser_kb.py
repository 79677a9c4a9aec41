"""The knowledge base in headless Chromium against a live server, with the generated demo
content: an agent searches in Chinese in a caller's words, opens the article and marks it
helpful; an editor changes an article and the search finds it by its new words at once.
Then the screens in English and Chinese at desk and phone width (none may scroll
sideways); they go to $KB_SHOTS (default: the test's tmp dir): look at them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from live_server import browser_login, live_app, live_settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import make_engine
from callcenter.users.services import create_user
from kb.demo import load_demo_kb
from kb.models import KbItem

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PASSWORD = "kb-browser-pass-1"
WAIT_MS = 15_000
SIZES = {"desk": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _seed(url: str) -> None:
    """The users and the demo content: built once per database kind and run, then each
    test gets a copy of its own (``fresh_database.seeded``)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for username, role, locale in (("agent", "agent", "zh_CN"),
                                           ("editor", "supervisor", "en"),
                                           ("editor_zh", "supervisor", "zh_CN")):
                create_user(session, username=username, password=PASSWORD, role=role,
                            department="Service", locale=locale)
            load_demo_kb(session)
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def site(backend, fresh_database, tmp_path, redis_url):
    url, _ = fresh_database.seeded(backend, _seed)
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="kb-browser-secret-key")) as live:
        yield live.base, url


def _log_in(browser, base: str, username: str, viewport=SIZES["desk"]):
    return browser_login(browser, base, username, PASSWORD, viewport)


def _helpful(url: str, title: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(select(KbItem.helpful).where(KbItem.title == title))
    finally:
        engine.dispose()


def test_an_agent_finds_the_answer_and_an_editor_changes_it(site, browser):
    from playwright.sync_api import expect
    base, url = site
    context, page = _log_in(browser, base, "agent")
    page.goto(f"{base}/kb/")
    page.locator("#kb-q").fill("空调吹出来的风是热的，不够凉")
    page.locator("#kb-q").press("Enter")
    first = page.locator(".kb-hit").first
    expect(first).to_contain_text("制冷剂泄漏", timeout=WAIT_MS)
    expect(first.locator("mark").first).to_be_visible()
    title = first.locator(".kb-hit__title").inner_text()
    first.locator(".kb-hit__title").click()
    expect(page.locator("h1")).to_have_text(title)
    page.get_by_role("button", name="有帮助").click()
    expect(page.locator(".alert, .flash").first).to_be_visible(timeout=WAIT_MS)
    assert _helpful(url, title) == 1
    context.close()

    context, page = _log_in(browser, base, "editor")
    page.goto(f"{base}/kb/?q=Routine+maintenance+guide")
    page.locator(".kb-hit__title").first.click()
    page.get_by_role("link", name="Edit").click()
    page.locator("#e-body").fill("Grease the hinges of the engine hatch every quarter.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".kb-body")).to_contain_text("Grease the hinges", timeout=WAIT_MS)
    page.goto(f"{base}/kb/?q=hinges+hatch")
    expect(page.locator(".kb-hit").first).to_contain_text("Routine maintenance guide")
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_screenshots_of_the_knowledge_base(site, browser, tmp_path):
    base, _url = site
    folder = Path(os.environ.get("KB_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    for user, lang in (("editor", "en"), ("editor_zh", "zh")):
        context, page = _log_in(browser, base, user)  # one login; resized per width
        for width, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            for name, path in (("search", "/kb/?q=" + ("车门关不上" if lang == "zh" else
                                                         "door will not close")),
                               ("home", "/kb/"), ("categories", "/kb/categories"),
                               ("defect-codes", "/kb/defect-codes"),
                               ("synonyms", "/kb/synonyms")):
                page.goto(base + path)
                page.screenshot(path=folder / f"{lang}-{width}-{name}.png", full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth <= "
                                     "window.innerWidth + 1"), (lang, width, name)
            page.goto(base + "/kb/?q=" + ("车门关不上" if lang == "zh" else "door will not close"))
            page.locator(".kb-hit__title").first.click()
            page.screenshot(path=folder / f"{lang}-{width}-entry.png", full_page=True)
            page.locator("a[href$='/edit']").first.click()
            page.screenshot(path=folder / f"{lang}-{width}-edit.png", full_page=True)
            body = page.locator("#e-body")
            added = "先检查门泵气压。" if lang == "zh" else "Check the door pump's pressure first."
            body.fill(added + "\n\n" + body.input_value())
            page.locator("form button[type=submit]").last.click()
            page.locator(".kb-body").first.wait_for(timeout=WAIT_MS)
            page.locator("a[href*='/versions/']").first.click()
            page.screenshot(path=folder / f"{lang}-{width}-version.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth <= "
                                 "window.innerWidth + 1"), (lang, width, "version")
        context.close()
