"""Keeping the search index in step with the entries: every save of an entry rewrites its
words (``index_item``) in the same transaction, so an edited article is found by its new
words as soon as the edit is committed, and never before.

``kb_search`` holds the words; the database's own full-text index follows it (SQLite:
triggers into FTS5; PostgreSQL: a generated tsvector column). ``kb_terms`` counts in how
many entries each word occurs: search leaves out of a question the words most entries
hold, and corrects English typos against it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kb.models import KbItem, KbItemModel, KbItemTag, KbSearchDoc, KbTerm
from kb.text import joined

MAX_TERM = 100
#: Words per statement when counting.
CHUNK = 2000


def item_texts(session: Session, item: KbItem) -> tuple[str, str]:
    """The entry's title words and the rest of its words (body, defect fields, product
    models, tags), as the index stores them."""
    models = session.scalars(select(KbItemModel.model)
                             .where(KbItemModel.item_id == item.id)).all()
    tags = session.scalars(select(KbItemTag.tag).where(KbItemTag.item_id == item.id)).all()
    title = joined([item.title])
    body = joined([item.symptom, item.cause, item.solution, item.body, " ".join(models),
                   " ".join(tags)])
    return title, body


def vocabulary(*texts: str) -> set[str]:
    """The distinct words of index texts, as ``kb_terms`` counts them."""
    return {w for text in texts for w in text.split() if len(w) <= MAX_TERM}


def count_terms(session: Session, added: Iterable[str], removed: Iterable[str]) -> None:
    """One more (``added``) or one fewer (``removed``) entry holding each word: atomic
    increments, so parallel saves lose no count."""
    added, removed = sorted(set(added)), sorted(set(removed))
    dialect = session.get_bind().dialect.name
    for i in range(0, len(added), CHUNK):
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(KbTerm)
        session.execute(insert.values([{"term": t, "documents": 1}
                                       for t in added[i:i + CHUNK]])
                        .on_conflict_do_update(index_elements=[KbTerm.term],
                                               set_={"documents": KbTerm.documents + 1}))
    for i in range(0, len(removed), CHUNK):
        session.execute(update(KbTerm).where(KbTerm.term.in_(removed[i:i + CHUNK]))
                        .values(documents=KbTerm.documents - 1))


def index_item(session: Session, item: KbItem) -> None:
    """Writes the entry's words (after its fields, models and tags are flushed)."""
    session.flush()
    title, body = item_texts(session, item)
    doc = session.get(KbSearchDoc, item.id)
    before = vocabulary(doc.title_words, doc.body_words) if doc is not None else set()
    if doc is None:
        session.add(KbSearchDoc(item_id=item.id, title_words=title, body_words=body))
    elif (doc.title_words, doc.body_words) != (title, body):
        doc.title_words, doc.body_words = title, body
    after = vocabulary(title, body)
    count_terms(session, after - before, before - after)
    session.flush()


def reindex_all(session: Session, *, batch: int = 500) -> int:
    """Every entry's words again (after the segmentation changed); returns how many."""
    done = 0
    last = 0
    while True:
        items = session.scalars(select(KbItem).where(KbItem.id > last)
                                .order_by(KbItem.id).limit(batch)).all()
        if not items:
            return done
        for item in items:
            index_item(session, item)
        done += len(items)
        last = items[-1].id
