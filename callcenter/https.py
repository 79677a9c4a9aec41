"""Served over HTTPS behind the TLS-terminating proxy: scheme, secure cookies, HSTS.

In production HAProxy terminates TLS (deploy/haproxy/haproxy.cfg) and tells the app
with ``X-Forwarded-Proto`` and ``X-Forwarded-For``. Those headers are believed only from
the ``PROXY_HOPS`` proxies in front (werkzeug's ``ProxyFix``); with the default 0 (the
quick start, served directly) they are ignored, so a client cannot claim HTTPS or
another address. When a request came over HTTPS:

* the session cookie is ``Secure`` (``SESSION_COOKIE_SECURE=auto``, the default;
  ``true``: always, ``false``: never);
* the answer carries ``Strict-Transport-Security`` (``HSTS_MAX_AGE`` seconds; 0: none).
"""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, ``Secure`` per request when set to auto."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = app.config.get("SESSION_COOKIE_SECURE_MODE", "auto")
        if mode == "auto":
            return _is_https(request)
        return bool(app.config["SESSION_COOKIE_SECURE"])


def _is_https(req: Request) -> bool:
    try:
        return req.is_secure
    except RuntimeError:  # no request (a test client's session transaction)
        return False


def init_app(app: Flask, *, hsts_max_age: int) -> None:
    """Secure session cookies and HSTS on requests that came over HTTPS.

    Register it before anything that may replace a response (``callcenter.db``'s
    commit turns a failed one into a 503): after-request functions run last-first.
    """
    app.session_interface = _SessionInterface()

    @app.after_request
    def _hsts(response: Response) -> Response:
        if hsts_max_age > 0 and _is_https(request):
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={hsts_max_age}")
        return response


def trust_proxies(app: Flask, hops: int) -> None:
    """Believe the X-Forwarded-For/-Proto of ``hops`` proxies; call it last, so that it
    wraps everything (the Socket.IO middleware included)."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops,  # type: ignore[method-assign]
                                x_proto=hops)
