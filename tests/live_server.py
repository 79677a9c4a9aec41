"""The app on a live, threaded HTTP server on a free loopback port: what the browser
tests, the Socket.IO tests and the parallel-request tests talk to (real sockets, real
parallel requests), in one place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from flask import Flask
from werkzeug.serving import make_server

from callcenter.app import create_app
from callcenter.config import Settings, load_settings


class LiveApp(NamedTuple):
    base: str            # http://127.0.0.1:<port>
    app: Flask
    settings: Settings


def live_settings(instance: Path, database_url: str, redis_url: str, *,
                  secret: str = "live-server-secret-key", **env: str) -> Settings:
    """Settings for a test's app: its own instance folder, database and Redis."""
    return load_settings({"CALLCENTER_INSTANCE": str(instance), "DATABASE_URL": database_url,
                          "REDIS_URL": redis_url, "SECRET_KEY": secret,
                          "ACW_SECONDS": "0", **env})


def start_live_app(settings: Settings) -> tuple[LiveApp, Callable[[], None]]:
    """(LiveApp, stop): the app serving until ``stop()`` (which also closes its engine)."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-web", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["db_engine"].dispose()

    return LiveApp(f"http://127.0.0.1:{server.server_port}", app, settings), stop


@contextmanager
def live_app(settings: Settings) -> Iterator[LiveApp]:
    live, stop = start_live_app(settings)
    try:
        yield live
    finally:
        stop()


def browser_login(browser, base: str, username: str, password: str, viewport: dict):
    """(context, page): a new browser context of ``viewport`` size, logged in through the
    login form as ``username`` and past the login page."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


#: Resolves once the page has painted: web fonts loaded, every finite animation (a pop
#: sliding in, a banner fading) finished, two frames drawn. What a screenshot of a
#: server-rendered page waits for, instead of a fixed pause or "network idle" (which is
#: half a second of silence after the last request, every time).
SETTLED_JS = """async () => {
  await document.fonts.ready;
  const finite = document.getAnimations().filter(
    (a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
  await Promise.all(finite.map((a) => a.finished.catch(() => null)));
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""


def settled(page) -> None:
    """Wait until ``page`` has painted what it loaded (``SETTLED_JS``)."""
    page.evaluate(SETTLED_JS)
