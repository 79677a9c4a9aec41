"""Checking one CSV record of an import: cells to column values, or RowInvalid.

Everything here is plain Python per row (cheap); the only database reads are the
cached look-ups of usernames and department paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import choice_problem, is_email_address
from callcenter.core.messages import describe
from callcenter.customers.models import Lifecycle, Tier
from callcenter.customers.schemas import CONTACT_LIMITS, CUSTOMER_LIMITS
from callcenter.customers.services import clean_phones, visible_to
from callcenter.products.models import WarrantyType
from callcenter.products.schemas import LIMITS as PRODUCT_LIMITS
from callcenter.users.models import Department, User


class RowInvalid(ValueError):
    """One cell is unusable: the column and what is wrong with it, as a catalogue code
    (worded where it is shown, in the reader's language)."""

    def __init__(self, field: str, problem: Problem):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    @classmethod
    def of(cls, field: str, code: str, **params) -> RowInvalid:
        return cls(field, Problem(code, params))

    @property
    def message(self) -> str:
        return describe(self.problem)


@dataclass(slots=True)
class CleanRow:
    line: int
    #: The record's external id (the upsert key).
    key: str
    #: Column values from non-empty cells only (an empty cell changes nothing).
    values: dict
    #: Normalised phones when the phones cell was filled, else None (keep current).
    phones: list[dict] | None = None
    #: External id of the customer a contact or product belongs to.
    customer_ref: str | None = None


class ImportContext:
    """What a whole import shares: session, actor, region and cached look-ups."""

    def __init__(self, session: Session, actor: User | None, region: str):
        self.session = session
        self.actor = actor
        self.region = region
        self.dialect = session.get_bind().dialect.name
        self._users: dict[str, int] = {}
        self._departments: dict[str, int] | None = None

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None

    def visible_clause(self):
        """SQL: customers the actor may change (everything for the command line)."""
        return None if self.actor is None else visible_to(self.actor)

    def prepare(self, kind: str) -> None:
        """Load the look-up tables up front: rows are checked while another thread may be
        writing through the session, so checking must not touch the database."""
        if kind != "customers":
            return
        self._users = {r.username: r.id for r in self.session.execute(
            select(User.username, User.id).where(User.active.is_(True)))}
        rows = self.session.execute(
            select(Department.id, Department.name, Department.parent_id)).all()
        by_id = {r.id: r for r in rows}

        def full(r) -> str:
            names = []
            seen = set()
            while r is not None and r.id not in seen:
                seen.add(r.id)
                names.append(r.name.casefold())
                r = by_id.get(r.parent_id)
            return "/".join(reversed(names))

        self._departments = {full(r): r.id for r in rows}

    def user_id(self, username: str) -> int | None:
        """Id of the active user ``username`` (``prepare`` loaded them)."""
        return self._users.get(username)

    def department_id(self, path: str) -> int | None:
        """Id of the department at ``path`` ("Service/Beijing", case-insensitive)."""
        key = "/".join(p.strip().casefold() for p in path.split("/") if p.strip())
        return (self._departments or {}).get(key)


# --- cells ------------------------------------------------------------------------

#: Control characters (newlines allowed only where said), and bytes that were not UTF-8
#: (kept as lone surrogates by the decoder's surrogateescape).
_BAD_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\udc80-\udcff]")
_BAD_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")
_NOT_UTF8 = re.compile(r"[\udc80-\udcff]")
#: What a spreadsheet would run as a formula: =..., @..., +cmd, -cmd (but +86 138...).
_FORMULA = re.compile(r"^(?:[=@]|[+\-][^\d\s.(+])")
_PHONE_SEPARATORS = re.compile(r"[;|,；｜，、]")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")

LIFECYCLE_ALIASES = {"潜在": "potential", "目标": "target", "现实": "current", "流失": "lost"}
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否"}


def text_cell(cells: dict[str, str], column: str, limit: int, *, required: bool = False,
              multiline: bool = False) -> str | None:
    """The stripped cell, None when empty; RowInvalid when unusable."""
    raw = cells.get(column)
    value = raw.strip() if raw else ""
    if not value:
        if required:
            raise RowInvalid.of(column, "required")
        return None
    if (_BAD_MULTILINE if multiline else _BAD_ONE_LINE).search(value):
        if _NOT_UTF8.search(value):
            raise RowInvalid.of(column, "import.not_utf8")
        raise RowInvalid.of(column, "control_chars")
    if len(value) > limit:
        raise RowInvalid.of(column, "import.too_long", max=limit, length=len(value))
    if _FORMULA.match(value):
        raise RowInvalid.of(column, "import.formula")
    return value


def enum_cell(cells, column: str, enum, aliases: dict[str, str] | None = None):
    value = text_cell(cells, column, 40)
    if value is None:
        return None
    value = (aliases or {}).get(value, value).lower()
    try:
        return enum(value)
    except ValueError:
        raise RowInvalid(column, choice_problem(enum)) from None


def date_cell(cells, column: str) -> date | None:
    value = text_cell(cells, column, 20)
    if value is None:
        return None
    match = _DATE.match(value)
    try:
        if not match:
            raise ValueError
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise RowInvalid.of(column, "import.not_date", value=value) from None


def email_cell(cells, limit: int) -> str | None:
    value = text_cell(cells, "email", limit)
    # The one e-mail rule, as the API's schema and the services apply it.
    if value is not None and not is_email_address(value):
        raise RowInvalid.of("email", "email")
    return value


def phones_cell(cells, region: str) -> list[dict] | None:
    value = text_cell(cells, "phones", 1000)
    if value is None:
        return None
    parts = [p.strip() for p in _PHONE_SEPARATORS.split(value) if p.strip()]
    try:
        return clean_phones(parts, region)
    except ValidationError as exc:
        raise RowInvalid("phones", next(iter(exc.errors.values()))) from None


# --- one record per kind ----------------------------------------------------------

def clean_customer(ctx: ImportContext, line: int, cells: dict[str, str]) -> CleanRow:
    limits = CUSTOMER_LIMITS
    key = text_cell(cells, "external_id", limits["external_id"], required=True)
    name = text_cell(cells, "name", limits["name"], required=True)
    values: dict = {"name": name}
    for column in ("tax_id", "region", "industry"):
        value = text_cell(cells, column, limits[column])
        if value is not None:
            values[column] = value
    notes = text_cell(cells, "notes", limits["notes"], multiline=True)
    if notes is not None:
        values["notes"] = notes
    email = email_cell(cells, limits["email"])
    if email is not None:
        values["email"] = email
    lifecycle = enum_cell(cells, "lifecycle", Lifecycle, LIFECYCLE_ALIASES)
    if lifecycle is not None:
        values["lifecycle"] = lifecycle
    tier = enum_cell(cells, "tier", Tier)
    if tier is not None:
        values["tier"] = tier
    placeholder = text_cell(cells, "is_placeholder", 5)
    if placeholder is not None:
        flag = placeholder.lower()
        if flag not in _YES | _NO:
            raise RowInvalid.of("is_placeholder", "not_boolean")
        values["is_placeholder"] = flag in _YES
    username = text_cell(cells, "responsible", 80)
    if username is not None:
        user_id = ctx.user_id(username)
        if user_id is None:
            raise RowInvalid.of("responsible", "import.no_user", username=username)
        values["responsible_id"] = user_id
    path = text_cell(cells, "department", 500)
    if path is not None:
        department_id = ctx.department_id(path)
        if department_id is None:
            raise RowInvalid.of("department", "import.no_department", path=path)
        values["department_id"] = department_id
    return CleanRow(line, key, values, phones_cell(cells, ctx.region))


def clean_contact(ctx: ImportContext, line: int, cells: dict[str, str]) -> CleanRow:
    limits = CONTACT_LIMITS
    key = text_cell(cells, "external_id", limits["external_id"], required=True)
    ref = text_cell(cells, "customer_external_id", CUSTOMER_LIMITS["external_id"],
                    required=True)
    values: dict = {"name": text_cell(cells, "name", limits["name"], required=True)}
    position = text_cell(cells, "position", limits["position"])
    if position is not None:
        values["position"] = position
    email = email_cell(cells, limits["email"])
    if email is not None:
        values["email"] = email
    return CleanRow(line, key, values, phones_cell(cells, ctx.region), customer_ref=ref)


def clean_product(ctx: ImportContext, line: int, cells: dict[str, str]) -> CleanRow:
    key = text_cell(cells, "external_id", PRODUCT_LIMITS["external_id"], required=True)
    values: dict = {"serial_number": text_cell(cells, "serial_number",
                                               PRODUCT_LIMITS["serial_number"], required=True),
                    "model": text_cell(cells, "model", PRODUCT_LIMITS["model"], required=True)}
    ref = text_cell(cells, "customer_external_id", CUSTOMER_LIMITS["external_id"],
                    required=True)
    warranty_type = enum_cell(cells, "warranty_type", WarrantyType)
    if warranty_type is not None:
        values["warranty_type"] = warranty_type
    for column in ("warranty_end", "installed_on"):
        value = date_cell(cells, column)
        if value is not None:
            values[column] = value
    if values.get("warranty_end") and values.get("installed_on") \
            and values["warranty_end"] < values["installed_on"]:
        raise RowInvalid.of("warranty_end", "product.ends_before_install")
    return CleanRow(line, key, values, customer_ref=ref)
