"""Writing and reading knowledge-base entries (articles and defects).

Editors (``kb.edit``) write: create, change (a compare-and-swap on ``version``: a stale
one is a 409, never a lost edit), publish, archive. Every save keeps the whole entry as a
``KbItemVersion`` and rewrites its search words in the same transaction
(``kb.index.index_item``). Everyone who may read the knowledge base (``kb.read``) reads
published entries; editors also drafts and archived ones; anything else is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import as_id, text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from kb.index import index_item
from kb.models import (
    DefectCode,
    ItemKind,
    ItemStatus,
    KbCategory,
    KbFeedback,
    KbItem,
    KbItemModel,
    KbItemTag,
    KbItemVersion,
)

STALE = "kb.stale_version"
LIMITS = {"title": 200, "body": 100_000, "symptom": 10_000, "cause": 10_000,
          "solution": 20_000, "external_id": 100, "model": 120, "tag": 60}
MAX_MODELS, MAX_TAGS = 50, 30
LANGS = ("zh", "en")
TEXT_FIELDS = ("title", "body", "symptom", "cause", "solution")


class KbItemNotFound(NotFound):
    entity = "kb_item"


def may_edit(user: User | None) -> bool:
    """``None`` is the operator at the command line (an import), unrestricted."""
    return user is None or has_permission(user.role, Permission.KB_EDIT)


def _require_edit(actor: User | None) -> None:
    if actor is not None:
        require(actor, Permission.KB_EDIT)


def get_item(session: Session, actor: User, item_id: Any, *,
             for_update: bool = False) -> KbItem:
    """The entry, if ``actor`` may read it (published; editors: any), else not found."""
    require(actor, Permission.KB_READ)
    iid = as_id(item_id)
    stmt = select(KbItem).where(KbItem.id == (iid or 0))
    if not may_edit(actor):
        stmt = stmt.where(KbItem.status == ItemStatus.PUBLISHED)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    item = session.scalar(stmt)
    if item is None:
        raise KbItemNotFound(item_id)
    return item


def _list(value: Any, field: str, limit: int, most: int,
          errors: dict[str, Problem]) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",")]
    if not isinstance(value, list):
        errors[field] = Problem("not_list")
        return None
    out: list[str] = []
    for entry in value:
        text, problem = text_problem(entry, limit)
        if problem is not None:
            errors[field] = problem
            return None
        if text and text not in out:
            out.append(text)
    if len(out) > most:
        errors[field] = Problem("too_many", {"max": most})
        return None
    return out


def _clean(session: Session, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        if field in data:
            value = data[field]
            if isinstance(value, str) and field != "title":
                # A browser's textarea sends CRLF: stored as it was, an unchanged text
                # would count as a new version.
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            text, problem = text_problem(value, LIMITS[field], multiline=field != "title",
                                         required=field == "title")
            if problem is not None:
                errors[field] = problem
            else:
                values[field] = text or ""
    if creating and "title" not in data:
        errors["title"] = Problem("required")
    if "kind" in data or creating:
        try:
            values["kind"] = ItemKind(data.get("kind") or "article")
        except ValueError:
            errors["kind"] = Problem("choice", {"choices": "article, defect"})
    if "lang" in data or creating:
        lang = data.get("lang") or "zh"
        if lang not in LANGS:
            errors["lang"] = Problem("choice", {"choices": ", ".join(LANGS)})
        values["lang"] = lang
    if data.get("external_id") is not None:
        text, problem = text_problem(data["external_id"], LIMITS["external_id"])
        if problem is not None:
            errors["external_id"] = problem
        values["external_id"] = text or None
    for field, model in (("category_id", KbCategory), ("defect_code_id", DefectCode)):
        if field in data:
            if data[field] in (None, ""):
                values[field] = None
            elif as_id(data[field]) is None or session.get(model, as_id(data[field])) is None:
                errors[field] = Problem("kb.unknown", {"id": str(data[field])[:20]})
            else:
                values[field] = as_id(data[field])
    models = _list(data.get("models"), "models", LIMITS["model"], MAX_MODELS, errors)
    tags = _list(data.get("tags"), "tags", LIMITS["tag"], MAX_TAGS, errors)
    if errors:
        raise ValidationError(errors)
    return {"fields": values, "models": models, "tags": tags}


def _replace(session: Session, item: KbItem, model, column: str, values: list[str]) -> None:
    session.execute(delete(model).where(model.item_id == item.id))
    if values:
        session.execute(model.__table__.insert(), [{"item_id": item.id, column: v}
                                                   for v in values])


def _keep_version(session: Session, item: KbItem, actor: User | None) -> None:
    session.add(KbItemVersion(item_id=item.id, version=item.version, title=item.title,
                              body=item.body, symptom=item.symptom, cause=item.cause,
                              solution=item.solution, status=item.status,
                              changed_by_id=actor.id if actor else None,
                              changed_at=item.updated_at))


def _flush_filed(session: Session, item: KbItem, *, add: bool = False) -> None:
    """Flush ``item``; its category or defect code removed since it was checked (by a
    request running at the same time) is the same 422 as one that never existed."""
    try:
        with session.begin_nested():
            if add:
                session.add(item)
            session.flush()
    except IntegrityError:
        errors = {field: Problem("kb.unknown", {"id": str(value)})
                  for field, model, value in (
                      ("category_id", KbCategory, item.category_id),
                      ("defect_code_id", DefectCode, item.defect_code_id))
                  if value is not None and session.get(model, value) is None}
        if not errors:
            raise
        raise ValidationError(errors) from None


def create_item(session: Session, actor: User | None, data: dict[str, Any]) -> KbItem:
    _require_edit(actor)
    clean = _clean(session, data, creating=True)
    status = data.get("status") or ItemStatus.DRAFT
    try:
        status = ItemStatus(status)
    except ValueError:
        raise ValidationError({"status": Problem("choice", {
            "choices": ", ".join(s.value for s in ItemStatus)})}) from None
    now = utcnow()
    who = actor.id if actor is not None else None
    item = KbItem(**clean["fields"], status=status, version=1, created_by_id=who,
                  updated_by_id=who, created_at=now, updated_at=now,
                  published_at=now if status == ItemStatus.PUBLISHED else None)
    _flush_filed(session, item, add=True)
    _replace(session, item, KbItemModel, "model", clean["models"] or [])
    _replace(session, item, KbItemTag, "tag", clean["tags"] or [])
    _keep_version(session, item, actor)
    index_item(session, item)
    return item


def update_item(session: Session, actor: User | None, item: KbItem, data: dict[str, Any], *,
                version: int | None) -> KbItem:
    """Changes what ``data`` holds; ``version``: the one the editor read (409 if stale)."""
    _require_edit(actor)
    check_version(item, version, STALE)
    clean = _clean(session, data, creating=False)
    changes = {k: v for k, v in clean["fields"].items() if getattr(item, k) != v}
    models, tags = clean["models"], clean["tags"]
    if models is not None and sorted(models) == models_of(session, item.id):
        models = None
    if tags is not None and sorted(tags) == tags_of(session, item.id):
        tags = None
    if not changes and models is None and tags is None:
        return item
    claim(session, item, version, STALE)
    for field, value in changes.items():
        setattr(item, field, value)
    item.updated_by_id, item.updated_at = (actor.id if actor else None), utcnow()
    if models is not None:
        _replace(session, item, KbItemModel, "model", models)
    if tags is not None:
        _replace(session, item, KbItemTag, "tag", tags)
    _flush_filed(session, item)
    _keep_version(session, item, actor)
    index_item(session, item)
    return item


def set_status(session: Session, actor: User | None, item: KbItem, status: Any, *,
               version: int | None) -> KbItem:
    """Publish, archive or take back to draft (a new version each time)."""
    _require_edit(actor)
    try:
        status = ItemStatus(status)
    except ValueError:
        raise ValidationError({"status": Problem("choice", {
            "choices": ", ".join(s.value for s in ItemStatus)})}) from None
    check_version(item, version, STALE)
    if item.status == status:
        return item
    claim(session, item, version, STALE)
    item.status, item.updated_at = status, utcnow()
    item.updated_by_id = actor.id if actor is not None else None
    if status == ItemStatus.PUBLISHED and item.published_at is None:
        item.published_at = item.updated_at
    session.flush()
    _keep_version(session, item, actor)
    return item


def count_view(session: Session, item: KbItem) -> None:
    """One more view: an atomic increment (parallel readers lose none)."""
    session.execute(update(KbItem).where(KbItem.id == item.id)
                    .values(views=KbItem.views + 1)
                    .execution_options(synchronize_session=False))


def give_feedback(session: Session, actor: User, item: KbItem, helpful: Any) -> KbItem:
    """``actor`` finds the entry helpful or not; their last word counts, once."""
    require(actor, Permission.KB_READ)
    if not isinstance(helpful, bool):
        raise ValidationError({"helpful": Problem("not_boolean")})
    row = session.get(KbFeedback, (item.id, actor.id), with_for_update=True)
    if row is not None and row.helpful == helpful:
        return item
    if row is None:
        session.add(KbFeedback(item_id=item.id, user_id=actor.id, helpful=helpful,
                               at=utcnow()))
        delta = {"helpful": KbItem.helpful + 1} if helpful else \
            {"not_helpful": KbItem.not_helpful + 1}
    else:
        row.helpful, row.at = helpful, utcnow()
        delta = {"helpful": KbItem.helpful + (1 if helpful else -1),
                 "not_helpful": KbItem.not_helpful + (-1 if helpful else 1)}
    session.execute(update(KbItem).where(KbItem.id == item.id).values(**delta)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(item, ["helpful", "not_helpful"])
    return item


def models_of(session: Session, item_id: int) -> list[str]:
    return list(session.scalars(select(KbItemModel.model)
                                .where(KbItemModel.item_id == item_id)
                                .order_by(KbItemModel.model)))


def tags_of(session: Session, item_id: int) -> list[str]:
    return list(session.scalars(select(KbItemTag.tag).where(KbItemTag.item_id == item_id)
                                .order_by(KbItemTag.tag)))


def versions_of(session: Session, item_id: int) -> list[KbItemVersion]:
    return list(session.scalars(select(KbItemVersion).where(KbItemVersion.item_id == item_id)
                                .order_by(KbItemVersion.version.desc())))
