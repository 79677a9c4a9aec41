"""Synonyms editors keep: groups of words or phrases that mean the same to a caller
("不制冷, 不冷, 制冷差, no cooling, not cooling"). A question holding one member of a
group also searches the others' words."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from kb.models import KbSynonym
from kb.text import words

#: Members are separated by commas (also the Chinese ，、) or semicolons.
_SPLIT = re.compile(r"[,，、;；\n]+")
MAX_TERMS = 500
MAX_MEMBERS = 20


class SynonymNotFound(NotFound):
    entity = "kb_synonym"


def members(terms: str) -> list[str]:
    return [m.strip() for m in _SPLIT.split(terms or "") if m.strip()]


def groups(session: Session) -> list[list[str]]:
    return [members(t) for t in session.scalars(select(KbSynonym.terms))]


#: The groups cut into words, per process, with the state of the table they were read
#: in: cutting every member of every group into words for every question cost more than
#: the full-text query itself (bench/kb_search.py).
_cache: dict[str, tuple[tuple, list[list[list[str]]]]] = {}
_cache_lock = threading.Lock()


def _group_words(session: Session) -> list[list[list[str]]]:
    state = tuple(session.execute(select(func.count(KbSynonym.id), func.max(KbSynonym.id),
                                         func.max(KbSynonym.updated_at))).one())
    bind = session.get_bind()
    key = str(getattr(bind, "url", None) or bind.engine.url)
    cached = _cache.get(key)
    if cached is not None and cached[0] == state:
        return cached[1]
    built = [[words(m) for m in group] for group in groups(session)]
    with _cache_lock:
        _cache[key] = (state, built)
    return built


def expand(session: Session, question: str, asked: Iterable[str]) -> list[str]:
    """The words the question's synonyms add (not already asked), in group order."""
    have = set(asked)
    out: list[str] = []
    for member_words in _group_words(session):
        if any(mw and set(mw) <= have for mw in member_words):
            for mw in member_words:
                out.extend(w for w in mw if w not in have and w not in out)
    return out


def _clean(data: dict[str, Any]) -> str:
    found = members(data.get("terms", "") if isinstance(data.get("terms"), str) else "")
    if len(found) < 2:
        raise ValidationError({"terms": Problem("kb.synonyms_too_few")})
    if len(found) > MAX_MEMBERS:
        raise ValidationError({"terms": Problem("kb.synonyms_too_many",
                                                {"max": MAX_MEMBERS})})
    joined = ", ".join(dict.fromkeys(found))
    if len(joined) > MAX_TERMS:
        raise ValidationError({"terms": Problem("too_long", {"max": MAX_TERMS})})
    return joined


def save_synonyms(session: Session, actor: User, data: dict[str, Any],
                  synonym_id: int | None = None) -> KbSynonym:
    """A new group, or group ``synonym_id`` changed (``terms``: members, comma-separated)."""
    require(actor, Permission.KB_EDIT)
    terms = _clean(data)
    if synonym_id is None:
        row = KbSynonym(terms=terms, updated_at=utcnow())
        session.add(row)
    else:
        row = session.get(KbSynonym, synonym_id)
        if row is None:
            raise SynonymNotFound(synonym_id)
        row.terms, row.updated_at = terms, utcnow()
    session.flush()
    return row


def delete_synonyms(session: Session, actor: User, synonym_id: int) -> None:
    require(actor, Permission.KB_EDIT)
    row = session.get(KbSynonym, synonym_id)
    if row is None:
        raise SynonymNotFound(synonym_id)
    session.delete(row)
    session.flush()
