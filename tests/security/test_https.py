"""Issue 9, defect 7: the session cookie could never be Secure and no HSTS was sent.

Now, behind the TLS-terminating proxy (``PROXY_HOPS``: whose X-Forwarded-Proto to
believe), a request that came over HTTPS gets a Secure session cookie
(``SESSION_COOKIE_SECURE=auto``) and ``Strict-Transport-Security``; served directly (the
quick start), a client cannot claim HTTPS. The real proxy: test_proxy_tls.py.
"""

from __future__ import annotations

import pytest

from callcenter.app import create_app
from callcenter.config import ConfigError, load_settings

HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}


def _client(app_settings_env: dict, tmp_path, database_url, redis_url):
    env = {"CALLCENTER_INSTANCE": str(tmp_path), "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "SECRET_KEY": "https-test-secret-key",
           **app_settings_env}
    return create_app(load_settings(env), testing=True).test_client()


def _session_cookie(reply) -> str:
    [cookie] = [c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


@pytest.fixture
def make_client(tmp_path, database_url, redis_url):
    return lambda **env: _client(env, tmp_path, database_url, redis_url)


def test_behind_the_proxy_https_requests_get_a_secure_cookie_and_hsts(make_client):
    client = make_client(PROXY_HOPS="1")
    secure = client.get("/login", headers=HTTPS)
    assert secure.status_code == 200
    assert "; Secure" in _session_cookie(secure)
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert "; Secure" not in _session_cookie(plain)
    assert "Strict-Transport-Security" not in plain.headers


def test_served_directly_a_client_cannot_claim_https(make_client):
    client = make_client()  # PROXY_HOPS=0: the quick start
    reply = client.get("/login", headers=HTTPS)
    assert "; Secure" not in _session_cookie(reply)
    assert "Strict-Transport-Security" not in reply.headers


def test_settings_force_or_forbid_secure_and_turn_hsts_off(make_client):
    always = make_client(SESSION_COOKIE_SECURE="true").get("/login")
    assert "; Secure" in _session_cookie(always)
    never = make_client(PROXY_HOPS="1", SESSION_COOKIE_SECURE="false", HSTS_MAX_AGE="0")
    reply = never.get("/login", headers=HTTPS)
    assert "; Secure" not in _session_cookie(reply)
    assert "Strict-Transport-Security" not in reply.headers


def test_bad_values_name_the_variable(tmp_path):
    base = {"CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "https-test-secret-key"}
    for name, bad in [("SESSION_COOKIE_SECURE", "maybe"), ("PROXY_HOPS", "-1"),
                      ("HSTS_MAX_AGE", "a year")]:
        with pytest.raises(ConfigError, match=name):
            load_settings({**base, name: bad})
    defaults = load_settings(base)
    assert (defaults.proxy_hops, defaults.session_cookie_secure, defaults.hsts_max_age) == \
        (0, "auto", 31_536_000)
