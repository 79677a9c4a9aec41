"""Measuring search quality on a labelled set of questions (tests/data/kb_relevance.json):
mean reciprocal rank (MRR) and nDCG@5, for any search function that answers a list of
entry keys best first. ``bench/kb_search.py`` reports them beside a plain LIKE search;
``tests/knowledge/test_kb_relevance.py`` holds our search to the target."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

RELEVANCE_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "kb_relevance.json"


@dataclass(frozen=True)
class Judged:
    q: str
    lang: str
    relevant: frozenset[str]


def load_set(keys: Iterable[str], path: Path = RELEVANCE_SET) -> list[Judged]:
    """The questions with the keys (among ``keys``) that should come first: every entry
    of the fault (D-<fault>-..., G-<fault>-...) or the topic (T-<topic>...) in the
    question's language."""
    keys = list(keys)
    out = []
    for row in json.loads(path.read_text(encoding="utf-8"))["queries"]:
        if "fault" in row:
            prefixes = (f"D-{row['fault']}-", f"G-{row['fault']}-")
        else:
            prefixes = (f"T-{row['topic']}-", f"T-{row['topic']}")
        relevant = frozenset(k for k in keys if k.startswith(prefixes)
                             and k.endswith(f"-{row['lang']}"))
        if not relevant:
            raise ValueError(f"nothing relevant for {row['q']!r}")
        out.append(Judged(row["q"], row["lang"], relevant))
    return out


def reciprocal_rank(ranked: list[str], relevant: frozenset[str]) -> float:
    for i, key in enumerate(ranked, start=1):
        if key in relevant:
            return 1.0 / i
    return 0.0


def ndcg(ranked: list[str], relevant: frozenset[str], k: int = 5) -> float:
    dcg = sum(1.0 / math.log2(i + 1) for i, key in enumerate(ranked[:k], start=1)
              if key in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal if ideal else 0.0


@dataclass(frozen=True)
class Quality:
    mrr: float
    ndcg5: float
    by_lang: dict[str, tuple[float, float]]
    worst: list[tuple[str, float]]


def evaluate(judged: list[Judged], run: Callable[[str], list[str]]) -> Quality:
    scores: dict[str, list[tuple[float, float]]] = {}
    each = []
    for j in judged:
        ranked = run(j.q)
        rr, nd = reciprocal_rank(ranked, j.relevant), ndcg(ranked, j.relevant)
        scores.setdefault(j.lang, []).append((rr, nd))
        each.append((j.q, nd))
    everything = [s for lang in scores.values() for s in lang]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    return Quality(
        mrr=mean([rr for rr, _ in everything]), ndcg5=mean([nd for _, nd in everything]),
        by_lang={lang: (mean([rr for rr, _ in s]), mean([nd for _, nd in s]))
                 for lang, s in scores.items()},
        worst=sorted(each, key=lambda x: x[1])[:5])
