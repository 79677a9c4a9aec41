"""Cutting text into the words search matches on, the same way for what is stored and for
what is asked.

Chinese has no spaces, so a run of Chinese characters is segmented: by jieba's search
mode (words and the shorter words inside them: 压缩机 → 压缩, 压缩机), or, to compare,
into overlapping character pairs (bigrams). Which one search uses is a measured choice
(``bench/kb_search.py``; the figures and the reason are in docs/knowledge-base.md).
Latin words are lower-cased and reduced to their stem (Snowball's English stemmer:
"cooling" and "cools" → "cool"); digits stay as they are, so model numbers match.
Words that carry no meaning in a question ("the", "is", "的", "了") are dropped.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable

import snowballstemmer

#: The Chinese segmentation search uses (``bench/kb_search.py`` measures both).
SEGMENTATION = "jieba"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
#: Words too common to tell entries apart.
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it my "
    "of on or our the this to was what when where which why will with you your".split()
) | frozenset("的 了 吗 呢 吧 啊 呀 是 在 我 我们 你 您 他 她 它 这 那 这个 那个 和 与 及 "
              "就 都 也 还 请 一下 怎么 怎么办 什么 为什么 如何 一个 有点 有些 一直".split())

_stemmer_local = threading.local()
_jieba_lock = threading.Lock()
_jieba = None


@functools.lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    stemmer = getattr(_stemmer_local, "stemmer", None)
    if stemmer is None:  # Snowball stemmers keep state: one per thread
        stemmer = _stemmer_local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def _segmenter():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()  # loads the dictionary once (about a second)
                _jieba = jieba
    return _jieba


def bigrams(run: str) -> list[str]:
    """汽车空调 → 汽车, 车空, 空调 (a single character stays itself)."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def chinese_words(run: str, segmentation: str | None = None) -> list[str]:
    if (segmentation or SEGMENTATION) == "bigram":
        return bigrams(run)
    return [w for w in _segmenter().cut_for_search(run) if w.strip()]


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII, lower case (NFKC)."""
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str, segmentation: str | None = None) -> list[str]:
    """The words of ``text`` as search matches them, in order, repeats kept."""
    out: list[str] = []
    for run in _RUNS.findall(normalise(text or "")):
        if _IS_CJK.match(run):
            out.extend(w for w in chinese_words(run, segmentation) if w not in STOPWORDS)
        elif run not in STOPWORDS:
            out.append(_stem(run) if not run.isdigit() else run)
    return out


def joined(parts: Iterable[str], segmentation: str | None = None) -> str:
    """The words of several texts, space-separated: what the full-text index stores."""
    return " ".join(w for part in parts for w in words(part, segmentation))


def is_latin(word: str) -> bool:
    return word.isascii() and word.isalpha()
