"""Issue 9, defect 4: weak passwords (``12345678``, ``password``, the username) were
accepted. One rule now, everywhere a password is chosen: at least 10 characters, not a
common password (the shipped list), not the username nor containing it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from webtools import get_token, login, text

from callcenter.cli import main
from callcenter.demo import LOGINS
from callcenter.users.passwords import MIN_PASSWORD_LENGTH, common_passwords, password_problem

TOP = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("password,username,code", [
    ("12345678", "alice", "password.too_short"),
    ("password", "alice", "password.too_short"),
    ("alice", "alice", "password.too_short"),
    ("1234567890", "alice", "password.common"),
    ("Password123", "alice", "password.common"),
    ("QWERTYUIOP", "alice", "password.common"),
    ("woaini1314520", "alice", "password.common"),
    ("alicealice", "alice", "password.contains_username"),
    ("my-ALICE-password", "alice", "password.contains_username"),
    ("Li.Lei.2026", "li.lei", "password.contains_username"),
    ("x" * 201, "alice", "too_long"),
])
def test_weak_passwords_are_refused(password, username, code):
    problem = password_problem(password, username)
    assert problem is not None and problem.code == code, problem


@pytest.mark.parametrize("password,username", [
    ("correct horse battery", "alice"),
    ("stack-pass-12345", "agent1"),
    ("lily and the 9 moons", "li"),  # a two-letter name may appear
])
def test_good_passwords_pass(password, username):
    assert password_problem(password, username) is None


def test_the_shipped_list_is_a_few_thousand_lower_case_passwords():
    common = common_passwords()
    assert 2000 < len(common) < 20000
    assert {"123456", "password", "qwerty123", "iloveyou", "1qaz2wsx", "5201314"} <= common
    assert all(p == p.lower() for p in common)
    assert sum(len(p) >= MIN_PASSWORD_LENGTH for p in common) > 1000


def test_the_admin_page_refuses_weak_passwords(client, make_user, session):
    make_user("admin", username="root")
    login(client, "root")
    for password, words in (("12345678", "At least 10 characters."),
                            ("password1234", "This password is too common"),
                            ("newagent-2026", "must not be or contain the username")):
        token = get_token(client, "/admin/users/new")
        r = client.post("/admin/users/new", data={
            "csrf_token": token, "username": "newagent", "password": password,
            "role": "agent", "scope": "", "locale": "en", "active": "y"})
        assert r.status_code == 422 and words in text(r), password


def test_the_command_line_refuses_weak_passwords(tmp_path, fresh_database, redis_url):
    env = {"DATABASE_URL": fresh_database.create("sqlite"), "REDIS_URL": redis_url,
           "CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "cli-test-secret-key"}
    for password in ("12345678", "password", "opsadmin", "qwertyuiop", "opsadmin-2026"):
        r = CliRunner().invoke(main, ["users", "create", "--username", "opsadmin",
                                      "--password", password, "--role", "admin"], env=env)
        assert r.exit_code != 0 and "password:" in r.output, (password, r.output)
    r = CliRunner().invoke(main, ["users", "create", "--username", "opsadmin",
                                  "--password", "long and odd 77", "--role", "admin"], env=env)
    assert r.exit_code == 0, r.output


def test_the_demo_passwords_keep_the_rule_and_the_readme_shows_them():
    for demo in LOGINS:
        assert password_problem(demo.password, demo.username) is None, demo.username
    readme = (TOP / "README.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"`(\w+)` / `([^`]+)`", readme))
    assert shown, "the README names no demo logins"
    passwords = {demo.username: demo.password for demo in LOGINS}
    for username, password in shown.items():
        if username in passwords:
            assert passwords[username] == password, username
