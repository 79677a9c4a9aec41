"""Issue 9, defect 5: a token or password in a query string was written to the access
log as it came. Every process now redacts such values, and Authorization headers and
bearer tokens, from every log record (callcenter.logredact)."""

from __future__ import annotations

import logging

import pytest
import requests
from serve_support import ServeProcess, serve_env

from callcenter.logredact import REDACTED, install_redaction, redact

SECRETS = {"token": "abc123", "password": "hunter2pass", "secret": "s3cr3tvalue",
           "api_key": "key-98765", "access_token": "tok-55555"}


def test_the_served_apps_access_log_has_no_secrets(fresh_database, redis_url, tmp_path):
    server = ServeProcess(serve_env(fresh_database.create("sqlite"), redis_url,
                                    tmp_path / "instance"),
                          tmp_path / "serve.log", "--access-log").wait_ready()
    try:
        query = "&".join(f"{k}={v}" for k, v in SECRETS.items())
        r = requests.get(f"{server.base}/login?next=/customers/&{query}", timeout=10)
        assert r.status_code == 200
        requests.get(f"{server.base}/healthz?token=abc123", timeout=10,
                     headers={"Authorization": "Bearer abc123-header-token"})
    finally:
        assert server.stop() == 0
    lines = [line for line in server.output().splitlines() if "GET /" in line]
    assert any("/login?" in line for line in lines), server.output()
    assert any("/healthz?" in line for line in lines), server.output()
    log = "\n".join(lines)
    for name, value in SECRETS.items():
        assert value not in server.output(), name
        assert f"{name}={REDACTED}" in log, name
    assert "next=/customers/" in log  # what is no secret stays readable


def test_werkzeug_request_lines_are_redacted_too(caplog):
    install_redaction()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s -', "127.0.0.1", "now",
                                           "GET /x?token=abc123&q=1 HTTP/1.1", 200)
    assert "abc123" not in caplog.text and f"token={REDACTED}&q=1" in caplog.text


@pytest.mark.parametrize("line,gone", [
    ("Authorization: Bearer abcdef0123456789", "abcdef0123456789"),
    ("headers={'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpwYXNzd29yZA=="),
    ("proxy-authorization=Digest xyz987654321", "xyz987654321"),
    ("calling with bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("POST /login username=a&password=letmein99&next=/", "letmein99"),
    ("GET /api?API-KEY=zzz111&PassWord=Upper1", "zzz111"),
    ("GET /api?x=1&password%3Dpct", "pct"),
])
def test_secrets_are_redacted(line, gone):
    assert gone not in redact(line)
    assert REDACTED in redact(line)


def test_other_text_is_left_alone():
    for line in ("GET /customers/?q=Zhang&page=2 HTTP/1.1", "author=bob tokens: 3",
                 "calls answered: 12"):
        assert redact(line) == line


def test_a_record_with_arguments_is_redacted_once_formatted(caplog):
    install_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("callcenter.test").info("url %s", "/x?secret=topsecret1")
        logging.getLogger("callcenter.test").info("%(n)s calls", {"n": 3})
    assert "topsecret1" not in caplog.text and "3 calls" in caplog.text
