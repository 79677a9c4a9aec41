"""Who is asking: session login (Flask-Login) or an API token, and what they may do."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, g, jsonify, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user

from callcenter.db import db_session
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.services import user_for_token

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.session_protection = "strong"
#: Flask-Login's own text is English only; worded through our catalogue instead.
login_manager.login_message = _l("Please log in to see this page.")


#: The session key holding the user's session generation at login.
GENERATION_KEY = "_generation"


def start_session(user: User) -> None:
    """Log ``user`` in (Flask-Login) in a session that lasts until their session
    generation changes: logout, a password change, deactivation (``end_sessions``)."""
    login_user(user)
    session[GENERATION_KEY] = user.session_generation


def keep_session(user: User) -> None:
    """Keep this session alive after ``end_sessions(user)`` ended all of them (a new
    password of one's own: the other browsers are logged out, this one is not)."""
    session[GENERATION_KEY] = user.session_generation


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The session's user, on every request and Socket.IO connect; None (logged out)
    when the user is gone or inactive, or the session is of an older generation: the
    session cookie is signed but kept by the browser, so only the server can end it.
    Logout ends all of the user's sessions, in every browser (README "Sessions")."""
    try:
        user = db_session().get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active:
        return None
    if session.get(GENERATION_KEY) != user.session_generation:
        return None
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def api_user() -> User | None:
    """The caller of an API request: by bearer token, else by session cookie."""
    if "api_user" in g:
        return g.api_user
    token = bearer_token()
    user = user_for_token(db_session(), token) if token else None
    g.api_token_used = user is not None
    if user is None and not token and current_user.is_authenticated:
        user = current_user._get_current_object()
    g.api_user = user
    return user


#: The ``code`` of API errors that come from HTTP itself rather than from a service.
HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "permission_denied",
              404: "not_found", 405: "method_not_allowed", 409: "conflict",
              413: "too_large", 415: "unsupported_media_type", 422: "invalid"}


def api_error(status: int, message: str, *, code: str | None = None, **extra):
    """The API's error body: ``{"error": {"status", "code", "message", ...}}``."""
    body = {"error": {"status": status, "code": code or HTTP_CODES.get(status, "error"),
                      "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def api_auth(permission: Permission | None = None):
    """Decorator for API views: 401 without a valid token/session, 403 without the permission."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = api_user()
            if user is None:
                return api_error(
                    401, "authentication required: send 'Authorization: Bearer <token>'")
            if not g.api_token_used and request.method not in ("GET", "HEAD", "OPTIONS"):
                # Cookie-authenticated writes need the CSRF token like any form.
                current_app.extensions["csrf"].protect()
            if permission is not None and not has_permission(user.role, permission):
                from callcenter.core.messages import render
                return api_error(403, render("permission_denied", {
                    "permission": permission.value, "role": user.role.value}))
            return view(*args, **kwargs)
        return wrapper
    return decorator


def permission_required(permission: Permission):
    """Decorator for web views (after login_required)."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not has_permission(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator
