"""Issue 9, defect 2: five wrong passwords locked any account for 15 minutes, so anyone
could lock out the admin, and the lock message told which usernames exist. Now the
throttle counts per account *and address* (a stranger slows down only themselves), waits
grow instead of a hard lock, the answer is the same 429 for every name, and
``callcenter users unlock`` lets an admin clear it."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import yaml
from click.testing import CliRunner
from security_support import PASSWORD, start_served
from webtools import get_token

from callcenter.cli import main
from callcenter.config import ConfigError, load_settings
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.services import LoginThrottled, authenticate, backoff_s

ROOT = "README.md"
STRANGER, ADMIN_DESK = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def root(make_user):
    return make_user("admin", username="root")


def attempt(client, username: str, password: str, address: str, *, language: str = "en"):
    environ = {"REMOTE_ADDR": address}
    token = get_token(client, "/login")
    return client.post("/login", environ_base=environ,
                       headers={"Accept-Language": language},
                       data={"username": username, "password": password, "csrf_token": token})


def test_a_stranger_cannot_lock_out_the_admin(app, root):
    stranger = app.test_client()
    answers = [attempt(stranger, "root", f"guess {i}", STRANGER).status_code
               for i in range(12)]
    assert answers == [200] * 5 + [429] * 7
    # The admin, at their own desk, logs in at once.
    r = attempt(app.test_client(), "root", "correct horse battery", ADMIN_DESK)
    assert r.status_code == 302, r.get_data(as_text=True)


def _message(response) -> str:
    page = response.get_data(as_text=True)
    return re.search(r'<div class="alert alert--error" role="alert"><p>(.*?)</p>', page,
                     re.S).group(1)


def test_known_and_unknown_names_get_the_same_answers(app, root):
    known = [attempt(app.test_client(), "root", "wrong one", STRANGER) for _ in range(7)]
    unknown = [attempt(app.test_client(), "no-such-user", "wrong one", STRANGER)
               for _ in range(7)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] \
        == [200] * 5 + [429] * 2
    assert [_message(r) for r in known] == [_message(r) for r in unknown]
    assert [r.headers.get("Retry-After") is not None for r in known] == \
        [r.headers.get("Retry-After") is not None for r in unknown]


def test_a_throttled_attempt_is_429_with_retry_after_in_the_readers_language(app, root):
    for _ in range(5):
        attempt(app.test_client(), "root", "wrong one", STRANGER)
    en = attempt(app.test_client(), "root", "wrong one", STRANGER)
    assert en.status_code == 429
    wait = int(en.headers["Retry-After"])
    assert 0 < wait <= 300
    assert re.fullmatch(r"Too many login attempts\. Try again in \d+ (minutes?|seconds?)\.",
                        _message(en)), _message(en)
    zh = attempt(app.test_client(), "root", "wrong one", STRANGER, language="zh-CN")
    assert zh.status_code == 429
    assert re.fullmatch(r"登录尝试次数过多，请在 .+后再试。", _message(zh)), _message(zh)
    # The form keeps its fields.
    page = zh.get_data(as_text=True)
    for name in ("username", "password", "csrf_token", "next"):
        assert f'name="{name}"' in page


def test_the_wait_grows(app, root, settings):
    from dataclasses import replace

    from callcenter import login_throttle
    app.config["SETTINGS"] = s = replace(settings, login_rate_limit="2 per 2 seconds;3 per hour")
    app.extensions["login_throttle"] = login_throttle.LoginThrottle(
        app.extensions["login_throttle"].limiter, s)
    first = [attempt(app.test_client(), "root", "wrong", STRANGER) for _ in range(3)]
    assert [r.status_code for r in first] == [200, 200, 429]
    assert int(first[-1].headers["Retry-After"]) <= 2
    time.sleep(2.2)
    again = [attempt(app.test_client(), "root", "wrong", STRANGER) for _ in range(2)]
    assert [r.status_code for r in again] == [200, 429]
    assert int(again[-1].headers["Retry-After"]) > 60  # the hour's limit now


def test_the_accounts_own_wait_doubles_up_to_its_cap(session, root):
    assert [backoff_s(n, 3, 60, 900) for n in range(1, 9)] == \
        [0, 0, 60, 120, 240, 480, 900, 900]
    for n in range(1, 6):
        if n > 3:  # the wait has passed
            session.get(User, root.id).locked_until = utcnow() - timedelta(seconds=1)
            session.flush()
        before = utcnow()
        assert authenticate(session, "root", "wrong", max_failures=3, backoff_base_s=60,
                            backoff_max_s=900) is None
        session.expire_all()
        user = session.get(User, root.id)
        assert user.failed_logins == n
        wait = backoff_s(n, 3, 60, 900)
        if wait:
            assert abs((user.locked_until - before).total_seconds() - wait) < 5
            with pytest.raises(LoginThrottled):  # even the right password waits
                authenticate(session, "root", "correct horse battery", max_failures=3)
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.flush()
    assert authenticate(session, "root", "correct horse battery", max_failures=3) == user
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_behind_a_proxy_the_forwarded_address_counts(root, settings, connection):
    from dataclasses import replace

    from callcenter.app import create_app
    proxied = create_app(replace(settings, proxy_hops=1), db_bind=connection, testing=True,
                         session_options={"join_transaction_mode": "create_savepoint"})
    client = proxied.test_client()

    def via_proxy(address, password="wrong"):
        token = get_token(client, "/login")
        return client.post("/login", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                           headers={"X-Forwarded-For": address},
                           data={"username": "root", "password": password,
                                 "csrf_token": token})

    assert [via_proxy(STRANGER).status_code for _ in range(6)] == [200] * 5 + [429]
    assert via_proxy(ADMIN_DESK, "correct horse battery").status_code == 302


@pytest.fixture
def served(backend, fresh_database, tmp_path, redis_conn, redis_url):
    s, stop = start_served(fresh_database.create(backend), redis_url, tmp_path / "instance",
                           LOGIN_MAX_FAILURES="5")
    yield s
    stop()


def test_users_unlock_clears_the_counters_and_the_wait(served, monkeypatch):
    client = served.app.test_client()

    def login(password, address=STRANGER):
        token = get_token(client, "/login")
        return client.post("/login", environ_base={"REMOTE_ADDR": address},
                           data={"username": "root", "password": password,
                                 "csrf_token": token})

    assert [login("wrong").status_code for _ in range(6)] == [200] * 5 + [429]
    # Five wrong in a row: the account waits from anywhere too.
    assert login(PASSWORD, ADMIN_DESK).status_code == 429
    env = {"DATABASE_URL": served.settings.database_url,
           "REDIS_URL": served.settings.redis_url,
           "CALLCENTER_INSTANCE": str(served.settings.instance_path),
           "SECRET_KEY": served.settings.secret_key}
    result = CliRunner().invoke(main, ["users", "unlock", "root"], env=env)
    assert result.exit_code == 0, result.output
    assert "unlocked root" in result.output
    assert login(PASSWORD).status_code == 302
    missing = CliRunner().invoke(main, ["users", "unlock", "nobody"], env=env)
    assert missing.exit_code != 0 and "no user 'nobody'" in missing.output


SETTINGS = ("LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT", "LOGIN_MAX_FAILURES",
            "LOGIN_BACKOFF_S", "LOGIN_BACKOFF_MAX_S", "PROXY_HOPS")


def test_the_settings_are_checked_documented_and_passed_through(tmp_path):
    base = {"CALLCENTER_INSTANCE": str(tmp_path)}
    s = load_settings({**base, **{name: "" for name in SETTINGS}})
    assert (s.login_rate_limit, s.login_max_failures, s.proxy_hops) == \
        ("5 per 5 minutes;10 per hour;20 per day", 30, 0)
    s = load_settings({**base, "LOGIN_RATE_LIMIT": "3/minute;10/day", "PROXY_HOPS": "1"})
    assert (s.login_rate_limit, s.proxy_hops) == ("3/minute;10/day", 1)
    for name, bad in (("LOGIN_RATE_LIMIT", "lots"), ("LOGIN_ADDRESS_RATE_LIMIT", "5 per"),
                      ("LOGIN_MAX_FAILURES", "0"), ("PROXY_HOPS", "-1")):
        with pytest.raises(ConfigError, match=name):
            load_settings({**base, name: bad})
    from pathlib import Path
    top = Path(__file__).resolve().parents[2]
    readme = (top / ROOT).read_text(encoding="utf-8")
    compose = yaml.safe_load((top / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in SETTINGS:
        assert f"`{name}`" in readme, name
        for service in ("web", "worker", "bridge"):
            assert name in compose["services"][service]["environment"], (service, name)
