"""The REST API blueprint (/api/v1): JSON errors everywhere. Domains add their routes to it.

Routes are declared with ``api_route``, which registers the view, puts the token/session
check and the role's permission in front of it, and records the operation for the
OpenAPI document (``callcenter.openapi``). Errors are JSON bodies
``{"error": {"status", "message", "fields"?}}``, also for URLs no route matches.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request, url_for
from sqlalchemy import Select, func, select
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    UnsupportedMediaType,
)
from werkzeug.routing import IntegerConverter, RequestRedirect

from callcenter.auth import api_auth, api_error, api_user
from callcenter.customers.errors import (
    AddressNotFound,
    ContactNotFound,
    CustomerNotFound,
    PermissionDenied,
    ProductNotFound,
    ValidationError,
)
from callcenter.db import db_session
from callcenter.openapi import (
    ID_MAX,
    Operation,
    Param,
    build_document,
    register_operation,
    register_schemas,
)
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission

PREFIX = "/api/v1"
api_bp = Blueprint("api", __name__, url_prefix=PREFIX)

#: Largest JSON body the API reads (uploads of CSV files have their own, larger limit).
MAX_BODY_BYTES = 1024 * 1024
#: Deepest nesting of a JSON body; no request needs more than a few levels.
MAX_BODY_DEPTH = 16
#: Longest query-string value; filters are names, phones and serial numbers.
MAX_ARG_LENGTH = 500
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive 32-bit id, so an absurd number is a 404, not a DB overflow."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=ID_MAX)


@api_bp.record_once
def _register_converter(state) -> None:
    # Runs before the blueprint's rules are added (it is recorded first).
    state.app.url_map.converters["id"] = IdConverter


# --- errors ---------------------------------------------------------------------------

def _is_api_path() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


@api_bp.before_app_request
def _routing_errors_as_json():
    """404/405 for URLs no API route matches: no blueprint handler sees those, so map here."""
    exc = request.routing_exception
    if exc is None or isinstance(exc, RequestRedirect) or not _is_api_path():
        return None
    if not isinstance(exc, HTTPException):
        return None
    response = api_error(exc.code or 400, exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


@api_bp.before_request
def _limit_body():
    request.max_content_length = MAX_BODY_BYTES


@api_bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return api_error(exc.code or 500, exc.description or exc.name)


@api_bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):
    return api_error(422, "invalid input: " + str(exc), fields=exc.errors)


@api_bp.errorhandler(CustomerNotFound)
@api_bp.errorhandler(ContactNotFound)
@api_bp.errorhandler(ProductNotFound)
@api_bp.errorhandler(AddressNotFound)
def _not_found(exc: LookupError):
    # The same answer whether the record is missing or outside the caller's scope.
    return api_error(404, "not found")


@api_bp.errorhandler(PermissionDenied)
def _permission_denied(exc: PermissionDenied):
    return api_error(403, str(exc))


# --- request helpers ------------------------------------------------------------------

def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def _check_json_text(value: Any, path: str, errors: dict[str, str], depth: int = 0) -> None:
    """Reject text no database column can hold (NUL, lone surrogates), naming the field."""
    if depth > MAX_BODY_DEPTH:
        errors[path or "body"] = "nested too deeply"
        return
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem:
            errors[path or "body"] = problem
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            problem = _text_problem(key)
            if problem:
                errors[(path + "." if path else "") + repr(key)[1:-1]] = "field name " + problem
                continue
            _check_json_text(item, sub, errors, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_text(item, f"{path}[{i}]", errors, depth + 1)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_body() -> dict[str, Any]:
    """The request's JSON object; 415 unless sent as JSON, 400 if unparsable, 413 if huge."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    errors: dict[str, str] = {}
    _check_json_text(data, "", errors)
    if errors:
        raise ValidationError(errors)
    return data


def _check_args() -> None:
    errors = {}
    for name, value in request.args.items(multi=True):
        if len(value) > MAX_ARG_LENGTH:
            errors[name] = f"at most {MAX_ARG_LENGTH} characters"
        elif "\x00" in value:
            errors[name] = "contains a NUL character"
    if errors:
        raise ValidationError(errors)


def arg(name: str) -> str | None:
    """A query parameter, stripped; None when absent or empty."""
    value = request.args.get(name, "").strip()
    return value or None


def int_arg(name: str, default: int | None = None, *, minimum: int = 1,
            maximum: int = ID_MAX) -> int | None:
    value = arg(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 10 or \
            not minimum <= int(value) <= maximum:
        raise ValidationError({name: f"must be a whole number from {minimum} to {maximum}"})
    return int(value)


def phone_region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def today() -> date:
    """Today's date where the call center is (warranty ends are calendar dates)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


PAGE_PARAMS = (
    Param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    Param("per_page", {"type": "integer", "minimum": 1, "default": DEFAULT_PER_PAGE},
          f"Items per page; at most {MAX_PER_PAGE} (larger values give {MAX_PER_PAGE})."),
)


def paginate(stmt: Select, serialize: Callable[[Any], dict]) -> dict[str, Any]:
    """One page of ``stmt`` (already scoped and ordered) as the API's page object."""
    page = int_arg("page", 1, maximum=1_000_000)
    per_page = min(int_arg("per_page", DEFAULT_PER_PAGE, maximum=ID_MAX), MAX_PER_PAGE)
    session = db_session()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    pages = max(1, math.ceil(total / per_page))

    def link(number: int) -> str:
        args = request.args.to_dict()
        args.update(page=str(number), per_page=str(per_page))
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    return {
        "items": [serialize(row) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "next": link(page + 1) if page < pages else None,
        "prev": link(min(page - 1, pages)) if page > 1 else None,
    }


def page_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page", "pages", "next", "prev"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "pages": {"type": "integer", "minimum": 1},
            "next": {"type": ["string", "null"], "description": "URL of the next page."},
            "prev": {"type": ["string", "null"], "description": "URL of the previous page."},
        },
    }


def list_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array",
                                 "items": {"$ref": f"#/components/schemas/{item}"}}},
    }


# --- declaring routes -----------------------------------------------------------------

def api_route(method: str, rule: str, *, summary: str, tag: str,
              permission: Permission | None = None, public: bool = False,
              query: Iterable[Param] = (), body: str | None = None,
              response: str | None = None, status: int = 200, description: str = "",
              errors: Iterable[int] = ()):
    """Register an API view and its OpenAPI description in one declaration.

    The view gets the JSON body as ``body=`` when ``body`` names a request schema.
    Unless ``public``, the caller must be authenticated and their role must have
    ``permission`` (checked before anything is read, so a 403 reveals nothing).
    """
    def decorator(view: Callable) -> Callable:
        register_operation(Operation(
            method=method, rule=rule, endpoint=view.__name__, summary=summary, tag=tag,
            permission=permission.value if permission else None, public=public,
            query=tuple(query), body=body, response=response, status=status,
            description=description, extra_errors=tuple(errors)))

        @wraps(view)
        def checked(*args, **kwargs):
            _check_args()
            if body is not None:
                kwargs["body"] = json_body()
            return view(*args, **kwargs)

        guarded = checked if public else api_auth(permission)(checked)
        api_bp.add_url_rule(rule, endpoint=view.__name__, view_func=guarded, methods=[method])
        return view
    return decorator


def created(payload: dict[str, Any]):
    response = jsonify(payload)
    response.status_code = 201
    return response


# --- who am I, and the document -------------------------------------------------------

register_schemas({
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Field or parameter name -> what is wrong."},
            },
        }},
    },
    "Me": {
        "type": "object",
        "required": ["id", "username", "role", "scope", "permissions", "authenticated_by"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"enum": ["agent", "technician", "supervisor", "admin"]},
            "scope": {"enum": ["own", "related", "department", "all"],
                      "description": "Which customers the caller sees."},
            "department": {"type": ["object", "null"], "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"},
                "path": {"type": "string"}}},
            "permissions": {"type": "array", "items": {"type": "string"}},
            "authenticated_by": {"enum": ["token", "session"]},
        },
    },
    "OpenAPIDocument": {"type": "object", "description": "This document."},
})


@api_route("GET", "/me", summary="Who am I: role, scope, permissions", tag="users",
           response="Me")
def me():
    user = api_user()
    dept = user.department
    return jsonify({
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "scope": user.scope.value,
        "department": {"id": dept.id, "name": dept.name, "path": dept.path} if dept else None,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[user.role]),
        "authenticated_by": "token" if g.get("api_token_used") else "session",
    })


@api_route("GET", "/openapi.json", summary="This OpenAPI document", tag="meta", public=True,
           response="OpenAPIDocument",
           description="Public: it describes the interface and holds no data.")
def openapi_document():
    return jsonify(build_document(PREFIX))


# Domain routes register themselves on api_bp.
from callcenter.calls import api as _calls_api  # noqa: E402,F401
from callcenter.customers import api as _customers_api  # noqa: E402,F401
from callcenter.products import api as _products_api  # noqa: E402,F401
from callcenter.wallboard import api as _wallboard_api  # noqa: E402,F401
