"""When the database goes away under a request: retry a read once, else 503, never 500.

PostgreSQL drops connections (a restart, a failover, ``pg_terminate_backend``, a network
blip). The engine checks each pooled connection before use (``pool_pre_ping``), but a
connection can die *during* a request. What then, decided once here and in
``callcenter.db``:

* a **read** (GET or HEAD) whose connection died, or that met another transient error
  (``is_transient``), before it wrote anything is run once more, from its first
  ``before_request``, on a fresh connection; nothing was sent to the client yet;
* anything else, or a read that fails again, answers **503** with ``Retry-After``: the
  API's JSON error (``code`` "unavailable"), or a short page that needs no database (not
  the layout: that would load the user). Writes are never retried: the client decides,
  so a change is never made twice;
* a write whose COMMIT fails is a 503 too, never the 2xx the view had prepared; a read
  whose (empty) commit fails keeps its answer, which was read in full.
"""

from __future__ import annotations

import logging
import sqlite3

from flask import Response, current_app, jsonify, request, session
from flask_babel import force_locale
from sqlalchemy import exc as sa_exc

from callcenter.core.messages import render

log = logging.getLogger(__name__)

#: Seconds a client is told to wait before trying again.
RETRY_AFTER_S = 5
#: Requests that only read, and so may run again after a lost connection.
RETRYABLE_METHODS = frozenset({"GET", "HEAD"})
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_transient(exc: BaseException) -> bool:
    """True for a database failure that says nothing about the request: a connection
    lost or refused, the server shutting down, a deadlock or serialization failure, a
    lock or statement timeout, no pooled connection free in time; SQLite busy/locked."""
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection in time
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        # SQLite's OperationalError is also "no such table": a bug, not an outage.
        return any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


def _locale() -> str:
    """The page's language without the database: the session's choice, else the browser's."""
    chosen = session.get("locale") if not request.path.startswith("/api/") else None
    if chosen in ("zh_CN", "en"):
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return "zh_CN" if best in ("zh", "zh_CN") else "en"


def unavailable_response() -> Response:
    """503 with Retry-After: JSON for the API, a page of its own for the web."""
    with force_locale(_locale()):
        message = render("unavailable")
        if request.path.startswith("/api/"):
            response = jsonify({"error": {"status": 503, "code": "unavailable",
                                          "message": message}})
        else:
            # Straight from the template: the app's context processors would load the user.
            page = current_app.jinja_env.get_template("unavailable.html").render(
                message=message, retry_after=RETRY_AFTER_S, locale=_locale())
            response = Response(page, mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_database_error(exc: Exception):
    """Error handler for database errors that escaped a view: transient ones are 503."""
    if not is_transient(exc):
        raise exc
    log.warning("%s %s: database unavailable (%s); answered 503", request.method,
                request.path, type(exc.__cause__ or exc).__name__)
    return unavailable_response()
