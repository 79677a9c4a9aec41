"""Likely duplicate customers: same phone, same tax id, same or similar name.

Candidates are found by *blocking* in SQL: self-joins that only pair customers sharing
a phone (``phones.e164``), a tax id, a name key, the pinyin of a name, or the first /
last characters of a name. Only those pairs are scored in Python (rapidfuzz), so the
work grows with the number of candidate pairs, never with customers squared. Both
sides of a pair are live (not merged) and inside the asking user's scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from callcenter.core.errors import Problem, ValidationError
from callcenter.customers.models import Customer, Phone
from callcenter.customers.names import has_cjk
from callcenter.customers.services import visible_to
from callcenter.users.models import User

REASON_PHONE = "phone"                  # a phone number (theirs or a contact's) is shared
REASON_TAX_ID = "tax_id"                # same tax id
REASON_NAME = "name"                    # same name once legal forms and punctuation go
REASON_SIMILAR_NAME = "similar_name"    # a typo, a homophone or a pinyin spelling apart

#: How much each reason alone says; several reasons combine as independent evidence.
REASON_WEIGHTS = {REASON_TAX_ID: 0.9, REASON_PHONE: 0.8, REASON_NAME: 0.7,
                  REASON_SIMILAR_NAME: 0.6}
#: rapidfuzz ratio (0-100) from which two names count as similar.
SIMILARITY_THRESHOLD = 90.0
#: Length of the name-key prefix/suffix that blocks candidate pairs (4 Chinese characters
#: are usually city + brand; 4 Latin letters are weaker, the length filter helps there).
BLOCK_CHARS = 4
#: Pinyin prefix for pairing a Chinese name with a Latin spelling of it.
PINYIN_BLOCK_CHARS = 8
MAX_LIMIT = 1000


@dataclass(frozen=True)
class DuplicateCandidate:
    customer_id: int
    other_id: int
    reasons: tuple[str, ...]
    #: 0-1, higher is likelier; for ordering the review list, not a probability.
    score: float


def name_similarity(key_a: str, pinyin_a: str, key_b: str, pinyin_b: str) -> float:
    """0-100. Chinese names compare by character, Latin ones by letter; a Chinese name
    and a Latin one compare by pinyin; Chinese homophones count as 95."""
    if not key_a or not key_b:
        return 0.0
    if key_a == key_b:
        return 100.0
    cjk_a, cjk_b = has_cjk(key_a), has_cjk(key_b)
    if cjk_a and cjk_b:
        similarity = fuzz.ratio(key_a, key_b)
        if pinyin_a and pinyin_a == pinyin_b:
            similarity = max(similarity, 95.0)
        return similarity
    if cjk_a or cjk_b:
        return fuzz.ratio(pinyin_a, pinyin_b)
    return fuzz.ratio(key_a, key_b)


def _score(reasons: set[str]) -> float:
    remaining = 1.0
    for reason in reasons:
        remaining *= 1.0 - REASON_WEIGHTS[reason]
    return round(1.0 - remaining, 3)


def _close_lengths(a, b):
    """SQL: lengths within the ratio a >= 90 similarity needs (shorter >= 0.8 x longer)."""
    return and_(func.length(a) * 10 >= func.length(b) * 8,
                func.length(b) * 10 >= func.length(a) * 8)


def _blocks(c1, c2):
    """(reason, join) per blocking key; reason None marks name blocks, scored later."""
    p1, p2 = aliased(Phone), aliased(Phone)
    prefix = lambda col: func.substr(col, 1, BLOCK_CHARS)  # noqa: E731
    suffix = lambda col: func.substr(col, func.length(col) - (BLOCK_CHARS - 1),  # noqa: E731
                                     BLOCK_CHARS)
    latin = lambda c: c.name_key == c.name_pinyin  # noqa: E731
    long_key = lambda c: func.length(c.name_key) > BLOCK_CHARS  # noqa: E731
    pinyin_prefix = lambda c: func.substr(c.name_pinyin, 1, PINYIN_BLOCK_CHARS)  # noqa: E731
    return [
        (REASON_PHONE, lambda q: q.join(p1, p1.customer_id == c1.id)
         .join(p2, p2.e164 == p1.e164).join(c2, c2.id == p2.customer_id)),
        (REASON_TAX_ID, lambda q: q.join(c2, c2.tax_id == c1.tax_id)
         .where(c1.tax_id.is_not(None), c1.tax_id != "")),
        (None, lambda q: q.join(c2, c2.name_key == c1.name_key).where(c1.name_key != "")),
        (None, lambda q: q.join(c2, c2.name_pinyin == c1.name_pinyin)
         .where(c1.name_pinyin != "")),
        (None, lambda q: q.join(c2, prefix(c2.name_key) == prefix(c1.name_key))
         .where(long_key(c1), _close_lengths(c1.name_key, c2.name_key))),
        (None, lambda q: q.join(c2, suffix(c2.name_key) == suffix(c1.name_key))
         .where(long_key(c1), long_key(c2), _close_lengths(c1.name_key, c2.name_key))),
        # A Chinese name against a Latin spelling of it: their pinyin prefixes meet.
        (None, lambda q: q.join(c2, pinyin_prefix(c2) == pinyin_prefix(c1))
         .where(or_(and_(latin(c1), ~latin(c2)), and_(~latin(c1), latin(c2))),
                func.length(c1.name_pinyin) >= PINYIN_BLOCK_CHARS,
                _close_lengths(c1.name_pinyin, c2.name_pinyin))),
    ]


def _candidates(session: Session, user: User, anchor_id: int | None,
                limit: int) -> list[DuplicateCandidate]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": Problem("whole_number", {"min": 1, "max": MAX_LIMIT})})
    #: Rows fetched per blocking query: enough to rank, bounded whatever the data.
    cap = max(limit * 10, 500)
    live = select(Customer.id).where(Customer.merged_into_id.is_(None), visible_to(user))
    c1, c2 = aliased(Customer), aliased(Customer)
    pair = c1.id == anchor_id if anchor_id is not None else c1.id < c2.id
    found: dict[tuple[int, int], tuple[set[str], tuple]] = {}
    for reason, block in _blocks(c1, c2):
        stmt = block(select(c1.id, c1.name_key, c1.name_pinyin,
                            c2.id, c2.name_key, c2.name_pinyin).select_from(c1))
        stmt = (stmt.where(pair, c2.id != c1.id, c1.id.in_(live), c2.id.in_(live))
                .distinct().order_by(c1.id, c2.id).limit(cap))
        for a, key_a, pin_a, b, key_b, pin_b in session.execute(stmt):
            reasons, _keys = found.setdefault((a, b), (set(), (key_a, pin_a, key_b, pin_b)))
            if reason:
                reasons.add(reason)
    candidates = []
    for (a, b), (reasons, (key_a, pin_a, key_b, pin_b)) in found.items():
        if key_a and key_a == key_b:
            reasons.add(REASON_NAME)
        elif name_similarity(key_a, pin_a, key_b, pin_b) >= SIMILARITY_THRESHOLD:
            reasons.add(REASON_SIMILAR_NAME)
        if reasons:
            ordered = tuple(r for r in REASON_WEIGHTS if r in reasons)
            candidates.append(DuplicateCandidate(a, b, ordered, _score(reasons)))
    candidates.sort(key=lambda c: (-c.score, c.customer_id, c.other_id))
    return candidates[:limit]


def duplicates_of(session: Session, user: User, customer: Customer,
                  limit: int = 20) -> list[DuplicateCandidate]:
    """Live customers in ``user``'s scope that look like ``customer``, likeliest first."""
    if customer.merged_into_id is not None:
        return []
    return _candidates(session, user, customer.id, limit)


def find_duplicate_pairs(session: Session, user: User,
                         limit: int = 100) -> list[DuplicateCandidate]:
    """Pairs of live customers in ``user``'s scope that look alike (lower id first)."""
    return _candidates(session, user, None, limit)
