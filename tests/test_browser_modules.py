"""The desk's and the wallboard's ES modules in headless Chromium: every module under
static/js/desk/ (or wallboard/) is fetched by the page (none is left unimported), each is
served as JavaScript (browsers refuse a module with another MIME type), none fails to load
or to run (no page error, no console error: CSP, 404, a missing export), and the entry
module got as far as the live link.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.db import make_engine
from callcenter.users.services import create_user

pytestmark = pytest.mark.browser

PASSWORD = "modules-pass-123"
JS = Path(__file__).resolve().parent.parent / "static" / "js"
JS_TYPES = ("text/javascript", "application/javascript")


def _page_modules(entry: str) -> set[str]:
    """The URL paths a page's module graph must fetch: its entry, the shared modules it
    uses, and every file of its own folder."""
    shared = {"desk": ["dom.js", "live.js", "display.js"], "wallboard": ["dom.js"]}[entry]
    names = [f"{entry}.js", *shared,
             *(p.relative_to(JS).as_posix() for p in (JS / entry).glob("*.js"))]
    return {f"/static/js/{name}" for name in names}


@pytest.fixture
def modules_server(fresh_database, tmp_path, redis_url):
    url = fresh_database.create("sqlite")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            create_user(session, username="desk-agent", password=PASSWORD, role="agent",
                        department="Service", display_name="李娜", interface="PJSIP/1001",
                        locale="en")
            create_user(session, username="board-lead", password=PASSWORD, role="supervisor",
                        department="Service", display_name="李主管", locale="en")
            session.commit()
    finally:
        engine.dispose()
    with live_app(live_settings(tmp_path / "instance", url, redis_url,
                                secret="browser-modules-secret-key")) as live:
        yield live.base


@pytest.mark.parametrize(("entry", "username", "live_selector", "live_attr"), [
    ("desk", "desk-agent", "[data-live-indicator]", "data-state"),
    ("wallboard", "board-lead", "[data-connection]", "data-connection"),
])
def test_every_module_loads_and_runs(modules_server, browser, entry, username, live_selector,
                                     live_attr):
    from playwright.sync_api import expect

    base = modules_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    scripts: dict[str, tuple[int, str]] = {}
    page.on("response", lambda response: urlparse(response.url).path.startswith("/static/js/")
            and scripts.__setitem__(urlparse(response.url).path,
                                    (response.status, response.headers.get("content-type", ""))))

    page.goto(f"{base}/login?next=/{entry}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Set by the entry module's last step (the live link), once the socket is up.
    try:
        expect(page.locator(live_selector)).to_have_attribute(live_attr, "live", timeout=10_000)
    except AssertionError as error:
        raise AssertionError(f"{entry} never went live; page problems: {problems}") from error
    assert page.locator(f"script[type=module][src='/static/js/{entry}.js']").count() == 1

    expected = _page_modules(entry)
    assert len(expected) > 3, expected
    assert expected <= set(scripts), sorted(expected - set(scripts))
    for path in expected:
        status, content_type = scripts[path]
        assert status in (200, 304), (path, status)
        assert content_type.startswith(JS_TYPES), (path, content_type)
    assert not problems, problems
    context.close()
