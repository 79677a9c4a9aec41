"""The REST API blueprint (/api/v1): JSON errors everywhere. Domains add their routes to it."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from callcenter.auth import api_error

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


@api_bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return api_error(exc.code or 500, exc.description or exc.name)


# Domain routes register themselves on api_bp.
from callcenter.customers import api as _customers_api  # noqa: E402,F401
