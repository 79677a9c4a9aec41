"""Customer names reduced to a comparable key, for duplicate detection and search."""

from __future__ import annotations

import re
import unicodedata

# Legal-form words say nothing about who a customer is: "北京华通汽车有限公司" and
# "北京华通汽车" are the same company; so are "Acme Co., Ltd." and "ACME".
_LEGAL_FORMS_ZH = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "集团")
_LEGAL_FORMS_EN = re.compile(
    r"\b(co|company|corp|corporation|inc|incorporated|ltd|limited|llc|gmbh|plc|group)\b\.?")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _plain(name: str) -> str:
    """NFKC, case-folded, without the legal-form words (word boundaries kept)."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    for form in _LEGAL_FORMS_ZH:
        text = text.replace(form, " ")
    return _LEGAL_FORMS_EN.sub(" ", text)


def name_key(name: str) -> str:
    return _NOT_WORD.sub("", _plain(name))[:200]


def pinyin_key(name: str) -> str:
    """``name_key`` spelled in Latin letters: Chinese characters become toneless pinyin.

    Chinese input methods type by sound, so the commonest misspelling of a Chinese name
    is a homophone (华通 / 华同); and English-speaking staff type names in pinyin
    ("Huatong Qiche" for 华通汽车). Both meet on this key. Latin names are unchanged.
    """
    from pypinyin import lazy_pinyin  # local: its dictionaries take ~0.15 s to load

    key = name_key(name)
    if key.isascii():
        return key[:400]
    return _NOT_WORD.sub("", "".join(lazy_pinyin(key)))[:400]


def has_cjk(text: str) -> bool:
    """True when ``text`` contains CJK ideographs (compare such names by character)."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


# --- search keys: a name found by its start, any word, its pinyin or initials ----------

#: A name is cut into units: Latin words and digits whole, Chinese one character each.
_UNITS = re.compile(r"[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
KEY_LENGTH = 64
MAX_UNITS = 24


def _units(text: str) -> list[str]:
    out: list[str] = []
    for word in _UNITS.findall(text):
        pos = 0
        for run in _CJK_RUN.finditer(word):
            if run.start() > pos:
                out.append(word[pos:run.start()])
            out.extend(run.group())
            pos = run.end()
        if pos < len(word):
            out.append(word[pos:])
    return out[:MAX_UNITS]


def _suffixes(units: list[str]) -> set[str]:
    return {"".join(units[i:])[:KEY_LENGTH] for i in range(len(units))}


def search_keys(name: str) -> set[str]:
    """The keys a name is found by, each matched by its start (``query_key``):

    * every tail of the name from a unit on: "北京华通汽车" is found by 华通 and 汽车,
      "Tom Li" by "tom" and "li";
    * for Chinese, the same in toneless pinyin (full, "zhangsanfeng", and from each
      syllable on, "sanfeng"), and the initials ("zsf"). Characters read as words in
      context (重庆 chongqing); the first character also by each of its readings, as
      surnames read differently (单 shan, 曾 zeng). Two-character surnames need nothing
      more: "ouyang" is the start of "ouyangnana".
    """
    from pypinyin import lazy_pinyin, pinyin  # local: its dictionaries take ~0.15 s to load

    units = _units(_plain(name))
    if not units:
        return set()
    keys = _suffixes(units)
    if not any(_CJK_RUN.fullmatch(u) for u in units):
        return keys
    spelled: list[str] = []
    i = 0
    while i < len(units):
        if _CJK_RUN.fullmatch(units[i]):
            j = i
            while j < len(units) and _CJK_RUN.fullmatch(units[j]):
                j += 1
            readings = lazy_pinyin("".join(units[i:j]))
            spelled.extend(readings if len(readings) == j - i else
                           [lazy_pinyin(u)[0] for u in units[i:j]])
            i = j
        else:
            spelled.append(units[i])
            i += 1
    firsts = {spelled[0]}
    if _CJK_RUN.fullmatch(units[0]):
        firsts.update(r for r in pinyin(units[0], heteronym=True, style=0)[0][:3]
                      if r.isascii() and r.isalpha())
    for first in firsts:
        reading = [first, *spelled[1:]]
        keys |= _suffixes(reading)
        keys.add("".join(r[0] for r in reading if r)[:KEY_LENGTH])
    return {k for k in keys if k and not (k.isascii() and len(k) < 2)}


def query_key(question: str) -> str | None:
    """What a search is matched on against ``search_keys``: the question without spaces,
    punctuation and legal forms ("zhang san feng" -> "zhangsanfeng"); None when too
    short to mean anything (one Latin letter)."""
    key = _NOT_WORD.sub("", _plain(question))[:KEY_LENGTH]
    if not key or (key.isascii() and len(key) < 2):
        return None
    return key
