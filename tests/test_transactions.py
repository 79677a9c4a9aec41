"""The request's transaction rule (callcenter.db): commit unless an exception escaped.

Each side is checked with a route of its own on the real app: one that writes and
returns a 4xx page normally (commits), one that writes and raises (rolls back, and its
after_commit callbacks never run). The failed-login counter is committed in its own
transaction, so a rollback of the request's work cannot undo it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import abort
from sqlalchemy import select
from webtools import login

from callcenter.app import create_app
from callcenter.core.errors import Problem, ValidationError
from callcenter.db import after_commit, db_session, make_engine, make_sessionmaker
from callcenter.users.models import Department, User
from callcenter.users.services import authenticate, create_user


def _department_named(session, name: str) -> Department | None:
    return session.scalar(select(Department).where(Department.name == name))


@pytest.fixture
def ran(app) -> list[str]:
    """Routes that write a department and then end in different ways."""
    ran: list[str] = []

    def write(name: str) -> None:
        session = db_session()
        session.add(Department(name=name, path="/"))
        session.flush()
        after_commit(session, lambda: ran.append(name))

    @app.route("/_tx/rejected")
    def _rejected():
        write("rejected-page")
        return "rejected", 422

    @app.route("/_tx/invalid")
    def _invalid():
        write("invalid")
        raise ValidationError({"name": Problem("required")})

    @app.route("/_tx/abort")
    def _abort():
        write("aborted")
        abort(404)

    @app.route("/_tx/crash")
    def _crash():
        write("crashed")
        raise RuntimeError("boom")

    return ran


def test_a_view_that_returns_normally_commits_even_with_a_4xx(client, session, ran):
    response = client.get("/_tx/rejected")
    assert response.status_code == 422
    assert _department_named(session, "rejected-page") is not None
    assert ran == ["rejected-page"]


@pytest.mark.parametrize(("url", "status", "name"), [
    ("/_tx/invalid", 422, "invalid"),
    ("/_tx/abort", 404, "aborted"),
])
def test_an_escaped_exception_rolls_back_everything(client, session, ran, url, status, name):
    response = client.get(url)
    assert response.status_code == status
    assert _department_named(session, name) is None
    assert ran == []  # the after_commit callback was dropped with the transaction


def test_an_unhandled_crash_rolls_back(app, client, session, ran):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get("/_tx/crash").status_code == 500
    assert _department_named(session, "crashed") is None
    assert ran == []


@pytest.fixture
def own_database(backend, fresh_database):
    """A database of this test's own: the counter's transaction must really be separate
    (the shared test connection would nest it in the request's)."""
    engine = make_engine(fresh_database.create(backend))
    yield make_sessionmaker(engine)
    engine.dispose()


def test_the_failed_login_counter_survives_a_rollback(own_database):
    with own_database() as setup:
        create_user(setup, username="guesser", password="the right one 123", role="agent")
        setup.commit()
    request_session = own_database()
    assert authenticate(request_session, "guesser", "wrong", max_failures=5,
                        counter_session=own_database) is None
    request_session.rollback()  # the request failed afterwards
    request_session.close()
    with own_database() as check:
        user = check.scalar(select(User).where(User.username == "guesser"))
        assert user.failed_logins == 1


def test_a_failed_web_login_is_counted_in_its_own_transaction(own_database, settings):
    url = own_database.kw["bind"].url.render_as_string(hide_password=False)
    app = create_app(replace(settings, database_url=url), testing=True)
    with own_database() as setup:
        create_user(setup, username="guesser2", password="the right one 123", role="agent")
        setup.commit()
    response = login(app.test_client(), "guesser2", "wrong")
    assert response.status_code == 200
    with own_database() as check:
        assert check.scalar(select(User.failed_logins)
                            .where(User.username == "guesser2")) == 1
    app.extensions["db_engine"].dispose()
