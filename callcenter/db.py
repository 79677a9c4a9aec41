"""Database plumbing: the declarative base, engines, and the per-request session.

One transaction boundary: a web request (or a job, or a CLI command) gets one
session and commits once at its end; inner code only flushes. Side effects that
must not run before the data is visible (socket emits, enqueued jobs, PBX commands)
are registered with ``after_commit`` and run only once the commit succeeded.

The rule of a request (as indico's ``web/rh.py``): it commits unless an exception
escaped the view. An exception that leaves the view (or a ``before_request``) rolls
back everything the request wrote and drops its ``after_commit`` callbacks, even when
an error handler then turns it into a friendly 4xx page. A view that returns normally
commits, whatever its status: a form re-rendered with 422 commits too, so services
check their input before they change anything (they raise ValidationError first).
Writes that must outlive a failed request (the failed-login counter) use a session
of their own: ``own_transaction``.

A lost database connection (``callcenter.outage``): a read (GET, HEAD) that wrote
nothing runs once more on a fresh connection; otherwise the answer is a 503 with
``Retry-After``, and a write whose commit fails is a 503, never its 2xx.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from callcenter import outage

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(cls: type[enum.Enum], name: str) -> Enum:
    """A Python enum stored as its values in a VARCHAR(20) (no native DB enum to migrate)."""
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            # WAL lets the web app, the worker and the bridge read while one writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # pre_ping: a pooled connection the server dropped (restart, pg_terminate_backend)
    # is replaced at checkout instead of failing the request that got it.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def make_sessionmaker(bind, **kwargs) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, expire_on_commit=False, **kwargs)


# --- side effects after commit -------------------------------------------------

def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction has committed."""
    session.info.setdefault("after_commit", []).append(callback)


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` if the session's current transaction is rolled back: undo what
    was done outside the database for it (a file written for a row that won't exist)."""
    session.info.setdefault("after_rollback", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop("after_rollback", None)
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous) -> None:
    session.info.pop("after_commit", None)
    if previous.nested:   # a savepoint: the outer transaction may still commit
        return
    for callback in session.info.pop("after_rollback", []):
        try:
            callback()
        except Exception:  # noqa: BLE001 - a rollback must finish; the sweep catches up
            logging.getLogger(__name__).exception("after-rollback callback failed")


# --- what a unit of work wrote (may a lost read be run again?) ------------------

@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


def has_writes(session: Session) -> bool:
    """Whether the session flushed or holds a change, or waits for a commit to act."""
    return bool(session.info.get("wrote") or session.new or session.dirty or session.deleted
                or session.info.get("after_commit"))


class _RunReadAgain(Exception):
    """A read lost its database connection before it wrote anything: run it once more."""


def _discard(session: Session) -> None:
    """Roll back and close a session whose connection may be gone, whatever happens."""
    try:
        session.rollback()
    except sa_exc.SQLAlchemyError:
        log.debug("rollback of a broken session failed", exc_info=True)
    finally:
        session.close()


# --- Flask integration ---------------------------------------------------------

def init_app(app: Flask, engine_or_connection=None, **session_options) -> None:
    """``engine_or_connection``: tests pass a connection (with savepoint session options)."""
    if engine_or_connection is None:
        engine_or_connection = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine_or_connection
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine_or_connection,
                                                          **session_options)

    # Every exception that leaves preprocessing or the view passes here before an error
    # handler sees it: that is the moment to undo the request's writes.
    handle_user_exception = app.handle_user_exception
    full_dispatch_request = app.full_dispatch_request

    def _roll_back_then_handle(exc: Exception):
        session = g.get("_db_session")
        if g.pop("_db_may_run_again", False) and outage.is_transient(exc) and (
                session is None or not has_writes(session)):
            raise _RunReadAgain from exc
        if session is not None:
            try:
                session.rollback()
            except sa_exc.SQLAlchemyError:
                _discard(g.pop("_db_session"))
        g._db_failed = True
        return handle_user_exception(exc)

    def _dispatch_reads_twice():
        """A GET or HEAD that lost its connection runs once more, with a fresh session
        and ``g`` as it was before the first run (no user loaded from the dead one)."""
        if request.method not in outage.RETRYABLE_METHODS:
            return full_dispatch_request()
        before = dict(vars(g))
        g._db_may_run_again = True
        try:
            return full_dispatch_request()
        except _RunReadAgain as again:
            log.warning("%s %s: database connection lost (%s); running it once more",
                        request.method, request.path, type(again.__cause__).__name__)
            session = g.pop("_db_session", None)
            if session is not None:
                _discard(session)
            for key in set(vars(g)) - set(before):
                delattr(g, key)
            vars(g).update(before)
            return full_dispatch_request()

    app.handle_user_exception = _roll_back_then_handle  # type: ignore[method-assign]
    app.full_dispatch_request = _dispatch_reads_twice  # type: ignore[method-assign]
    app.register_error_handler(sa_exc.DBAPIError, outage.handle_database_error)
    app.register_error_handler(sa_exc.TimeoutError, outage.handle_database_error)

    @app.after_request
    def _commit(response):
        session = g.pop("_db_session", None)
        if session is None:
            return response
        failed = g.pop("_db_failed", False)
        wrote = has_writes(session)
        try:
            if failed:
                session.rollback()
            else:
                session.commit()
        except Exception as exc:
            if not outage.is_transient(exc):
                raise
            if failed or not wrote:
                # Nothing to keep: the answer (an error, or what was read) stands.
                log.info("%s %s: the database went away at the end (%s)", request.method,
                         request.path, type(exc).__name__)
                return response
            log.warning("%s %s: commit failed (%s); answered 503", request.method,
                        request.path, type(exc).__name__)
            return outage.unavailable_response()
        finally:
            _discard(session)  # after a commit, the rollback does nothing
        return response

    @app.teardown_appcontext
    def _close(_exc):
        session = g.pop("_db_session", None)
        if session is not None:
            _discard(session)


def db_session() -> Session:
    """The session of the current request or app context."""
    if "_db_session" not in g:
        g._db_session = current_app.extensions["db_sessionmaker"]()
    return g._db_session


def commit_before_waiting(session: Session) -> None:
    """Commit the unit of work so far and give its connection back to the pool before
    waiting on something outside the process (the PBX's answer through the bridge: up
    to the command timeout, seconds, when the bridge is away). Held over that wait, the
    connections of a few dozen agents clicking while the bridge is down would be the
    whole pool, and every other page would queue behind them. The session goes on
    working: its next query begins a new transaction (objects stay loaded:
    ``expire_on_commit=False``). Also the rule that a PBX command leaves after the
    commit."""
    session.commit()


def own_transaction() -> Session:
    """A new session, apart from the request's, for a write that must be kept even when
    the request rolls back (commit it yourself, soon: it holds its own connection)."""
    return current_app.extensions["db_sessionmaker"]()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work outside a request (CLI, jobs): commit once, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
