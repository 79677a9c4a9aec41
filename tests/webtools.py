"""Helpers for driving the web UI with Flask's test client, CSRF included."""

from __future__ import annotations

import html
import re

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

PASSWORD = "correct horse battery"


def csrf_token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no csrf_token in the page"
    return html.unescape(match.group(1))


def get_token(client, url: str = "/login") -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return csrf_token(response.get_data(as_text=True))


def login(client, username: str, password: str = PASSWORD, *, language: str | None = "en",
          **extra):
    """Log in through the form. ``language``: chosen on the login page first (users
    default to Chinese; tests read English unless they ask otherwise)."""
    token = get_token(client, "/login")
    if language:
        client.post("/language", data={"locale": language, "csrf_token": token})
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, **extra})


def post(client, url: str, data: dict | None = None, *, token_from: str | None = None):
    """POST a form with a CSRF token taken from ``token_from`` (default: the search page)."""
    token = get_token(client, token_from or "/customers/")
    return client.post(url, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return response.get_data(as_text=True)
