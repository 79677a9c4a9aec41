"""The OpenAPI 3.1 document of /api/v1, built from the declarations that register the routes.

Every API view is registered through ``callcenter.api.api_route``, which records an
``Operation`` here; the schemas the operations name are registered next to the routes
(``callcenter.customers.schemas``). ``build_document`` turns both into the document
served at ``GET /api/v1/openapi.json``. Because the route and its description come from
one declaration they cannot drift apart; tests/test_openapi.py checks it against the
app's url_map anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from callcenter.core.fields import MAX_ID

#: Ids in URLs: ``<id:customer_id>`` (see callcenter.api.IdConverter).
_RULE_ARG = re.compile(r"<(?:(?P<conv>[^:<>]+):)?(?P<name>[^<>]+)>")

API_TITLE = "Call center REST API"
API_VERSION = "1.0.0"


@dataclass(frozen=True)
class Param:
    """A query parameter."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str                    # "GET", "POST", "PATCH", ...
    rule: str                      # Flask rule under the blueprint: "/customers/<id:customer_id>"
    endpoint: str
    summary: str
    tag: str
    permission: str | None         # Permission value the role needs, None = any signed-in user
    public: bool = False           # no authentication at all
    query: tuple[Param, ...] = ()
    body: str | None = None        # component schema of the JSON request body
    response: str | None = None    # component schema of the success body (None: no body)
    status: int = 200
    description: str = ""
    extra_errors: tuple[int, ...] = field(default=())


OPERATIONS: list[Operation] = []
SCHEMAS: dict[str, dict[str, Any]] = {}


def register_operation(op: Operation) -> None:
    if any(o.method == op.method and o.rule == op.rule for o in OPERATIONS):
        raise ValueError(f"operation {op.method} {op.rule} declared twice")
    OPERATIONS.append(op)


def register_schemas(schemas: dict[str, dict[str, Any]]) -> None:
    for name, schema in schemas.items():
        if name in SCHEMAS and SCHEMAS[name] != schema:
            raise ValueError(f"schema {name} declared twice, differently")
        SCHEMAS[name] = schema


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_path(prefix: str, rule: str) -> str:
    """``/customers/<id:customer_id>`` -> ``/api/v1/customers/{customer_id}``."""
    return prefix + _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _path_params(rule: str) -> list[dict[str, Any]]:
    params = []
    for m in _RULE_ARG.finditer(rule):
        schema: dict[str, Any] = {"type": "string"}
        if m.group("conv") in ("id", "int"):
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        params.append({"name": m.group("name"), "in": "path", "required": True,
                       "schema": schema})
    return params


_ERROR_TEXT = {
    400: "The body is not valid JSON, or not a JSON object.",
    401: "No valid token (or session).",
    403: "The caller's role lacks the permission.",
    404: "No such record, or not within the caller's scope (the two look the same).",
    409: "The record cannot take this change in its current state.",
    413: "The body is larger than the API accepts.",
    415: "The body is not sent as application/json.",
    422: "Validation failed; `error.fields` names each offending field or parameter.",
}


def _operation_doc(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
    }
    description = op.description
    if op.permission:
        description = (description + "\n\n" if description else "") + \
            f"Requires the permission `{op.permission}`."
        doc["x-permission"] = op.permission
    if description:
        doc["description"] = description
    params = _path_params(op.rule) + [
        {"name": p.name, "in": "query", "required": False, "schema": p.schema,
         **({"description": p.description} if p.description else {})}
        for p in op.query]
    if params:
        doc["parameters"] = params
    if op.body:
        doc["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": ref(op.body)}}}
    success: dict[str, Any] = {"description": "Success."}
    if op.response:
        success["content"] = {"application/json": {"schema": ref(op.response)}}
    responses: dict[str, Any] = {str(op.status): success}
    errors = set(op.extra_errors)
    if not op.public:
        errors.add(401)
    if op.permission:
        errors.add(403)
    if _RULE_ARG.search(op.rule):
        errors.add(404)
    if op.body:
        errors.update({400, 413, 415, 422})
    if op.query:
        errors.add(422)
    for code in sorted(errors):
        responses[str(code)] = {"$ref": f"#/components/responses/Error{code}"}
    doc["responses"] = responses
    doc["security"] = [] if op.public else [{"bearerAuth": []}, {"sessionCookie": []}]
    return doc


def build_document(prefix: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document for every registered operation."""
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.rule, o.method)):
        paths.setdefault(openapi_path(prefix, op.rule), {})[op.method.lower()] = \
            _operation_doc(op)
    tags = sorted({op.tag for op in OPERATIONS})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "description": (
                "Customers, contacts, installed products and the call log. Authenticate with "
                "`Authorization: Bearer <token>` (`callcenter users create --print-token`). "
                "A browser session also works; its writes need the `X-CSRFToken` header. "
                "Every error is a JSON body `{\"error\": {\"status\", \"code\", \"message\", "
                "\"fields\"?, \"problems\"?}}`: `code` is stable, `message` is in the "
                "request's language (`Accept-Language`). Lists are paginated with `page` "
                "and `per_page` "
                "(at most 100; larger values are reduced to 100). This document itself is "
                "public: it describes the interface, never data."),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(SCHEMAS.items())),
            "responses": {
                f"Error{code}": {
                    "description": text,
                    "content": {"application/json": {"schema": ref("Error")}},
                }
                for code, text in sorted(_ERROR_TEXT.items())
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "The user's API token."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The web UI's login session; writes also "
                                                 "need the X-CSRFToken header."},
            },
        },
    }
