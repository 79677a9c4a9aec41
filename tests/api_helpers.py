"""Helpers for the REST API tests: auth headers and response validation against the
OpenAPI document's own schemas (so the document is checked against real answers)."""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.plain_token}"}


@functools.cache
def _document() -> dict[str, Any]:
    from callcenter.openapi import build_document
    return build_document()


def assert_schema(data: Any, schema_name: str) -> None:
    """Fail unless ``data`` is valid against components/schemas/<schema_name>."""
    doc = _document()
    assert schema_name in doc["components"]["schemas"], schema_name
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def assert_error(response, status: int, field: str | None = None) -> dict[str, Any]:
    """A JSON error body with ``status``; with ``field``, naming that field."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.is_json, response.get_data(True)[:200]
    body = response.get_json()
    assert_schema(body, "Error")
    assert body["error"]["status"] == status
    if field is not None:
        assert field in body["error"].get("fields", {}), body
    return body
