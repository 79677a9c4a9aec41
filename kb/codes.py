"""The defect-code taxonomy: a code (AC-CMP-NOISE), its name in Chinese and English and
its class, service defect or product defect. Other domains read it through
``describe_codes``; editors keep it (``save_code``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.customers.services import require
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from kb.models import DefectClass, DefectCode, KbItem


@dataclass(frozen=True)
class CodeInfo:
    code: str
    name: str
    name_en: str
    defect_class: str     # "service" | "product"


def describe_codes(session: Session, codes: Iterable[str] | None = None) -> dict[str, CodeInfo]:
    """The taxonomy's entries for ``codes`` (all active ones when None), by code."""
    stmt = select(DefectCode)
    if codes is not None:
        wanted = {c for c in codes if c}
        if not wanted:
            return {}
        stmt = stmt.where(DefectCode.code.in_(wanted))
    else:
        stmt = stmt.where(DefectCode.active.is_(True))
    return {c.code: CodeInfo(c.code, c.name, c.name_en or c.name, c.defect_class.value)
            for c in session.scalars(stmt.order_by(DefectCode.code))}


CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")


class DefectCodeNotFound(NotFound):
    entity = "kb_defect_code"


def save_code(session: Session, actor: User, data: dict[str, Any]) -> DefectCode:
    """A new code, or the one with this ``code`` changed (name, name_en, class, active)."""
    require(actor, Permission.KB_EDIT)
    errors: dict[str, Problem] = {}
    code = str(data.get("code") or "").strip().upper()
    if not CODE_PATTERN.match(code):
        errors["code"] = Problem("kb.code_pattern")
    name, problem = text_problem(data.get("name"), 200, required=True)
    if problem is not None:
        errors["name"] = problem
    name_en, problem = text_problem(data.get("name_en", ""), 200)
    if problem is not None:
        errors["name_en"] = problem
    try:
        defect_class = DefectClass(data.get("defect_class"))
    except ValueError:
        errors["defect_class"] = Problem("choice", {"choices": "service, product"})
    if errors:
        raise ValidationError(errors)
    row = session.scalar(select(DefectCode).where(DefectCode.code == code))
    if row is None:
        row = DefectCode(code=code)
        session.add(row)
    row.name, row.name_en, row.defect_class = name, name_en or "", defect_class
    row.active = bool(data.get("active", True))
    session.flush()
    return row


def all_codes(session: Session) -> list[tuple[DefectCode, int]]:
    """Every code, withdrawn ones too, with how many defect entries are filed under it."""
    used = dict(session.execute(
        select(KbItem.defect_code_id, func.count()).where(KbItem.defect_code_id.is_not(None))
        .group_by(KbItem.defect_code_id)).all())
    return [(c, used.get(c.id, 0))
            for c in session.scalars(select(DefectCode).order_by(DefectCode.code))]
