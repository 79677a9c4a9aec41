"""The category tree: service, sales and marketing at the top, and levels below them.
A category is found (or made) by its path of names, "服务/空调/压缩机"."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from kb.models import KbCategory

MAX_DEPTH = 6
MAX_NAME = 120


def ensure_path(session: Session, path: str, *, names_en: tuple[str, ...] = ()) -> KbCategory:
    """The category at ``path`` ("a/b/c"), made level by level where missing."""
    names = [n.strip()[:MAX_NAME] for n in path.replace("／", "/").split("/") if n.strip()]
    if not names or any(not n.isprintable() for n in names):
        raise ValidationError({"path": Problem("kb.category_path")})
    parent: KbCategory | None = None
    for depth, name in enumerate(names[:MAX_DEPTH]):
        found = session.scalar(select(KbCategory).where(
            KbCategory.name == name,
            KbCategory.parent_id == parent.id if parent else KbCategory.parent_id.is_(None)))
        if found is None:
            found = KbCategory(name=name, parent_id=parent.id if parent else None, path="",
                               name_en=names_en[depth] if depth < len(names_en) else "")
            session.add(found)
            session.flush()
            found.path = f"{parent.path if parent else '/'}{found.id}/"
        parent = found
    return parent


def path_of(session: Session, category: KbCategory | None) -> str:
    if category is None:
        return ""
    ids = [int(i) for i in category.path.strip("/").split("/") if i]
    names = dict(session.execute(select(KbCategory.id, KbCategory.name)
                                 .where(KbCategory.id.in_(ids))).all())
    return "/".join(names.get(i, "?") for i in ids)


def tree(session: Session) -> list[tuple[KbCategory, int]]:
    """Every category with its depth, parents before children, by name."""
    rows = list(session.scalars(select(KbCategory)))
    by_parent: dict[int | None, list[KbCategory]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    out: list[tuple[KbCategory, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for child in sorted(by_parent.get(parent_id, []), key=lambda c: c.name):
            out.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    return out
