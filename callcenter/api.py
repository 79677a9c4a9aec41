"""The REST API blueprint (/api/v1): JSON errors everywhere. Domains add their routes to it.

Routes are declared with ``api_route``, which registers the view, puts the token/session
check and the role's permission in front of it, and records the operation for the
OpenAPI document (``callcenter.openapi``). Errors are JSON bodies
``{"error": {"status", "code", "message", "fields"?, "problems"?}}``, also for URLs no
route matches: services raise ``callcenter.core.errors.AppError`` with a code, and the
handler here words it in the request's language (``callcenter.core.messages``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from sqlalchemy import Select
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    UnsupportedMediaType,
)
from werkzeug.routing import IntegerConverter, RequestRedirect

from callcenter.auth import api_auth, api_error, api_user
from callcenter.core.errors import AppError, Problem, StaleVersion, ValidationError
from callcenter.core.fields import MAX_ID
from callcenter.core.json_text import DuplicateKey, parse_json
from callcenter.core.locality import Locality
from callcenter.core.messages import error_message, field_messages
from callcenter.core.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, fetch_page
from callcenter.core.schema import Schema, json_schemas, parse
from callcenter.db import db_session
from callcenter.openapi import (
    Operation,
    Param,
    build_document,
    register_operation,
    register_schemas,
)
from callcenter.users.models import Role, Scope
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission

PREFIX = "/api/v1"
api_bp = Blueprint("api", __name__, url_prefix=PREFIX)

#: Largest JSON body the API reads (uploads of CSV files have their own, larger limit).
MAX_BODY_BYTES = 1024 * 1024
#: Deepest nesting of a JSON body; no request needs more than a few levels.
MAX_BODY_DEPTH = 16
#: Longest query-string value; filters are names, phones and serial numbers.
MAX_ARG_LENGTH = 500


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive 32-bit id, so an absurd number is a 404, not a DB overflow."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=MAX_ID)


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


@api_bp.errorhandler(AppError)
def _app_error(exc: AppError):
    """A service's error in the request's language. A not-found says nothing of the
    record (the same answer whether it is missing or outside the caller's scope)."""
    if isinstance(exc, ValidationError):
        return api_error(422, error_message(exc), code=exc.code,
                         fields=field_messages(exc), problems=problems_json(exc))
    return api_error(exc.status, error_message(exc), code=exc.code)


@api_bp.errorhandler(StaleVersion)
def _stale(exc: StaleVersion):
    """409 with the version the client must reload (also at the top level, for clients
    that read only that): tickets, customers, contacts, installed products alike."""
    response = jsonify({"error": {"status": 409, "code": exc.code,
                                  "message": error_message(exc),
                                  "current_version": exc.current_version},
                        "current_version": exc.current_version})
    response.status_code = 409
    return response


def problems_json(exc: ValidationError) -> dict[str, dict[str, Any]]:
    """Field -> ``{"code", "params"}``: what a client program branches on."""
    return {name: {"code": p.code, "params": _jsonable(p.params)}
            for name, p in exc.errors.items()}


def _jsonable(params) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else
            [str(i) for i in v] if isinstance(v, (list, tuple, set)) else str(v)
            for k, v in params.items()}


# --- request helpers ------------------------------------------------------------------

def _text_problem(value: str) -> Problem | None:
    if "\x00" in value:
        return Problem("nul_char")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Problem("not_unicode")
    return None


def _check_json_text(value: Any, path: str, errors: dict[str, Problem], depth: int = 0) -> None:
    """Reject text no database column can hold (NUL, lone surrogates), naming the field."""
    if depth > MAX_BODY_DEPTH:
        errors[path or "body"] = Problem("nested_too_deeply")
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
                errors[(path + "." if path else "") + repr(key)[1:-1]] = Problem("bad_field_name")
                continue
            _check_json_text(item, sub, errors, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_text(item, f"{path}[{i}]", errors, depth + 1)


def json_body() -> dict[str, Any]:
    """The request's JSON object; 415 unless sent as JSON, 400 if unparsable, 413 if huge,
    422 (``duplicate_key``, naming the key) when an object repeats a key."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    raw = request.get_data(cache=True)
    try:
        data = parse_json(raw)
    except DuplicateKey as exc:
        name = exc.key if _text_problem(exc.key) is None and exc.key.isprintable() else "body"
        raise ValidationError({name[:100] or "body": Problem("duplicate_key")}) from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    errors: dict[str, Problem] = {}
    _check_json_text(data, "", errors)
    if errors:
        raise ValidationError(errors)
    return data


def _check_args() -> None:
    errors = {}
    for name, value in request.args.items(multi=True):
        if len(value) > MAX_ARG_LENGTH:
            errors[name] = Problem("too_long", {"max": MAX_ARG_LENGTH})
        elif "\x00" in value:
            errors[name] = Problem("nul_char")
    if errors:
        raise ValidationError(errors)


def arg(name: str) -> str | None:
    """A query parameter, stripped; None when absent or empty."""
    value = request.args.get(name, "").strip()
    return value or None


def int_arg(name: str, default: int | None = None, *, minimum: int = 1,
            maximum: int = MAX_ID) -> int | None:
    value = arg(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 10 or \
            not minimum <= int(value) <= maximum:
        raise ValidationError({name: Problem("whole_number", {"min": minimum, "max": maximum})})
    return int(value)


def locality() -> Locality:
    """The call center's region and time zone, from the app's settings."""
    return current_app.config["SETTINGS"].locality


def phone_region() -> str:
    return locality().region


def today() -> date:
    """Today's date where the call center is (warranty ends are calendar dates)."""
    return locality().today()


PAGE_PARAMS = (
    Param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    Param("per_page", {"type": "integer", "minimum": 1, "default": DEFAULT_PER_PAGE},
          f"Items per page; at most {MAX_PER_PAGE} (larger values give {MAX_PER_PAGE})."),
)


def paginate(stmt: Select, serialize: Callable[[Any], dict]) -> dict[str, Any]:
    """One page of ``stmt`` (already scoped and ordered) as the API's page object."""
    result = fetch_page(db_session(), stmt, page=int_arg("page", 1, maximum=1_000_000),
                        per_page=int_arg("per_page", DEFAULT_PER_PAGE, maximum=MAX_ID))
    page, per_page, pages = result.page, result.per_page, result.pages

    def link(number: int) -> str:
        args = request.args.to_dict()
        args.update(page=str(number), per_page=str(per_page))
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    return {
        "items": [serialize(row) for row in result.items],
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "next": link(page + 1) if page < pages else None,
        "prev": link(min(page - 1, pages)) if page > 1 else None,
    }


# --- declaring routes -----------------------------------------------------------------

def _schema_name(schema: str | type[Schema] | None, mode: str) -> str | None:
    """A component name; a pydantic schema class is registered under its own name."""
    if schema is None or isinstance(schema, str):
        return schema
    register_schemas(json_schemas([schema], mode=mode))
    return schema.__name__


def api_route(method: str, rule: str, *, summary: str, tag: str,
              permission: Permission | None = None, public: bool = False,
              query: Iterable[Param] = (), body: str | type[Schema] | None = None,
              response: str | type[Schema] | None = None, status: int = 200,
              description: str = "", errors: Iterable[int] = ()):
    """Register an API view and its OpenAPI description in one declaration.

    The view gets the JSON body as ``body=``: when ``body`` is a ``Schema`` class, the
    fields the client sent, checked by it (unknown fields, types, limits: 422 naming
    each); when it names a component, the body as sent. Unless ``public``, the caller
    must be authenticated and their role must have ``permission`` (checked before
    anything is read, so a 403 reveals nothing).
    """
    def decorator(view: Callable) -> Callable:
        register_operation(Operation(
            method=method, rule=rule, endpoint=view.__name__, summary=summary, tag=tag,
            permission=permission.value if permission else None, public=public,
            query=tuple(query), body=_schema_name(body, "validation"),
            response=_schema_name(response, "serialization"), status=status,
            description=description, extra_errors=tuple(errors)))

        @wraps(view)
        def checked(*args, **kwargs):
            _check_args()
            if isinstance(body, type):
                kwargs["body"] = parse(body, json_body())
            elif body is not None:
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
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string",
                         "description": "Stable: what went wrong, for programs to branch "
                                        "on (`invalid`, `not_found`, ...)."},
                "message": {"type": "string",
                            "description": "In the request's language (Accept-Language)."},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Field or parameter name -> what is wrong."},
                "problems": {
                    "type": "object",
                    "description": "Field or parameter name -> its stable code and values.",
                    "additionalProperties": {
                        "type": "object", "required": ["code", "params"],
                        "properties": {"code": {"type": "string"},
                                       "params": {"type": "object"}}}},
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
            "role": {"enum": [role.value for role in Role]},
            "scope": {"enum": [scope.value for scope in Scope],
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
from kb import api as _kb_api  # noqa: E402,F401
from repairs import api as _repairs_api  # noqa: E402,F401
from repairs import api_catalogue as _repairs_catalogue_api  # noqa: E402,F401
from repairs import api_stock as _repairs_stock_api  # noqa: E402,F401
from repairs import api_tech as _repairs_tech_api  # noqa: E402,F401
from tickets import api as _tickets_api  # noqa: E402,F401
from tickets import api_notices as _notices_api  # noqa: E402,F401
from tickets import api_panel as _tickets_panel_api  # noqa: E402,F401
from tickets import api_policies as _sla_policies_api  # noqa: E402,F401
from tickets import api_types as _ticket_types_api  # noqa: E402,F401
