"""Issue 9, defect 7: the web was published over plain HTTP only.

The real haproxy binary with the deployed deploy/haproxy/haproxy.cfg (TLS with a
throwaway certificate made by the deployed make-cert.sh; tests/proxy_support.py) in
front of a real `callcenter serve` with the compose setting PROXY_HOPS=1: HTTPS is
served with a Secure session cookie and HSTS, plain HTTP is only a redirect to HTTPS,
and a client cannot make the app believe a plain request came over HTTPS.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
from proxy_support import make_cert, proxied_serves
from stack import seed

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None
                                or shutil.which("openssl") is None,
                                reason="haproxy or openssl is not installed")


@pytest.fixture
def proxy(fresh_database, redis_url, redis_conn, tmp_path):
    url, seeded = fresh_database.seeded("sqlite", seed)
    with proxied_serves(url, redis_url, tmp_path, count=1, seeded=seeded) as proxied:
        yield proxied


def _get(url: str, proxy, **kwargs) -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace verify
    return session.get(url, verify=str(proxy.cert), allow_redirects=False, timeout=10,
                       **kwargs)


def test_https_is_served_with_a_secure_cookie_and_hsts(proxy):
    reply = _get(proxy.https + "/login", proxy)
    assert reply.status_code == 200
    cookies = reply.raw.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith("session=")]
    assert session and "; Secure" in session[0] and "HttpOnly" in session[0]
    sticky = [c for c in cookies if c.startswith("CC_WEB=")]
    assert sticky and "Secure" in sticky[0]
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_only_redirects_to_https(proxy):
    port = proxy.https.rsplit(":", 1)[1]
    for path in ("/login", "/api/v1/me?x=1"):
        reply = _get(proxy.http + path, proxy,
                     headers={"X-Forwarded-Proto": "https"})  # a claim changes nothing
        assert reply.status_code == 301
        assert reply.headers["Location"] == f"https://127.0.0.1:{port}{path}"
        assert "Set-Cookie" not in reply.headers


def test_a_client_cannot_downgrade_the_scheme_the_app_sees(proxy):
    reply = _get(proxy.https + "/login", proxy, headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" in reply.headers


def test_make_cert_keeps_an_existing_certificate(tmp_path):
    first = make_cert(tmp_path / "certs").read_bytes()
    assert make_cert(tmp_path / "certs").read_bytes() == first
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName",
                           "-in", str(tmp_path / "certs" / "site.pem")],
                          capture_output=True, text=True, check=True, timeout=30).stdout
    assert "IP Address:127.0.0.1" in text
