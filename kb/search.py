"""Searching the knowledge base and the defect library together, ranked.

A question is cut into words exactly as the entries were (``kb.text``), widened by the
synonyms editors keep (``kb.synonyms``) and by corrections of English typos (a word no
entry holds is replaced by the nearest one that entries do hold: at most one edit for
short words, two for long ones, same first letter), and matched with the database's own
full-text index: any of the words may match, and entries matching more of them, and
in the title, rank first (SQLite FTS5's BM25 with the title weighted 4:1; PostgreSQL's
ts_rank over a tsvector with the title as weight A). Filters (kind, product model,
category with its subcategories, language, status) are SQL conditions on the same query.
The snippet is cut from the entry's own text around the words found, HTML-escaped, with
the words in ``<mark>``.
"""

from __future__ import annotations

import html
import itertools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import Float, Integer, exists, func, select, text
from sqlalchemy.orm import Session

from kb.models import (
    ItemKind,
    ItemStatus,
    KbCategory,
    KbItem,
    KbItemModel,
    KbSearchDoc,
    KbTerm,
)
from kb.synonyms import expand
from kb.text import is_latin, words

MAX_QUERY_WORDS = 32
SNIPPET = 140


@dataclass(frozen=True)
class Query:
    """What was asked, as searched: the words, the corrections made and the synonyms
    added (to tell the user "showing results for ...")."""

    words: tuple[str, ...]
    corrected: dict[str, str]
    added: tuple[str, ...]

    @property
    def all_words(self) -> list[str]:
        seen: dict[str, None] = {}
        for w in (*self.words, *self.corrected.values(), *self.added):
            seen.setdefault(w, None)
        return list(seen)[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class Hit:
    item: KbItem
    score: float
    snippet: str      # safe HTML: escaped text, the words found in <mark>


def _correction(session: Session, word: str) -> str | None:
    """The word entries hold that is nearest to ``word`` (which is in none)."""
    limit = 1 if len(word) <= 5 else 2
    candidates = session.execute(
        select(KbTerm.term, KbTerm.documents)
        .where(KbTerm.term >= word[0], KbTerm.term < word[0] + "\uffff",
               KbTerm.documents > 0,
               func.length(KbTerm.term).between(len(word) - limit, len(word) + limit))
    ).all()
    best = None
    for term, documents in candidates:
        distance = Levenshtein.distance(word, term, score_cutoff=limit)
        if distance <= limit:
            key = (distance, -documents, term)
            if best is None or key < best[0]:
                best = (key, term)
    return best[1] if best else None


def understand(session: Session, question: str) -> Query:
    asked = tuple(dict.fromkeys(words(question)))[:MAX_QUERY_WORDS]
    corrected = {}
    checked = [w for w in asked if is_latin(w) and len(w) >= 3]
    known = set(session.scalars(select(KbTerm.term).where(
        KbTerm.term.in_(checked), KbTerm.documents > 0))) if checked else set()
    for word in checked:
        if word not in known:
            fixed = _correction(session, word)
            if fixed:
                corrected[word] = fixed
    added = tuple(expand(session, question, (*asked, *corrected.values())))
    return Query(asked, corrected, added)


#: A word held by more than this share of the entries tells them apart too little to be
#: searched for (the way a "cutoff frequency" works in Lucene): leaving it out keeps a
#: question from matching most of a large knowledge base, which is what made queries
#: slow at 100,000 entries (bench/kb_search.py). Below MIN_ENTRIES every word counts.
COMMON_SHARE = 0.1
MIN_ENTRIES = 1000
_entries: dict[str, tuple[float, int]] = {}


def _entry_count(session: Session) -> int:
    """How many entries are indexed, read at most once a minute per database."""
    bind = session.get_bind()
    key = str(getattr(bind, "url", None) or bind.engine.url)
    cached = _entries.get(key)
    if cached is None or time.monotonic() - cached[0] > 60:
        cached = (time.monotonic(),
                  session.scalar(select(func.count()).select_from(KbSearchDoc)) or 0)
        _entries[key] = cached
    return cached[1]


def telling_words(session: Session, candidates: list[str]) -> list[tuple[str, int]]:
    """``candidates`` that some entry holds, rarest first, with how many entries hold
    each; without the words most entries hold (the two rarest stay when every word is
    common)."""
    if not candidates:
        return []
    counts = dict(session.execute(select(KbTerm.term, KbTerm.documents)
                                  .where(KbTerm.term.in_(candidates))).all())
    held = sorted(((w, counts[w]) for w in candidates if counts.get(w, 0) > 0),
                  key=lambda wc: wc[1])
    total = _entry_count(session)
    if total < MIN_ENTRIES:
        return held
    kept = [(w, n) for w, n in held if n <= COMMON_SHARE * total]
    return kept or held[:2]


def within_budget(words_: list[tuple[str, int]], budget: int) -> list[str]:
    """The rarest words whose entries add up to at most ``budget`` (at least one word):
    the rare words decide the ranking anyway, and the work of ranking grows with the
    entries matched (bench/kb_search.py)."""
    out, total = [], 0
    for word, n in words_:
        if out and total + n > budget:
            break
        out.append(word)
        total += n
    return out


def _expression(words_: list[str], at_least: int, dialect: str) -> str:
    """A full-text query matching entries that hold any one of ``words_``
    (``at_least`` 1), or two of them (2: any pair among the six rarest)."""
    if dialect == "postgresql":
        quoted = ["'" + w.replace("'", "''") + "'" for w in words_]
        both, either = " & ", " | "
    else:
        quoted = ['"' + w.replace('"', '""') + '"' for w in words_]
        both, either = " AND ", " OR "
    if at_least == 1:
        return either.join(quoted)
    rare = quoted[:PAIR_WORDS]
    return either.join(f"({a}{both}{b})" for a, b in itertools.combinations(rare, 2))


def _match_sqlite(expr: str, pool: int | None):
    """The best ``pool`` matches by BM25 (title 4 : body 1), ranked inside FTS5."""
    return text("SELECT rowid AS item_id, bm25(kb_fts, 4.0, 1.0) AS rank FROM kb_fts "
                "WHERE kb_fts MATCH :expr ORDER BY rank LIMIT :pool") \
        .bindparams(expr=expr, pool=pool or ALL) \
        .columns(item_id=Integer, rank=Float).subquery("m"), True


def _match_postgresql(expr: str, pool: int | None):
    """The best ``pool`` matches by ts_rank (title words weigh A, body words B)."""
    return text("SELECT item_id, ts_rank(tsv, to_tsquery('simple', :expr)) AS rank "
                "FROM kb_search WHERE tsv @@ to_tsquery('simple', :expr) "
                "ORDER BY rank DESC LIMIT :pool") \
        .bindparams(expr=expr, pool=pool or ALL) \
        .columns(item_id=Integer, rank=Float).subquery("m"), False


#: Matches ranked by the full-text engine before the filters are applied: the best
#: POOL_PER_RESULT x (offset + limit); when the filters leave too few of them, the pool
#: grows (x8) until it holds every match. Ranking inside the engine and joining only the
#: pool is what keeps a question that matches tens of thousands of entries fast.
POOL_PER_RESULT = 20
ALL = 2**31 - 1
#: How many of a question's rarest words make the pairs of the first, narrower query.
PAIR_WORDS = 4
#: At most about this many entries are matched by the wider query (any one word).
MATCH_BUDGET = 2500


#: How these queries are planned on PostgreSQL, set for the transaction and put back
#: afterwards. No parallel workers: starting them cost more than the work they share
#: (32 ms against 10 ms for a question matching 2,700 of 100,000 entries). A plan made
#: for each question's own words: the driver prepares a statement it has run five times,
#: and the generic plan PostgreSQL then picks cannot see how many entries the words
#: match (p95 79 ms against 126 ms over the labelled questions at 100,000 entries).
_PLANNING = {"max_parallel_workers_per_gather": "0", "plan_cache_mode": "force_custom_plan"}


@contextmanager
def _planned(session: Session, dialect: str) -> Iterator[None]:
    if dialect != "postgresql":
        yield
        return
    names = list(_PLANNING)
    set_all = ", ".join(f"current_setting(:n{i}), set_config(:n{i}, :v{i}, true)"
                        for i in range(len(names)))
    params = {**{f"n{i}": n for i, n in enumerate(names)},
              **{f"v{i}": _PLANNING[n] for i, n in enumerate(names)}}
    row = session.execute(text(f"SELECT {set_all}"), params).one()
    before = {n: row[2 * i] for i, n in enumerate(names)}
    try:
        yield
    finally:
        put_back = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))
        session.execute(text(f"SELECT {put_back}"),
                        {**{f"n{i}": n for i, n in enumerate(names)},
                         **{f"v{i}": before[n] for i, n in enumerate(names)}})


def search(session: Session, question: str, *, kind: ItemKind | str | None = None,
           model: str | None = None, category_id: int | None = None,
           lang: str | None = None,
           statuses: tuple[ItemStatus, ...] = (ItemStatus.PUBLISHED,),
           limit: int = 10, offset: int = 0) -> tuple[Query, list[Hit]]:
    """The entries that match ``question``, best first, with snippets."""
    q = understand(session, question)
    if not q.all_words:
        return q, []
    dialect = session.get_bind().dialect.name
    match = _match_postgresql if dialect == "postgresql" else _match_sqlite
    searched = telling_words(session, q.all_words)

    def ranked(expr: str) -> list:
        pool: int | None = max(10, offset + limit) * POOL_PER_RESULT
        while True:
            matched, lower_is_better = match(expr, pool)
            stmt = (select(KbItem, matched.c.rank)
                    .join(matched, matched.c.item_id == KbItem.id)
                    .where(KbItem.status.in_(statuses)))
            if kind:
                stmt = stmt.where(KbItem.kind == ItemKind(kind))
            if lang:
                stmt = stmt.where(KbItem.lang == lang)
            if model:
                stmt = stmt.where(exists().where(KbItemModel.item_id == KbItem.id,
                                                 KbItemModel.model == model))
            if category_id:
                path = select(KbCategory.path).where(KbCategory.id == category_id) \
                    .scalar_subquery()
                stmt = stmt.where(KbItem.category_id.in_(
                    select(KbCategory.id).where(KbCategory.path.startswith(path))))
            order = matched.c.rank.asc() if lower_is_better else matched.c.rank.desc()
            rows = session.execute(stmt.order_by(order, KbItem.id).limit(limit)
                                   .offset(offset)).all()
            if len(rows) >= limit or pool is None:
                return rows
            pooled = session.scalar(select(func.count()).select_from(match(expr, pool)[0]))
            if pooled < pool:
                return rows   # the pool held every match: there are no more
            pool = pool * 8 if pool < 100_000 else None

    # Entries holding two of the words first: far fewer than those holding any one, so
    # ranking them is fast; only when they are too few, any one of the rarest words.
    if not searched:
        return q, []
    with _planned(session, dialect):
        rows = ranked(_expression([w for w, _ in searched], 2, dialect)) \
            if len(searched) >= 2 else []
        if len(rows) < limit:
            rows = ranked(_expression(within_budget(searched, MATCH_BUDGET), 1, dialect))
    return q, [Hit(item, abs(float(rank)), snippet(item, q)) for item, rank in rows]


# --- snippets ----------------------------------------------------------------------------

_MARKDOWN = re.compile(r"[#*_`>\[\]()!|-]+")


def plain(item: KbItem) -> str:
    parts = [item.symptom, item.cause, item.solution, item.body]
    return re.sub(r"\s+", " ", _MARKDOWN.sub(" ", " ".join(p for p in parts if p))).strip()


def _spans(body: str, q: Query) -> list[tuple[int, int]]:
    """Where the question's words occur in ``body`` (case-insensitive; an English stem
    matches the word it starts)."""
    low = body.lower()  # not NFKC: the offsets must stay those of ``body``
    spans = []
    for word in q.all_words:
        pattern = re.escape(word) + (r"[a-z]*" if is_latin(word) else "")
        if is_latin(word) or word.isdigit():
            pattern = r"(?<![a-z0-9])" + pattern
        spans.extend(m.span() for m in re.finditer(pattern, low))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text_: str, q: Query, width: int = SNIPPET) -> str:
    """The part of ``text_`` with the most of the question's words, marked."""
    spans = _spans(text_, q)
    if not spans:
        cut = text_[:width]
        return html.escape(cut) + ("…" if len(text_) > width else "")
    best_start, best_count = 0, -1
    for start, _ in spans:
        count = sum(1 for s, _e in spans if start <= s < start + width)
        if count > best_count:
            best_start, best_count = start, count
    begin = max(0, best_start - width // 4)
    end = min(len(text_), begin + width)
    out, pos = [], begin
    for s, e in spans:
        if s < begin or e > end:
            continue
        out.append(html.escape(text_[pos:s]))
        out.append("<mark>" + html.escape(text_[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text_[pos:end]))
    return ("…" if begin > 0 else "") + "".join(out) + ("…" if end < len(text_) else "")


def snippet(item: KbItem, q: Query) -> str:
    return highlight(plain(item), q)


def as_dict(hit: Hit) -> dict[str, Any]:
    item = hit.item
    return {"id": item.id, "external_id": item.external_id, "kind": item.kind.value,
            "lang": item.lang, "title": item.title, "snippet": hit.snippet,
            "score": round(hit.score, 6), "status": item.status.value}
