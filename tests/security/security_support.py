"""What the security tests share: a served app on a committed database (a werkzeug server
with real threads, as tests/stack.py starts one), clients that log in through the form,
from a chosen loopback address, and parallel requests released at one moment."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from live_server import live_settings, start_live_app
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.db import make_engine
from callcenter.users.services import create_user

PASSWORD = "served-pass-2468"
WAIT_S = 30.0
#: (username, role)
PEOPLE = [("root", "admin"), ("agent1", "agent"), ("agent2", "agent")]
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
WRONG = "Wrong username or password."
THROTTLED = "Too many login attempts."


def seed(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = {}
            for username, role in PEOPLE:
                ids[username] = create_user(session, username=username, password=PASSWORD,
                                            role=role, locale="en").id
            session.commit()
            return ids
    finally:
        engine.dispose()


@dataclass
class Served:
    base: str
    settings: Settings
    ids: dict[str, int]
    app: object

    def client(self, address: str = "127.0.0.1") -> requests.Session:
        """A browser at ``address`` (any of 127.0.0.0/8: each is an address of its own to
        the server), reading English."""
        s = requests.Session()
        adapter = _SourceAddress(address)
        s.mount("http://", adapter)
        s.headers["Accept-Language"] = "en"
        return s


class _SourceAddress(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def start_served(database_url: str, redis_url: str, instance: Path,
                 **env: str) -> tuple[Served, Callable[[], None]]:
    """(Served, stop): the app on a free port, settings from ``env`` on top."""
    ids = seed(database_url)
    live, stop = start_live_app(live_settings(instance, database_url, redis_url,
                                              secret="security-test-secret-key", **env))
    return Served(live.base, live.settings, ids, live.app), stop


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no csrf_token in the page"
    return html.unescape(match.group(1))


def login_form(served: Served, client: requests.Session) -> str:
    """Open the login page; its CSRF token."""
    r = client.get(served.base + "/login", timeout=WAIT_S)
    assert r.status_code == 200, r.status_code
    return csrf_of(r.text)


def post_login(served: Served, client: requests.Session, token: str, username: str,
               password: str) -> requests.Response:
    return client.post(served.base + "/login", timeout=WAIT_S, allow_redirects=False,
                       data={"username": username, "password": password,
                             "csrf_token": token, "next": "/"})


def in_parallel(fn: Callable[[int], object], n: int) -> list:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 4)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    return results


def outcome(response: requests.Response) -> str:
    """"wrong" (the password was checked), "throttled" (it was not), or the status."""
    if response.status_code == 200 and WRONG in response.text:
        return "wrong"
    if response.status_code == 429 and THROTTLED in response.text:
        return "throttled"
    return f"{response.status_code}"
