"""Suggestions: the entries likely to answer what someone is working on, found without
being asked for. For a service request: its subject and description searched, the
entries covering its product's model first. For a ringing call: the customer's open
tickets and installed products. For a technician's job: the defects known for the
product's model. Each is ``kb.search`` underneath, published entries only."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.models import ItemKind, ItemStatus, KbItem, KbItemModel
from kb.search import Hit, search

LIMIT = 5
MAX_QUESTION = 500


#: How much more an entry covering the product's model counts than one that does not.
MODEL_BOOST = 1.5


def for_problem(session: Session, text: str, models: Iterable[str] = (), *,
                limit: int = LIMIT) -> list[Hit]:
    """Entries for a problem described in ``text``, best first; those covering one of
    ``models`` count ``MODEL_BOOST`` times more (a weak match for the model does not
    push a strong general one out)."""
    question = " ".join(text.split())[:MAX_QUESTION]
    if not question:
        return []
    best: dict[int, tuple[float, Hit]] = {}
    for model in dict.fromkeys(m for m in models if m):
        for hit in search(session, question, model=model, limit=limit)[1]:
            best[hit.item.id] = (hit.score * MODEL_BOOST, hit)
    for hit in search(session, question, limit=limit)[1]:
        if hit.item.id not in best:
            best[hit.item.id] = (hit.score, hit)
    ranked = sorted(best.values(), key=lambda pair: (-pair[0], pair[1].item.id))
    return [hit for _score, hit in ranked[:limit]]


def defects_for_models(session: Session, models: Iterable[str], *,
                       limit: int = LIMIT) -> list[KbItem]:
    """The published defects known for these product models, the most helpful first."""
    models = [m for m in dict.fromkeys(models) if m]
    if not models:
        return []
    return list(session.scalars(
        select(KbItem).where(KbItem.kind == ItemKind.DEFECT,
                             KbItem.status == ItemStatus.PUBLISHED,
                             KbItem.id.in_(select(KbItemModel.item_id)
                                           .where(KbItemModel.model.in_(models))))
        .order_by((KbItem.helpful - KbItem.not_helpful).desc(), KbItem.views.desc(),
                  func.length(KbItem.title), KbItem.id).limit(limit)))


def defects_for_job(session: Session, fault: str, model: str, *,
                    limit: int = LIMIT) -> list[KbItem]:
    """The defects known for ``model``, those matching the reported ``fault`` first."""
    question = " ".join((fault or "").split())[:MAX_QUESTION]
    found = [h.item for h in search(session, question, kind=ItemKind.DEFECT, model=model,
                                    limit=limit)[1]] if question and model else []
    seen = {item.id for item in found}
    rest = [item for item in defects_for_models(session, [model], limit=limit)
            if item.id not in seen]
    return (found + rest)[:limit]
