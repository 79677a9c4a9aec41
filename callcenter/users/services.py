"""Users, departments, passwords, API tokens and login throttling."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import utcnow
from callcenter.users.models import DEFAULT_SCOPE, Department, Role, Scope, User

#: argon2id with the library's current recommended parameters (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
#: Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
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


def _count_failure(session: Session, user_id: int, now, max_failures: int,
                   lockout_s: int) -> None:
    """One more failed login, in SQL (two concurrent guesses both count); the one that
    reaches ``max_failures`` locks the account and starts the count again."""
    session.execute(update(User).where(User.id == user_id)
                    .values(failed_logins=User.failed_logins + 1))
    session.execute(update(User).where(User.id == user_id,
                                       User.failed_logins >= max_failures)
                    .values(locked_until=now + timedelta(seconds=lockout_s), failed_logins=0))


class LoginLocked(Exception):
    def __init__(self, until):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def authenticate(session: Session, username: str, password: str, *, max_failures: int = 5,
                 lockout_s: int = 900,
                 counter_session: Callable[[], Session] | None = None) -> User | None:
    """The user if the password is right; None otherwise. Raises LoginLocked while locked.

    After ``max_failures`` wrong passwords in a row the account is locked for
    ``lockout_s`` seconds, so guessing is throttled without locking anyone out for good.
    ``counter_session``: makes a session of its own in which a failure is counted and
    committed at once, so the count survives whatever happens to ``session`` (the web
    login passes ``callcenter.db.own_transaction``); without it the count is only
    flushed in ``session``.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        raise LoginLocked(user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        if counter_session is None:
            _count_failure(session, user.id, now, max_failures, lockout_s)
            session.flush()
        else:
            with counter_session() as own:
                _count_failure(own, user.id, now, max_failures, lockout_s)
                own.commit()
        session.expire(user, ["failed_logins", "locked_until"])
        return None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user
