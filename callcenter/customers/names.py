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


def name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").casefold()
    for form in _LEGAL_FORMS_ZH:
        text = text.replace(form, " ")
    text = _LEGAL_FORMS_EN.sub(" ", text)
    return _NOT_WORD.sub("", text)[:200]


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
