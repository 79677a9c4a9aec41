"""API errors: the shape stays ``{"error": {"status", "message", "fields"?}}`` and adds a
stable ``code`` and per-field ``problems``; the words follow the request's language."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, bearer


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="own", department="Service/Beijing", token=True)


def _create(client, agent, body, language: str | None = None):
    headers = bearer(agent)
    if language:
        headers["Accept-Language"] = language
    return client.post("/api/v1/customers", json=body, headers=headers)


def test_a_rejected_body_names_each_field_with_its_code(client, agent):
    r = _create(client, agent, {"name": "x" * 201, "phones": ["12"], "colour": "red"}, "en")
    body = assert_error(r, 422)["error"]
    assert body["code"] == "invalid"
    assert body["problems"]["colour"] == {"code": "unknown_field", "params": {}}
    r = _create(client, agent, {"name": "x" * 201}, "en")
    body = assert_error(r, 422, "name")["error"]
    assert body["problems"]["name"] == {"code": "too_long", "params": {"max": 200}}
    assert body["fields"]["name"] == "At most 200 characters."
    r = _create(client, agent, {"name": "ACME", "phones": ["12"]}, "en")
    body = assert_error(r, 422, "phones[0]")["error"]
    assert body["problems"]["phones[0]"] == {"code": "phone.invalid", "params": {"value": "12"}}


def test_the_words_follow_accept_language_and_else_the_users_setting(client, agent):
    zh = assert_error(_create(client, agent, {"name": "x" * 201}, "zh-CN,zh;q=0.9"), 422)
    assert zh["error"]["fields"]["name"] == "最多 200 个字符。"
    en = assert_error(_create(client, agent, {"name": "x" * 201}, "en-US,en;q=0.8"), 422)
    assert en["error"]["fields"]["name"] == "At most 200 characters."
    # No Accept-Language: the caller's own setting (users start in Chinese).
    assert agent.locale == "zh_CN"
    mine = assert_error(_create(client, agent, {"name": "x" * 201}), 422)
    assert mine["error"]["fields"]["name"] == "最多 200 个字符。"


def test_not_found_and_forbidden_carry_codes(client, agent, make_user):
    r = client.get("/api/v1/customers/999999", headers={**bearer(agent), "Accept-Language": "en"})
    assert assert_error(r, 404)["error"]["code"] == "not_found"
    r = client.get("/api/v1/wallboard", headers={**bearer(agent), "Accept-Language": "en"})
    body = assert_error(r, 403)["error"]
    assert body["code"] == "permission_denied" and "wallboard.view" in body["message"]
