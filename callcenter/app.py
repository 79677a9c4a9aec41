"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from callcenter import assets, db, https
from callcenter.auth import login_manager
from callcenter.config import Settings, load_settings

csrf = CSRFProtect()
babel = Babel()

LANGUAGES = {"zh_CN": "中文", "en": "English"}
log = logging.getLogger(__name__)


def _accepted() -> str | None:
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return None if best is None else ("zh_CN" if best in ("zh", "zh_CN") else "en")


def select_locale() -> str:
    """Pages: the language chosen in the session, else the user's, else the browser's.
    The REST API: the request's ``Accept-Language``, else the caller's own setting."""
    if request.path.startswith("/api/"):
        from callcenter.auth import api_user
        user = api_user()
        accepted = _accepted()
        if accepted is None and user is not None and user.locale in LANGUAGES:
            return user.locale
        return accepted or "en"
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(["zh_CN", "zh", "en"]) in ("zh", "zh_CN") \
        and "zh_CN" or "en"


def create_app(settings: Settings | None = None, *, db_bind=None, testing: bool = False,
               session_options: dict | None = None) -> Flask:
    """Build the app. Touches no network: connections are made on first use."""
    settings = settings or load_settings()
    app = Flask("callcenter", instance_path=str(settings.instance_path),
                static_folder=str(assets.static_dir()), static_url_path="/static",
                template_folder="templates")
    app.config.update(settings.as_flask_config())
    app.config["TESTING"] = testing
    app.config["SETTINGS"] = settings
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(assets.TRANSLATIONS)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from callcenter.logredact import install_redaction
    install_redaction()  # whoever hosts the app: no secret from a URL or header in the log

    # Registered before the database's commit, so that they run after it (last-first)
    # and also mark the 503 that replaces an answer whose commit failed.
    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self' ws: wss:; frame-ancestors 'none'")
        return response

    from callcenter import compression
    compression.init_app(app)  # before the database's hook: compresses after the commit
    https.init_app(app, hsts_max_age=settings.hsts_max_age)
    db.init_app(app, db_bind, **(session_options or {}))
    from callcenter.core.domains import check_domain_settings, init_domains
    init_domains()  # the domains' signal receivers and live events (once per process)
    check_domain_settings(settings)
    login_manager.init_app(app)
    from callcenter import login_throttle
    login_throttle.init_app(app)
    csrf.init_app(app)
    app.extensions["csrf"] = csrf
    from callcenter.i18n import stale_catalogues
    # A wheel has its catalogues compiled; a source tree needs `python -m callcenter.i18n`.
    if assets.is_source_tree() and (stale := stale_catalogues(assets.TRANSLATIONS)):
        log.warning("translations not compiled (run `python -m callcenter.i18n`): %s",
                    ", ".join(str(path) for path in stale))
    babel.init_app(app, locale_selector=select_locale,
                   timezone_selector=lambda: app.config["TIMEZONE"])
    from callcenter.core import display
    display.init_app(app)  # one date style per language, over Flask-Babel's filters
    from callcenter.core import lists
    lists.init_app(app)  # lists in running text: 、 in Chinese, ", " in English

    from callcenter.api import api_bp
    from callcenter.customers.views import customers_bp
    from callcenter.imports.views import imports_bp
    from callcenter.products.views import products_bp
    from callcenter.wallboard.monitor_views import monitor_bp
    from callcenter.wallboard.views import wallboard_bp
    from callcenter.web import web_bp
    csrf.exempt(api_bp)  # api_auth enforces CSRF itself for cookie-authenticated writes
    app.register_blueprint(web_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(products_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(api_bp)
    # Live updates (Socket.IO on the Redis message queue) and the agent desk.
    from callcenter.desk.views import desk_bp
    from callcenter.realtime.server import init_realtime
    init_realtime(app)
    app.register_blueprint(desk_bp)
    app.register_blueprint(wallboard_bp)
    app.register_blueprint(monitor_bp)
    from callcenter.users.views import users_bp
    app.register_blueprint(users_bp)
    from callcenter.audit.views import audit_bp
    app.register_blueprint(audit_bp)
    from callcenter.users.account_views import account_bp
    app.register_blueprint(account_bp)
    from tickets.views import tickets_bp
    app.register_blueprint(tickets_bp)
    from repairs.views_pages import repairs_bp
    app.register_blueprint(repairs_bp)
    from callcenter.calls.views import calls_bp
    app.register_blueprint(calls_bp)
    from kb import views_hooks, views_taxonomy  # noqa: F401 (their pages and globals on kb_bp)
    from kb.views import kb_bp
    app.register_blueprint(kb_bp)
    from repairs.views_tech import tech_bp
    app.register_blueprint(tech_bp)
    from callcenter import health
    health.init_app(app)   # /healthz (probes, no login) and /metrics (Prometheus)

    @app.before_request
    def _locale_param():
        g.languages = LANGUAGES

    https.trust_proxies(app, settings.proxy_hops)  # last: it wraps every middleware
    return app
