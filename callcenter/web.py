"""Web pages shared by every domain: login, logout, language switch, home, error pages."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import (
    Conflict,
    Forbidden,
    HTTPException,
    InternalServerError,
    UnprocessableEntity,
)
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from callcenter.app import LANGUAGES
from callcenter.auth import start_session
from callcenter.core.errors import AppError, NotFound, PermissionDenied
from callcenter.core.messages import error_message
from callcenter.db import db_session, own_transaction, utcnow
from callcenter.login_throttle import login_throttle
from callcenter.users.models import Role
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.services import LoginThrottled, authenticate, end_sessions

web_bp = Blueprint("web", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class PostForm(FlaskForm):
    """A form with nothing but the CSRF token: logout, language switch, one-click actions."""


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch in target for ch in "\r\n\t"):
        return None
    return target


@web_bp.app_context_processor
def _layout_context() -> dict:
    """What every page's layout needs: locale, languages, the post-only form, the nav."""
    user = current_user if current_user.is_authenticated else None

    def can(permission: str) -> bool:
        return user is not None and has_permission(user.role, Permission(permission))

    return {
        "get_locale": get_locale,
        "languages": LANGUAGES,
        "post_form": PostForm(),
        "can": can,
        "has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
    }


@web_bp.route("/")
@login_required
def home():
    # Finance's day starts with the repair orders waiting to be settled.
    if current_user.role == Role.FINANCE and "repairs.index" in current_app.view_functions:
        return redirect(url_for("repairs.index", view="all", status="settlement"))
    # A supervisor's day is the wallboard (queues, agents, live monitoring), phone or not.
    if current_user.role == Role.SUPERVISOR and "wallboard.index" in current_app.view_functions:
        return redirect(url_for("wallboard.index"))
    return redirect(url_for("customers.search"))


#: The answer to a throttled login attempt (RFC 6585).
TOO_MANY_REQUESTS = 429


def throttled_page(form: FlaskForm, template: str, wait_s: int, **context):
    """The page again, 429, saying how long to wait (the same words whatever was
    throttled, and whether or not the account exists), with ``Retry-After``."""
    error = _("Too many login attempts. Try again in %(wait)s.",
              wait=format_timedelta(timedelta(seconds=wait_s), threshold=1.1,
                                    add_direction=False))
    body = render_template(template, form=form, error=error, **context)
    return body, TOO_MANY_REQUESTS, {"Retry-After": str(wait_s)}


def _seconds_until(until: datetime) -> int:
    return max(1, math.ceil((until - utcnow()).total_seconds()))


@web_bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next")) or url_for("web.home")
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm(next=target)
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=None)
    settings = current_app.config["SETTINGS"]
    throttle = login_throttle()
    username = form.username.data.strip()
    address = request.remote_addr or "unknown"
    wait = throttle.before_attempt(username, address)
    if wait:
        return throttled_page(form, "login.html", wait)
    try:
        user = authenticate(db_session(), username, form.password.data,
                            max_failures=settings.login_max_failures,
                            backoff_base_s=settings.login_backoff_s,
                            backoff_max_s=settings.login_backoff_max_s,
                            counter_session=own_transaction,
                            unknown_name=lambda: throttle.unknown_name_wait(username))
    except LoginThrottled as throttled:
        return throttled_page(form, "login.html", _seconds_until(throttled.until))
    if user is None:
        # The failed-login count is already committed in a transaction of its own.
        throttle.failed(address)
        return render_template("login.html", form=form,
                               error=_("Wrong username or password."))
    throttle.succeeded(username, address)
    start_session(user)
    if "locale" not in session and user.locale in LANGUAGES:
        session["locale"] = user.locale
    return redirect(target)


@web_bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out: ends every session of this user, in every browser (README "Sessions"),
    so that a copy of the session cookie is worth nothing afterwards."""
    if PostForm().validate_on_submit():
        end_sessions(db_session(), current_user._get_current_object())
        logout_user()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("web.login"))


@web_bp.route("/language", methods=["POST"])
def language():
    """Switch the UI language; remembered in the session and, when logged in, for the user."""
    form = PostForm()
    locale = request.form.get("locale", "")
    if form.validate_on_submit() and locale in LANGUAGES:
        session["locale"] = locale
        if current_user.is_authenticated and current_user.locale != locale:
            current_user.locale = locale
            db_session().flush()
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


#: How a domain error shows as a page: the HTTP error with the same status.
_PAGE_ERRORS = {404: HTTPNotFound, 403: Forbidden, 409: Conflict, 422: UnprocessableEntity}


@web_bp.app_errorhandler(AppError)
def render_app_error(exc: AppError):
    """A service's error that no view handled: its status, as the product's error page
    (a not-found says nothing of whether the record exists)."""
    if request.path.startswith("/api/"):
        from callcenter.api import _app_error
        return _app_error(exc)
    page_error = _PAGE_ERRORS.get(exc.status, InternalServerError)
    description = None if isinstance(exc, NotFound | PermissionDenied) else error_message(exc)
    return render_error(page_error(description))


@web_bp.app_errorhandler(HTTPException)
def render_error(exc: HTTPException):
    """Errors as pages in the product's layout; the REST API keeps its JSON bodies."""
    if request.path.startswith("/api/"):
        from callcenter.auth import api_error
        return api_error(exc.code or 500, exc.description or exc.name)
    if exc.code is None or exc.code < 400:
        return exc
    return render_template("error.html", error=exc), exc.code
