"""Issue 9, defect 6, in process: what a request does when its database connection dies.

A GET that lost its connection before writing runs once more; a write, or a read that
fails twice, is a 503 with Retry-After (JSON for the API, a page needing no database for
the web), never a 500; a write whose commit fails is a 503, not its 2xx.
"""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from callcenter.db import db_session
from callcenter.outage import is_transient


class _Lost(Exception):
    """What the driver raised (psycopg's OperationalError)."""


def lost_connection() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, _Lost("terminating connection due to "
                                                        "administrator command"),
                                   connection_invalidated=True)


@pytest.fixture
def flaky(app):
    """Routes that fail like a killed connection ``fail`` times, then answer."""
    state = {"fail": 0, "runs": 0}

    def read():
        state["runs"] += 1
        db_session().execute(text("SELECT 1"))
        if state["fail"] > 0:
            state["fail"] -= 1
            raise lost_connection()
        return {"ok": state["runs"]}

    app.extensions["csrf"].exempt(read)  # as the API blueprint is
    app.add_url_rule("/api/v1/_flaky", "flaky_api", read, methods=["GET", "POST"])
    app.add_url_rule("/_flaky", "flaky_page", read, methods=["GET", "POST"])
    return state


def test_a_read_that_lost_its_connection_runs_once_more(flaky, client):
    flaky["fail"] = 1
    reply = client.get("/api/v1/_flaky")
    assert reply.status_code == 200 and reply.json == {"ok": 2}


@pytest.mark.parametrize(("method", "fail", "runs"), [("get", 2, 2), ("post", 1, 1)])
def test_api_answers_503_json_with_retry_after(flaky, client, method, fail, runs):
    flaky["fail"] = fail
    reply = getattr(client, method)("/api/v1/_flaky", headers={"Accept-Language": "zh-CN"})
    assert reply.status_code == 503 and flaky["runs"] == runs  # a write is never re-run
    assert int(reply.headers["Retry-After"]) > 0
    assert reply.json["error"]["code"] == "unavailable"
    assert reply.json["error"]["message"] == "暂时无法连接数据库，请过几秒钟再试。"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_web_answers_a_friendly_page(flaky, client):
    flaky["fail"] = 2
    reply = client.get("/_flaky", headers={"Accept-Language": "en"})
    assert reply.status_code == 503 and int(reply.headers["Retry-After"]) > 0
    page = reply.get_data(as_text=True)
    assert "Temporarily unavailable" in page and "try again in a few seconds" in page
    assert reply.mimetype == "text/html"


def test_a_write_whose_commit_fails_is_503_not_its_2xx(app, client, monkeypatch):
    def create():
        db_session().execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS probe (x int)"))
        db_session().execute(text("INSERT INTO probe VALUES (1)"))
        db_session().info["wrote"] = True
        return {"created": True}, 201

    app.extensions["csrf"].exempt(create)
    app.add_url_rule("/api/v1/_create", "create_probe", create, methods=["POST"])
    from sqlalchemy.orm import Session

    def broken_commit(self):
        raise lost_connection()

    monkeypatch.setattr(Session, "commit", broken_commit)
    reply = client.post("/api/v1/_create")
    assert reply.status_code == 503 and reply.json["error"]["code"] == "unavailable"


def test_what_counts_as_transient():
    import sqlite3
    assert is_transient(lost_connection())
    assert is_transient(sa_exc.TimeoutError("QueuePool limit reached"))
    locked = sa_exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked"))
    missing = sa_exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: t"))
    assert is_transient(locked) and not is_transient(missing)
    assert not is_transient(sa_exc.IntegrityError("x", {}, _Lost("duplicate key")))
    assert not is_transient(ValueError("x"))
