"""Issue 9, defect 3: a session cookie saved before logout still worked after it (the
session lives in the signed cookie; logout only asked the browser to forget it). Now each
login stores the user's session generation, checked on every request and Socket.IO
connect; logout, a password change and deactivation raise it. Logout ends all of the
user's sessions (README "Logins, passwords and sessions")."""

from __future__ import annotations

import pytest
import requests
import socketio
from security_support import PASSWORD, WAIT_S, csrf_of, login_form, post_login, start_served
from webtools import get_token, login, text

from callcenter.users.models import User

USER_AGENT = "callcenter-security-tests/1.0"


def replay(app, cookie: str):
    """A browser holding nothing but a copy of ``cookie`` (the session)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def session_cookie(client) -> str:
    return client.get_cookie("session").value


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="alice")


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root")


def test_a_session_cookie_saved_before_logout_is_worthless_after_it(app, agent):
    browser = app.test_client()
    assert login(browser, "alice").status_code == 302
    saved = session_cookie(browser)
    assert replay(app, saved).get("/customers/").status_code == 200
    r = browser.post("/logout", data={"csrf_token": get_token(browser, "/customers/")})
    assert r.status_code == 302
    assert replay(app, saved).get("/customers/").status_code == 302  # to the login page
    # Logging in again works, and starts a session of the new generation.
    assert login(browser, "alice").status_code == 302
    assert browser.get("/customers/").status_code == 200


def test_logout_ends_the_users_sessions_in_every_browser(app, agent):
    desk, wallboard = app.test_client(), app.test_client()
    assert login(desk, "alice").status_code == 302
    assert login(wallboard, "alice").status_code == 302
    desk.post("/logout", data={"csrf_token": get_token(desk, "/customers/")})
    assert wallboard.get("/customers/").status_code == 302


def change_password(client, current: str, new: str, confirm: str | None = None,
                    language: str = "en"):
    token = get_token(client, "/account/password")
    return client.post("/account/password", headers={"Accept-Language": language},
                       data={"csrf_token": token, "current_password": current,
                             "new_password": new,
                             "confirm_password": new if confirm is None else confirm})


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app, agent,
                                                                           session):
    here, elsewhere = app.test_client(), app.test_client()
    assert login(here, "alice").status_code == 302
    assert login(elsewhere, "alice").status_code == 302
    stolen = session_cookie(here)
    r = change_password(here, "correct horse battery", "a brand new secret 42")
    assert r.status_code == 302, text(r)
    assert here.get("/customers/").status_code == 200
    assert elsewhere.get("/customers/").status_code == 302
    # A copy of this browser's cookie from before the change is over too.
    assert replay(app, stolen).get("/customers/").status_code == 302
    assert login(app.test_client(), "alice", "a brand new secret 42").status_code == 302
    assert login(app.test_client(), "alice").status_code == 200  # the old one is wrong


def test_the_password_page_checks_every_field_in_english_and_chinese(app, agent):
    client = app.test_client()
    login(client, "alice")
    page = text(client.get("/customers/"))
    assert 'href="/account/password"' in page  # in the header's user menu
    r = change_password(client, "not my password", "12345678", "123456789")
    assert r.status_code == 422
    page = text(r)
    assert "This is not your current password." in page
    assert "At least 10 characters." in page
    assert "The two new passwords differ" in page
    r = change_password(client, "correct horse battery", "password123456")
    assert "This password is too common" in text(r)
    r = change_password(client, "correct horse battery", "ALICE-is-me-2026")
    assert "must not be or contain the username" in text(r)
    client.post("/language", data={"locale": "zh_CN",
                                   "csrf_token": get_token(client, "/customers/")})
    page = text(client.get("/account/password"))
    assert "修改密码" in page and "当前密码" in page and "再次输入新密码" in page
    r = change_password(client, "not my password", "alice12345", language="zh-CN")
    assert "当前密码不正确。" in text(r) and "密码不能是用户名，也不能包含用户名。" in text(r)


def edit_user(client, user: User, **changes):
    token = get_token(client, f"/admin/users/{user.id}/edit")
    data = {"csrf_token": token, "display_name": user.display_name, "role": user.role.value,
            "scope": user.scope.value, "department": "", "interface": "",
            "locale": user.locale, "email": "", "active": "y", **changes}
    return client.post(f"/admin/users/{user.id}/edit", data={k: v for k, v in data.items()
                                                             if v is not None})


def test_deactivating_a_user_ends_their_sessions_for_good(app, agent, admin):
    boss, victim = app.test_client(), app.test_client()
    login(boss, "root")
    login(victim, "alice")
    saved = session_cookie(victim)
    assert edit_user(boss, agent, active=None).status_code == 302  # unchecked: inactive
    assert victim.get("/customers/").status_code == 302
    assert edit_user(boss, agent).status_code == 302  # active again
    # Reactivating the account does not bring the old sessions back.
    assert replay(app, saved).get("/customers/").status_code == 302


def test_an_admin_setting_a_new_password_ends_the_users_sessions(app, agent, admin):
    boss, victim = app.test_client(), app.test_client()
    login(boss, "root")
    login(victim, "alice")
    r = edit_user(boss, agent, password="short")
    assert r.status_code == 422 and "At least 10 characters." in text(r)
    assert victim.get("/customers/").status_code == 200
    assert edit_user(boss, agent, password="handed over 2026").status_code == 302
    assert victim.get("/customers/").status_code == 302
    assert login(app.test_client(), "alice", "handed over 2026").status_code == 302
    assert boss.get("/customers/").status_code == 200


@pytest.fixture
def served(fresh_database, tmp_path, redis_conn, redis_url):
    s, stop = start_served(fresh_database.create("sqlite"), redis_url, tmp_path / "instance")
    yield s
    stop()


def _connect(served, cookie: str) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    sio.connect(served.base, headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                transports=["websocket"], wait_timeout=WAIT_S)
    return sio


def test_socketio_refuses_the_cookie_of_an_ended_session(served):
    browser = requests.Session()
    browser.headers["User-Agent"] = USER_AGENT
    r = post_login(served, browser, login_form(served, browser), "agent1", PASSWORD)
    assert r.status_code == 302
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    live = _connect(served, cookie)
    live.disconnect()
    token = csrf_of(browser.get(served.base + "/customers/", timeout=WAIT_S).text)
    r = browser.post(served.base + "/logout", data={"csrf_token": token}, timeout=WAIT_S,
                     allow_redirects=False)
    assert r.status_code == 302
    with pytest.raises(socketio.exceptions.ConnectionError):
        _connect(served, cookie).disconnect()  # a reconnect with the saved cookie
