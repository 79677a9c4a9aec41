"""Test infrastructure as fixtures: real SQLite and PostgreSQL, real Redis.

Every database test runs twice, once per backend (the ``backend`` parameter). Each
backend gets a brand-new database built by the Alembic migrations (copied from a template
they built once per run: ``FreshDatabase``); each test runs
inside a transaction that is rolled back at its end (savepoint mode), so tests
never see each other's rows and the app's own commits stay inside it.

Redis is a private ``redis-server`` started for the run (tests/redis_server.py) on a
free loopback port, so two runs on one machine never share keys, locks or pub/sub
channels. ``TEST_REDIS_URL`` points the run at a server of your
choice instead; then only that database number is flushed.
"""

from __future__ import annotations

import copy
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from databases import POSTGRES_ADMIN_URL
from redis_server import PrivateRedis
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.orm import Session

from callcenter.app import create_app
from callcenter.config import load_settings
from callcenter.db import make_engine
from callcenter.migrate import upgrade
from callcenter.users.services import create_user, issue_api_token

#: Unset (the default): a private Redis server per run. Set: that server and database.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
#: After-call work pauses an agent for a while after each call (callcenter.desk.acw):
#: tests that place several calls expect the agents back at once. Off for every process
#: the tests start; tests/test_after_call_work.py turns it on.
os.environ.setdefault("ACW_SECONDS", "0")

BACKENDS = ["sqlite", "postgresql"]


class FreshDatabase:
    """Creates databases migrated to head and drops them at the end of the run.

    The migrations run once per backend, into a template; every database after that is a
    copy of the template (PostgreSQL: ``CREATE DATABASE ... TEMPLATE``; SQLite: the
    file copied by SQLite's backup API): the same tables and rows the migrations would
    build again, without their ~3 s per PostgreSQL database. ``seeded()`` copies a
    template that also holds a seed's rows (tests/stack.py's users and queues), seeded
    once per run: the seed's argon2 hashes are the slow part of it.
    """

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = tmp_dir
        self._pg_dbs: list[str] = []
        self._templates: dict[str, str] = {}
        self._seeded: dict[tuple[str, Callable], tuple[str, Any]] = {}

    def create(self, backend: str) -> str:
        """A new database of ``backend``, migrated to head, nobody else's."""
        if backend not in self._templates:
            template = self._empty(backend)
            upgrade(template)
            self._templates[backend] = template
        return self._copy(self._templates[backend], backend)

    def seeded(self, backend: str, seed: Callable[[str], Any]) -> tuple[str, Any]:
        """(url, what ``seed(url)`` returned) for a new database holding the seed's rows.
        ``seed`` runs once per backend and run, so what it returns must be about the
        rows only (ids, API tokens), the same for every copy."""
        key = (backend, seed)
        if key not in self._seeded:
            template = self.create(backend)
            self._seeded[key] = (template, seed(template))
        template, result = self._seeded[key]
        # A copy: a test that adds to its ids or tokens changes nobody else's.
        return self._copy(template, backend), copy.deepcopy(result)

    def _empty(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp_dir / f'{uuid.uuid4().hex}.sqlite3'}"
        return self._pg_create(f"cc_test_{uuid.uuid4().hex[:12]}", "")

    def _copy(self, template: str, backend: str) -> str:
        if backend == "sqlite":
            url = self._empty(backend)
            source = sqlite3.connect(make_url(template).database)
            target = sqlite3.connect(make_url(url).database)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            return url
        # The template has no connection open: every engine that touched it is disposed.
        return self._pg_create(f"cc_test_{uuid.uuid4().hex[:12]}",
                               f' TEMPLATE "{make_url(template).database}"')

    def _pg_create(self, name: str, template_clause: str) -> str:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{template_clause}'))
        admin.dispose()
        self._pg_dbs.append(name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        if not self._pg_dbs:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self._pg_dbs:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_database(tmp_path_factory) -> Iterator[FreshDatabase]:
    factory = FreshDatabase(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, fresh_database) -> str:
    return fresh_database.create(backend)


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    if database_url.startswith("sqlite"):
        # The test's outer transaction must be real on SQLite too. Left to itself the
        # sqlite3 module opens none before the session's SAVEPOINT, which SQLite then
        # takes for the transaction: a service that commits (releases the savepoint)
        # would write into every later test's database. So sqlite3 opens no
        # transactions of its own and SQLAlchemy's begin is a real BEGIN (the
        # SQLAlchemy documentation's recipe for SAVEPOINT on pysqlite).
        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    """A connection inside an outer transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session(connection) -> Iterator[Session]:
    sess = Session(bind=connection, join_transaction_mode="create_savepoint",
                   expire_on_commit=False)
    yield sess
    sess.close()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture
def settings(instance_dir, database_url, redis_url):
    return load_settings({
        "CALLCENTER_INSTANCE": str(instance_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-0123456789",
        "ACW_SECONDS": "0",
    })


def clear_login_throttle(url: str) -> None:
    """Forget the login throttle's counters (callcenter.login_throttle): every test logs
    in from 127.0.0.1 with names other tests use too, and starts with none."""
    from callcenter.realtime.live import LOGIN_THROTTLE_PREFIX
    conn = redis.Redis.from_url(url)
    try:
        keys = list(conn.scan_iter(match=f"{LOGIN_THROTTLE_PREFIX}:*", count=1000))
        if keys:
            conn.delete(*keys)
    finally:
        conn.close()


@pytest.fixture
def app(settings, connection):
    """The app, bound to the test's connection (its commits become savepoint releases)."""
    clear_login_throttle(settings.redis_url)
    # Savepoint mode: the app's commits release a savepoint inside the test's transaction.
    return create_app(settings, db_bind=connection, testing=True,
                      session_options={"join_transaction_mode": "create_savepoint"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis | None]:
    """The run's own redis-server, or None when ``TEST_REDIS_URL`` names another one."""
    if TEST_REDIS_URL:
        yield None
        return
    with PrivateRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server
        # The Socket.IO servers of the run's live web servers keep a listener thread on
        # the message queue until the process exits (python-socketio cannot stop it);
        # the server going away now is expected, not an error worth a line each.
        for name in ("socketio", "socketio.server"):
            logging.getLogger(name).disabled = True


@pytest.fixture(scope="session")
def redis_url(private_redis) -> Iterator[str]:
    """The Redis every test, helper and child process of this run uses."""
    url = private_redis.url if private_redis else TEST_REDIS_URL
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()


@pytest.fixture(scope="session", autouse=True)
def process_environment(redis_url, tmp_path_factory) -> Iterator[None]:
    """What code reading the environment finds, as a worker would (a job run outside any
    app, a receiver of a signal sent when a test commits a session): this run's Redis
    and an instance folder of the run's own. Unset, such code started an embedded Redis
    in the checkout's ./instance, which outlived the run."""
    names = ("REDIS_URL", "CALLCENTER_INSTANCE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["REDIS_URL"] = redis_url
    os.environ["CALLCENTER_INSTANCE"] = str(tmp_path_factory.mktemp("instance-env"))
    yield
    from callcenter import redis_conn as connections
    assert not connections._embedded, (
        "the tests started an embedded Redis in their own process: some code reached "
        "Redis with settings that name none")
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def redis_conn(redis_url) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.close()


#: One real argon2 hash per password for the users ``make_user`` makes: argon2 is slow
#: on purpose (about a tenth of a second a hash, all CPU), and hundreds of tests make
#: users with the same few passwords. Each is a genuine argon2id hash of that password,
#: which a login verifies as for any user; only its salt is shared.
_PASSWORD_HASHES: dict[str, str] = {}


@contextmanager
def _each_password_hashed_once() -> Iterator[None]:
    from callcenter.users import services
    # The product's own function, even if another thread's make_user has it swapped now.
    real = getattr(services.hash_password, "__wrapped__", services.hash_password)

    def hash_once(password: str) -> str:
        if password not in _PASSWORD_HASHES:
            _PASSWORD_HASHES[password] = real(password)
        return _PASSWORD_HASHES[password]

    hash_once.__wrapped__ = real
    services.hash_password = hash_once
    try:
        yield
    finally:
        services.hash_password = real


@pytest.fixture
def make_user(session):
    """Factory: make_user("agent", scope="own", department="Service/Beijing")."""
    counter = iter(range(1, 10_000))

    def factory(role: str = "agent", *, username: str | None = None, scope: str | None = None,
                department: str | None = None, interface: str | None = None,
                password: str = "correct horse battery", token: bool = False):
        with _each_password_hashed_once():
            user = create_user(session, username=username or f"{role}{next(counter)}",
                               password=password, role=role, scope=scope,
                               department=department, interface=interface)
        if token:
            user.plain_token = issue_api_token(session, user)
        session.flush()
        return user

    return factory


@pytest.fixture
def make_customer(session):
    """Factory: make_customer(owner, name="...", phones=[...], **fields)."""
    from callcenter.customers.services import create_customer

    def factory(owner, name: str = "Test Customer", phones=(), **fields):
        customer = create_customer(session, owner, {"name": name, "phones": list(phones),
                                                    **fields}, region="CN")
        session.flush()
        return customer

    return factory


#: Debian's Chromium, headless, with nothing that would reach for the (closed) network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser():
    """Headless Chromium (/usr/bin/chromium) driven by Playwright; never a downloaded one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def stack(backend, fresh_database, tmp_path, redis_conn, redis_url):
    """The web side of the product live on a fresh database of this backend, with the
    users and queues of tests/stack.py; the bridge and a PBX are the test's to start."""
    from stack import seed, start_stack
    url, seeded = fresh_database.seeded(backend, seed)
    st, stop = start_stack(url, redis_url, tmp_path / "instance", seeded)
    yield st
    stop()


@pytest.fixture
def sqlite_stack(fresh_database, tmp_path, redis_conn, redis_url):
    """``stack`` on SQLite only, for tests about Redis and the AMI link."""
    from stack import seed, start_stack
    url, seeded = fresh_database.seeded("sqlite", seed)
    st, stop = start_stack(url, redis_url, tmp_path / "instance", seeded)
    yield st
    stop()


# --- live_pbx: tests against a real Asterisk (tests/live_pbx.py) ----------------------
def pytest_runtest_logreport(report) -> None:
    from live_pbx import GATE
    GATE.report(report)


def pytest_sessionfinish(session, exitstatus) -> None:
    """With CI set, a run that included live_pbx tests and passed none of them fails."""
    from live_pbx import GATE
    if GATE.verdict() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    from live_pbx import GATE
    if GATE.counters:
        terminalreporter.section("live PBX counters")
        for line in GATE.counters:
            terminalreporter.write_line(line)
    why = GATE.verdict()
    if why:
        terminalreporter.section("live PBX", red=True, bold=True)
        terminalreporter.write_line(why, red=True, bold=True)
