"""User administration (the admin pages): editing and registering users, with every
field checked and every problem reported at once. Admins only (``user.manage``).

No function commits; the caller's unit of work does.
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem
from callcenter.core.fields import is_email_address
from callcenter.core.messages import describe
from callcenter.users.models import DEFAULT_SCOPE, Department, Role, Scope, User
from callcenter.users.passwords import password_problem
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.services import (
    UserError,
    create_user,
    end_sessions,
    ensure_department,
    set_password,
)

#: The UI languages a user may choose (callcenter.app.LANGUAGES, without importing Flask).
USER_LOCALES = ("zh_CN", "en")
INTERFACE_MAX_LENGTH = 120
DISPLAY_NAME_MAX_LENGTH = 120
DEPARTMENT_NAME_MAX_LENGTH = 120
#: What Asterisk accepts in a queue member interface: ``TECH/resource``, e.g. ``PJSIP/1001``,
#: ``Local/agent1@agents/n``, ``DAHDI/g1/5551234``. No spaces, commas or quotes: a comma
#: separates dialplan application arguments, a quote or a space breaks AMI and queues.conf.
INTERFACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789_.-@/:;+#*")
_INTERFACE_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/[^/].*$", re.DOTALL)
_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

USER_FIELDS = ("display_name", "role", "scope", "department", "interface", "active", "locale",
               "email")
#: What ``update_user`` takes besides USER_FIELDS: a new password (empty: unchanged).
EDIT_FIELDS = (*USER_FIELDS, "password")


class FieldProblem:
    """One rejected field: the kernel's ``Problem`` (a catalogue code and its values,
    ``callcenter.core.messages``), worded where it is shown."""

    __slots__ = ("field", "problem")

    def __init__(self, field: str, code: str, **params):
        self.field = field
        self.problem = Problem(code, params)

    @property
    def message(self) -> str:
        """The text in the current language (English outside a request)."""
        return describe(self.problem)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.field!r}, {self.problem})"


class UserFieldError(UserError):
    """Input for a user was rejected: ``field`` and ``message`` of the first problem, all
    of them in ``problems`` (each with its code, worded by the web UI)."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def message(self) -> str:
        return self.problems[0].message


def user_label(user: User) -> str:
    """How a user is named in messages: "Display Name (username)", or just the username."""
    if user.display_name and user.display_name != user.username:
        return f"{user.display_name} ({user.username})"
    return user.username


def clean_interface(value: str | None) -> tuple[str | None, FieldProblem | None]:
    """The interface as stored (stripped; empty is None) and what is wrong with it, if
    anything. Uniqueness is the caller's business (it needs the database)."""
    value = (value or "").strip()
    if not value:
        return None, None
    if len(value) > INTERFACE_MAX_LENGTH:
        return None, FieldProblem("interface", "too_long", max=INTERFACE_MAX_LENGTH)
    if _CONTROL_OR_SPACE.search(value):
        return None, FieldProblem("interface", "user.no_spaces")
    bad = next((ch for ch in value if ch not in INTERFACE_CHARS), None)
    if bad is not None:
        return None, FieldProblem("interface", "interface.bad_char", char=bad)
    if not _INTERFACE_SHAPE.match(value):
        return None, FieldProblem("interface", "interface.shape")
    return value, None


def _interface_owner(session: Session, interface: str, except_id: int | None) -> User | None:
    stmt = select(User).where(User.interface == interface)
    if except_id is not None:
        stmt = stmt.where(User.id != except_id)
    return session.scalars(stmt.limit(1)).first()


def _department_names(path: str) -> list[str]:
    return [part.strip() for part in path.split("/") if part.strip()]


def _clean_user_fields(session: Session, user: User | None, changes: dict,
                       problems: list[FieldProblem]) -> dict:
    """Validated values of the USER_FIELDS present in ``changes``; problems appended."""
    clean: dict = {}
    if "display_name" in changes:
        name = (changes["display_name"] or "").strip()
        if len(name) > DISPLAY_NAME_MAX_LENGTH:
            problems.append(FieldProblem("display_name", "too_long",
                                         max=DISPLAY_NAME_MAX_LENGTH))
        elif _CONTROL.search(name):
            problems.append(FieldProblem("display_name", "control_chars"))
        else:
            clean["display_name"] = name
    if "role" in changes:
        try:
            clean["role"] = Role(changes["role"])
        except ValueError:
            problems.append(FieldProblem("role", "choice",
                                         choices=", ".join(r.value for r in Role)))
    if "scope" in changes:
        if changes["scope"] in (None, ""):
            clean["scope"] = None  # the role's default
        else:
            try:
                clean["scope"] = Scope(changes["scope"])
            except ValueError:
                problems.append(FieldProblem("scope", "choice",
                                             choices=", ".join(s.value for s in Scope)))
    if "department" in changes:
        path = changes["department"] or ""
        names = _department_names(path)
        if path.strip() and not names:
            problems.append(FieldProblem("department", "department.path"))
        elif any(len(n) > DEPARTMENT_NAME_MAX_LENGTH for n in names):
            problems.append(FieldProblem("department", "department.name_too_long",
                                         n=DEPARTMENT_NAME_MAX_LENGTH))
        elif any(_CONTROL.search(n) for n in names):
            problems.append(FieldProblem("department", "control_chars"))
        else:
            clean["department"] = "/".join(names) or None
    if "interface" in changes:
        interface, problem = clean_interface(changes["interface"])
        if problem is None and interface is not None:
            owner = _interface_owner(session, interface, user.id if user else None)
            if owner is not None:
                problem = FieldProblem("interface", "interface.taken", interface=interface,
                                       user=user_label(owner))
        if problem is not None:
            problems.append(problem)
        else:
            clean["interface"] = interface
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            problems.append(FieldProblem("active", "not_boolean"))
        else:
            clean["active"] = changes["active"]
    if "email" in changes:
        # Where escalation notices are mailed (tickets.mail); empty: in the app only.
        email = changes["email"] if changes["email"] is not None else ""
        if not isinstance(email, str):
            problems.append(FieldProblem("email", "not_text"))
        elif email.strip() and not is_email_address(email.strip()):
            problems.append(FieldProblem("email", "email"))
        else:
            clean["email"] = email.strip() or None
    if "locale" in changes:
        if changes["locale"] not in USER_LOCALES:
            problems.append(FieldProblem("locale", "choice",
                                         choices=", ".join(USER_LOCALES)))
        else:
            clean["locale"] = changes["locale"]
    return clean


def _require_manager(actor: User) -> None:
    if actor is None or not actor.active or not has_permission(actor.role,
                                                               Permission.USER_MANAGE):
        raise PermissionError("managing users needs the user.manage permission")


def update_user(session: Session, actor: User, user: User, changes: dict) -> User:
    """Change ``user``'s administrative fields (any of USER_FIELDS in ``changes``).

    ``department`` is a path ("Service/Beijing", created if needed; empty: none);
    ``interface`` is what Asterisk reports as the queue member's Interface (stripped;
    empty: none; unique); ``scope`` None/"" is the role's default. An admin cannot
    deactivate or demote themselves (so there is always an active admin left).
    ``password``, when given and not empty, is a new password (the password rule,
    ``callcenter.users.passwords``). A new password or deactivation ends every session
    of the user. Raises UserFieldError naming every rejected field; nothing is changed
    then. The telephony bridge re-reads interfaces every 30 s (AgentDirectory), so a change
    reaches screen pops without a restart.
    """
    _require_manager(actor)
    unknown = sorted(set(changes) - set(EDIT_FIELDS))
    if unknown:
        raise UserFieldError([FieldProblem(name, "read_only") for name in unknown])
    problems: list[FieldProblem] = []
    clean = _clean_user_fields(session, user, changes, problems)
    password = changes.get("password") or ""
    if password and (problem := password_problem(password, user.username)) is not None:
        problems.append(FieldProblem("password", problem.code, **problem.params))
    if actor.id == user.id:
        if "role" in clean and clean["role"] != user.role and \
                not _still_manager(clean["role"]):
            problems.append(FieldProblem("role", "user.self_demotion"))
        if clean.get("active") is False:
            problems.append(FieldProblem("active", "user.self_deactivation"))
    if problems:
        raise UserFieldError(problems)
    role = clean.get("role", user.role)
    # The department first: finding or creating it queries and flushes, which must not
    # flush the other changes outside _flush_unique's savepoint.
    if "department" in clean:
        user.department_id = ensure_department(session, clean["department"]).id \
            if clean["department"] else None
    if "display_name" in clean:
        user.display_name = clean["display_name"] or user.username
    if "role" in clean:
        user.role = role
    if "scope" in clean:
        user.scope = clean["scope"] or DEFAULT_SCOPE[role]
    if "interface" in clean:
        user.interface = clean["interface"]
    deactivated = clean.get("active") is False and user.active
    if "active" in clean:
        user.active = clean["active"]
    if "locale" in clean:
        user.locale = clean["locale"]
    if "email" in clean:
        user.email = clean["email"]
    _flush_unique(session)
    if password:
        set_password(session, user, password)  # ends every session of the user
    elif deactivated:
        end_sessions(session, user)
    return user


def _still_manager(role: Role) -> bool:
    return has_permission(role, Permission.USER_MANAGE)


def _flush_unique(session: Session) -> None:
    """Flush; a unique interface or username taken meanwhile is a UserFieldError."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise UserFieldError([FieldProblem(_taken_field(exc), "user.taken_race")]) from exc


def _taken_field(exc: IntegrityError) -> str:
    return "username" if "username" in str(exc.orig).lower() else "interface"


def register_user(session: Session, actor: User, data: dict) -> User:
    """Create a user from the admin page: ``username``, ``password`` and any USER_FIELDS.

    The same rules as ``update_user`` for the shared fields, every problem reported
    at once (UserFieldError); the user itself is made by ``create_user``.
    """
    _require_manager(actor)
    problems: list[FieldProblem] = []
    username = (data.get("username") or "").strip()
    if not username:
        problems.append(FieldProblem("username", "required"))
    elif len(username) > 80:
        problems.append(FieldProblem("username", "too_long", max=80))
    elif _CONTROL_OR_SPACE.search(username):
        problems.append(FieldProblem("username", "user.no_spaces"))
    elif session.scalar(select(User.id).where(User.username == username)):
        problems.append(FieldProblem("username", "user.username_taken", username=username))
    password = data.get("password") or ""
    if (problem := password_problem(password, username)) is not None:
        problems.append(FieldProblem("password", problem.code, **problem.params))
    fields = {k: v for k, v in data.items() if k in USER_FIELDS}
    if "role" not in fields:
        problems.append(FieldProblem("role", "required"))
    clean = _clean_user_fields(session, None, fields, problems)
    if problems:
        raise UserFieldError(problems)
    try:
        with session.begin_nested():
            user = create_user(session, username=username, password=password,
                               role=clean["role"], department=clean.get("department"),
                               interface=clean.get("interface"), scope=clean.get("scope"),
                               display_name=clean.get("display_name", ""),
                               locale=clean.get("locale", "zh_CN"))
            user.email = clean.get("email")
    except IntegrityError as exc:  # taken between our check and the insert
        raise UserFieldError([FieldProblem(_taken_field(exc), "user.taken_race")]) from exc
    except UserError as exc:  # create_user's own "field: message"
        field, _sep, message = str(exc).partition(": ")
        raise UserFieldError([FieldProblem(field if message else "", "user.rejected",
                                           reason=message or field)]) \
            from exc
    if clean.get("active") is False:
        user.active = False
        session.flush()
    return user


def department_paths(session: Session) -> dict[int, str]:
    """Every department's name path ("Service/Beijing"), by id."""
    departments = list(session.execute(select(Department.id, Department.name,
                                              Department.path)))
    names = {d.id: d.name for d in departments}
    return {d.id: "/".join(names.get(int(i), "?") for i in d.path.strip("/").split("/") if i)
            for d in departments}


def users_query(q: str | None = None):
    """All users, by username; ``q`` matches username or display name (any case)."""
    stmt = select(User).order_by(User.username)
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(or_(func.lower(User.username).contains(needle, autoescape=True),
                              func.lower(User.display_name).contains(needle,
                                                                     autoescape=True)))
    return stmt
