"""The OpenAPI document matches the routes the app really serves, and is valid OpenAPI 3.1."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from callcenter.app import create_app
from callcenter.config import load_settings

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _app(tmp_path):
    # No database access: the document and url_map need no data.
    settings = load_settings({"CALLCENTER_INSTANCE": str(tmp_path),
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
                              "SECRET_KEY": "test-secret-key-0123456789"})
    return create_app(settings, testing=True)


def served_operations(app) -> set[tuple[str, str]]:
    """(METHOD, /api/v1/path/{param}) for every /api/v1 rule in the url_map."""
    ops = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        ops |= {(method, path) for method in rule.methods - IGNORED_METHODS}
    return ops


def documented_operations(doc) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items()
            for method in item}


def test_document_is_public_json_and_valid_openapi_31(tmp_path):
    app = _app(tmp_path)
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on an invalid document
    schemas = doc["components"]["schemas"]
    for name in ("Customer", "CustomerDetail", "CustomerCreate", "CustomerPage", "Contact",
                 "Product", "ProductPage", "Address", "Error", "Me", "MergeResult"):
        assert schemas[name]["type"] == "object", name
    # Every $ref points at something that exists.
    text = r.get_data(True)
    for target in set(re.findall(r'"\$ref": ?"#/components/(\w+)/(\w+)"', text)):
        assert target[1] in doc["components"][target[0]], target


def test_every_route_is_documented_with_its_methods_and_vice_versa(tmp_path):
    app = _app(tmp_path)
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    served, documented = served_operations(app), documented_operations(doc)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert ("GET", "/api/v1/customers") in served
    assert ("POST", "/api/v1/customers/{customer_id}/merge") in served


def test_path_parameters_and_security_are_declared(tmp_path):
    app = _app(tmp_path)
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)
            assert "200" in op["responses"] or "201" in op["responses"] \
                or "204" in op["responses"], (method, path)
            if path == "/api/v1/openapi.json":
                assert op["security"] == []
            else:
                assert {"bearerAuth": []} in op["security"], (method, path)
                assert "401" in op["responses"], (method, path)
            if method in ("post", "patch") and "requestBody" in op:
                assert "422" in op["responses"] and "415" in op["responses"], (method, path)


def test_phone_filter_is_documented(tmp_path):
    doc = _app(tmp_path).test_client().get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert {"q", "phone", "serial", "tier", "lifecycle", "region", "industry", "page",
            "per_page"} <= params
