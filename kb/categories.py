"""The category tree: service, sales and marketing at the top, and levels below them.
A category is found (or made) by its path of names, "服务/空调/压缩机"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import Conflict, NotFound, Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.customers.services import require
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from kb.models import KbCategory, KbItem

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
        name_en = names_en[depth].strip()[:MAX_NAME] if depth < len(names_en) else ""
        if found is None:
            found = _add_level(session, parent, name, name_en)
        elif name_en and not found.name_en and name_en.isprintable():
            found.name_en = name_en   # a blank is filled in; a name an editor gave stays
        parent = found
    return parent


def _add_level(session: Session, parent: KbCategory | None, name: str,
               name_en: str) -> KbCategory:
    """A new category under ``parent``; the one another request added meanwhile when the
    level's unique index says so (one path added twice at once is one category)."""
    category = KbCategory(name=name, parent_id=parent.id if parent else None, path="",
                          name_en=name_en)
    try:
        with session.begin_nested():
            session.add(category)
            session.flush()
            category.path = f"{parent.path if parent else '/'}{category.id}/"
            session.flush()
    except IntegrityError:
        found = session.scalar(select(KbCategory).where(
            KbCategory.name == name,
            KbCategory.parent_id == parent.id if parent else KbCategory.parent_id.is_(None)))
        if found is None:
            raise
        return found
    return category


def path_of(session: Session, category: KbCategory | None, *, english: bool = False) -> str:
    """The category's path of names ("服务/空调"); ``english``: of the English names, each
    level falling back to its Chinese name where it has none."""
    if category is None:
        return ""
    ids = [int(i) for i in category.path.strip("/").split("/") if i]
    rows = session.execute(select(KbCategory.id, KbCategory.name, KbCategory.name_en)
                           .where(KbCategory.id.in_(ids))).all()
    names = {i: (name_en or name) if english else name for i, name, name_en in rows}
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


class CategoryNotFound(NotFound):
    entity = "kb_category"


def _name(value: Any, field: str, errors: dict[str, Problem], *, required: bool) -> str:
    name, problem = text_problem(value, MAX_NAME, required=required)
    if problem is None and "/" in (name or "").replace("／", "/"):
        problem = Problem("kb.category_slash")
    if problem is not None:
        errors[field] = problem
    return name or ""


def rename_category(session: Session, actor: User, category_id: int,
                    data: dict[str, Any]) -> KbCategory:
    """A category's Chinese and English names changed; it keeps its place, its
    subcategories and its entries (they are filed by id)."""
    require(actor, Permission.KB_EDIT)
    category = session.get(KbCategory, category_id)
    if category is None:
        raise CategoryNotFound(category_id)
    errors: dict[str, Problem] = {}
    name = _name(data.get("name"), "name", errors, required=True)
    name_en = _name(data.get("name_en", ""), "name_en", errors, required=False)
    if not errors and name != category.name and session.scalar(select(KbCategory.id).where(
            KbCategory.name == name, KbCategory.id != category.id,
            KbCategory.parent_id == category.parent_id if category.parent_id
            else KbCategory.parent_id.is_(None))):
        errors["name"] = Problem("kb.category_taken", {"name": name})
    if errors:
        raise ValidationError(errors)
    try:
        with session.begin_nested():
            category.name, category.name_en = name, name_en
            session.flush()
    except IntegrityError:   # another request gave a category of this level the name
        raise ValidationError({"name": Problem("kb.category_taken", {"name": name})}) \
            from None
    return category


def remove_category(session: Session, actor: User, category_id: int) -> None:
    """An empty category deleted: one with subcategories or entries is refused, so no
    entry ever loses its place without an editor moving it first."""
    require(actor, Permission.KB_EDIT)
    category = session.get(KbCategory, category_id)
    if category is None:
        raise CategoryNotFound(category_id)
    children, entries = _contents(session, category.id)
    if children or entries:
        raise Conflict("kb.category_in_use", children=children, entries=entries)
    try:
        with session.begin_nested():
            session.delete(category)
            session.flush()
    except IntegrityError:   # an entry or subcategory was filed in it meanwhile
        children, entries = _contents(session, category.id)
        raise Conflict("kb.category_in_use", children=children, entries=entries) from None


def _contents(session: Session, category_id: int) -> tuple[int, int]:
    """(subcategories, entries) filed in a category."""
    children = session.scalar(select(func.count()).select_from(KbCategory)
                              .where(KbCategory.parent_id == category_id)) or 0
    entries = session.scalar(select(func.count()).select_from(KbItem)
                             .where(KbItem.category_id == category_id)) or 0
    return children, entries


def entry_counts(session: Session) -> dict[int, int]:
    """How many entries (any status) each category holds itself, by category id."""
    return dict(session.execute(
        select(KbItem.category_id, func.count()).where(KbItem.category_id.is_not(None))
        .group_by(KbItem.category_id)).all())
