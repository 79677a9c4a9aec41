from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    #: After-sales finance: keeps the service stations' and parts' master data and
    #: settles repair orders (domain.md section 4).
    FINANCE = "finance"
    ADMIN = "admin"


class Scope(enum.StrEnum):
    """Which customer records a user may see, narrowest first (domain.md section 7)."""

    OWN = "own"                 # 负责员工: the user is the responsible employee
    RELATED = "related"         # 相关员工: ... or one of the related employees
    DEPARTMENT = "department"   # 相关部门: ... or owned by their department or a sub-department
    ALL = "all"                 # 全部


#: The scope a new user gets unless one is given.
DEFAULT_SCOPE = {
    Role.AGENT: Scope.DEPARTMENT,
    Role.TECHNICIAN: Scope.RELATED,
    Role.SUPERVISOR: Scope.DEPARTMENT,
    # Finance settles with every dealer and bills every customer.
    Role.FINANCE: Scope.ALL,
    Role.ADMIN: Scope.ALL,
}


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Department(Base):
    """A node of the department tree. ``path`` ("/1/4/9/") makes a subtree one prefix match."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    path: Mapped[str] = mapped_column(String(500), default="", index=True)
    #: The team lead: a ticket that breaches its SLA escalates to them, then to the lead
    #: of the department above (tickets.escalation).
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True,
                                                           ondelete="SET NULL"))

    parent: Mapped[Department | None] = relationship(remote_side=[id])
    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])

    __table_args__ = (Index("ix_departments_parent_name", "parent_id", "name", unique=True),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    #: argon2id hash (argon2-cffi); never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    scope: Mapped[Scope] = mapped_column(_enum(Scope, "scope"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: The member interface Asterisk reports for this agent ("PJSIP/1001", "Local/1001@agents").
    interface: Mapped[str | None] = mapped_column(String(120), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    #: Where ticket notices are mailed (tickets.mail); None: in-app notices only.
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)
    #: Wrong passwords in a row (from any address); counted before the password is
    #: checked, in one UPDATE, so parallel guesses cannot overtake it (services.authenticate).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    #: Past ``LOGIN_MAX_FAILURES`` failures: no guess is checked before this time.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Stored in the session at login; a session whose number is not the user's any
    #: more is over. Raised by logout, a password change and deactivation.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: SHA-256 of the API token; the token itself is shown once, at creation.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)
