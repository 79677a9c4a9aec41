"""The defect-code taxonomy as other domains read it: a code's name (in either language)
and its class, service defect or product defect."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import DefectCode


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
