"""Users, departments, passwords, API tokens and login throttling."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from callcenter.db import utcnow
from callcenter.users.models import DEFAULT_SCOPE, Department, Role, Scope, User
from callcenter.users.passwords import MIN_PASSWORD_LENGTH, password_problem

__all__ = ["MIN_PASSWORD_LENGTH", "LoginThrottled", "UserError", "authenticate",
           "create_user", "end_sessions", "hash_password", "issue_api_token",
           "set_password", "unlock", "user_for_token", "verify_password"]

#: argon2id with the library's current recommended parameters (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
#: Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> None:
    """Raises argon2's VerificationError (or InvalidHashError) unless ``password`` is
    ``user``'s."""
    _hasher.verify(user.password_hash, password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_department(session: Session, path: str) -> Department:
    """Find or create a department by its slash-separated name path, e.g. "Service/Beijing"."""
    names = [part.strip() for part in path.split("/") if part.strip()]
    if not names:
        raise UserError("department: empty name")
    parent: Department | None = None
    for name in names:
        dept = session.scalar(select(Department).where(
            Department.name == name,
            Department.parent_id.is_(None) if parent is None
            else Department.parent_id == parent.id))
        if dept is None:
            dept = Department(name=name, parent_id=parent.id if parent else None)
            session.add(dept)
            session.flush()
            dept.path = f"{parent.path if parent else '/'}{dept.id}/"
            session.flush()
        parent = dept
    return parent


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    department: str | None = None,
    interface: str | None = None,
    scope: Scope | str | None = None,
    display_name: str = "",
    locale: str = "zh_CN",
) -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise UserError("username: required, at most 80 characters")
    problem = password_problem(password, username)
    if problem is not None:
        from callcenter.core.messages import describe
        raise UserError(f"password: {describe(problem)}")
    try:
        role = Role(role)
        scope = Scope(scope) if scope else DEFAULT_SCOPE[role]
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"username: {username!r} already exists")
    interface = (interface or "").strip() or None
    if interface and session.scalar(select(User.id).where(User.interface == interface)):
        raise UserError(f"interface: {interface!r} already belongs to another user")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        scope=scope,
        department_id=ensure_department(session, department).id if department else None,
        interface=interface,
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


def issue_api_token(session: Session, user: User) -> str:
    """A new API token for ``user`` (replacing any old one). Only its digest is stored."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = token_digest(token)
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == token_digest(token)))
    return user if user is not None and user.active else None


class LoginThrottled(Exception):
    """Too many wrong passwords in a row at this account: no guess is checked before
    ``until`` (an aware UTC datetime)."""

    def __init__(self, until):
        super().__init__(f"throttled until {until.isoformat()}")
        self.until = until


def backoff_s(failures: int, max_failures: int, base_s: int, cap_s: int) -> int:
    """The wait after the ``failures``-th wrong password in a row: none before
    ``max_failures``, then ``base_s``, doubling with each further failure, at most
    ``cap_s``."""
    if failures < max_failures:
        return 0
    return min(cap_s, base_s * 2 ** min(failures - max_failures, 30))


def _reserve_guess(session: Session, user_id: int, now, max_failures: int,
                   hold_until) -> int | None:
    """Count a guess before its password is checked, in one UPDATE (atomic on SQLite and
    PostgreSQL: parallel guesses cannot read the same count), and return the count; None
    when no guess may be checked now. The first ``max_failures`` guesses in a row go
    through; after that one at a time, once ``locked_until`` has passed. From the
    ``max_failures``-th on, ``locked_until`` holds ``hold_until`` while the guess is
    checked (then the wait, or nothing when it was right), so none overtakes it."""
    return session.execute(
        update(User)
        .where(User.id == user_id,
               or_(User.failed_logins < max_failures, User.locked_until.is_(None),
                   User.locked_until <= now))
        .values(failed_logins=User.failed_logins + 1,
                locked_until=case((User.failed_logins + 1 >= max_failures, hold_until),
                                  else_=User.locked_until))
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)).scalar_one_or_none()


def _run(session: Session, counter_session: Callable[[], Session] | None, fn, *,
         write: bool):
    """``fn(s)`` in a session of its own (when ``counter_session`` is given: committed at
    once, or rolled back when only reading), else in ``session`` (flushed)."""
    if counter_session is None:
        result = fn(session)
        if write:
            session.flush()
        return result
    with counter_session() as own:
        result = fn(own)
        if write:
            own.commit()
        else:
            own.rollback()
        return result


def authenticate(session: Session, username: str, password: str, *, max_failures: int = 30,
                 backoff_base_s: int = 60, backoff_max_s: int = 900,
                 counter_session: Callable[[], Session] | None = None,
                 unknown_name: Callable[[], int | None] | None = None) -> User | None:
    """The user if the password is right; None otherwise. Raises LoginThrottled while
    the account waits.

    Every guess is counted before its password is checked (``_reserve_guess``), so
    however many arrive at once, at most ``max_failures`` wrong passwords in a row are
    checked; after that each further guess waits (``backoff_s``). A right password
    clears the count. ``counter_session``: makes a session of its own in which the count
    is written and committed at once, so it survives whatever happens to ``session`` and
    no connection is held while the password is checked (the web login passes
    ``callcenter.db.own_transaction``); without it the count is flushed in ``session``.
    ``unknown_name``: called for a username that does not exist (or is inactive); the
    seconds to wait when such a name has had too many guesses too (the web login counts
    them in Redis), so that an unknown name is answered as an account would be.
    """
    now = utcnow()
    found = _run(session, counter_session, lambda s: s.execute(
        select(User.id, User.password_hash, User.active)
        .where(User.username == username)).first(), write=False)
    if found is None or not found.active:
        wait = unknown_name() if unknown_name is not None else None
        if wait:
            raise LoginThrottled(now + timedelta(seconds=wait))
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    hold = now + timedelta(seconds=backoff_max_s)
    count = _run(session, counter_session,
                 lambda s: _reserve_guess(s, found.id, now, max_failures, hold), write=True)
    if count is None:
        until = _run(session, counter_session, lambda s: s.scalar(
            select(User.locked_until).where(User.id == found.id)), write=False)
        raise LoginThrottled(until or hold)
    try:
        _hasher.verify(found.password_hash, password)
    except (VerificationError, InvalidHashError):
        wait = backoff_s(count, max_failures, backoff_base_s, backoff_max_s)
        if wait:
            until = utcnow() + timedelta(seconds=wait)
            _run(session, counter_session, lambda s: s.execute(
                update(User).where(User.id == found.id).values(locked_until=until)
                .execution_options(synchronize_session=False)), write=True)
        _expire_counters(session, found.id)
        return None
    session.execute(update(User).where(User.id == found.id)
                    .values(failed_logins=0, locked_until=None)
                    .execution_options(synchronize_session=False))
    _expire_counters(session, found.id)
    user = session.get(User, found.id)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def _expire_counters(session: Session, user_id: int) -> None:
    """The session's copy of the user (if it has one) reads the counters again."""
    user = session.identity_map.get(identity_key(User, user_id))
    if user is not None:
        session.expire(user, ["failed_logins", "locked_until"])


def end_sessions(session: Session, user: User) -> int:
    """End every web session of ``user`` (each carries the generation it started with,
    checked on every request and Socket.IO connect by ``callcenter.auth``); the new
    generation. In SQL, so two at once both count."""
    generation = session.execute(
        update(User).where(User.id == user.id)
        .values(session_generation=User.session_generation + 1)
        .returning(User.session_generation)
        .execution_options(synchronize_session=False)).scalar_one()
    session.expire(user, ["session_generation"])
    return generation


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password (the rule is the caller's: ``password_problem``) and
    end all their sessions."""
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    end_sessions(session, user)


def unlock(session: Session, username: str) -> User | None:
    """Clear the wrong-password count and the wait of ``username``'s account."""
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        user.failed_logins = 0
        user.locked_until = None
        session.flush()
    return user
