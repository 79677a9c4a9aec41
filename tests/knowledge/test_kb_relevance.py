"""Search quality on the labelled set (tests/data/kb_relevance.json: 60 questions in a
caller's words, half Chinese, half English) over the generated demo knowledge base, on
both backends: nDCG@5 at least 0.80 and the right entry first for nearly every question.
The figures beside a plain LIKE search, and at 100,000 entries, are bench/kb_search.py's.
"""

from __future__ import annotations

import collections

from sqlalchemy import func, select

from kb.demo import demo_rows, load_demo_kb
from kb.evaluation import evaluate, load_set
from kb.models import ItemKind, KbItem
from kb.search import search


def test_the_demo_is_over_200_bilingual_entries_and_loads_once(session):
    first = load_demo_kb(session)
    assert first.created >= 200 and not first.errors
    kinds = collections.Counter(session.execute(select(KbItem.kind, KbItem.lang)).all())
    assert all(kinds[(kind, lang)] >= 50 for kind in ItemKind for lang in ("zh", "en"))
    again = load_demo_kb(session)
    assert (again.created, again.updated) == (0, 0)
    assert session.scalar(select(func.count()).select_from(KbItem)) == first.created


def test_questions_in_callers_words_find_the_right_entries(session):
    load_demo_kb(session)
    judged = load_set(row["key"] for row in demo_rows())
    assert len(judged) >= 60
    assert sum(j.lang == "zh" for j in judged) == sum(j.lang == "en" for j in judged)
    quality = evaluate(judged, lambda q: [h.item.external_id
                                          for h in search(session, q, limit=10)[1]])
    assert quality.ndcg5 >= 0.80, quality.worst
    assert quality.mrr >= 0.90, quality.worst
    for lang, (_mrr, ndcg5) in quality.by_lang.items():
        assert ndcg5 >= 0.80, (lang, quality.worst)
