"""A ticket's or a repair order's history in words, as its page and its API show it.

Both histories keep a row per change (``tickets.history``, ``repairs.history``): values as
text (ids as digits, a set of ids as ``"3,9"``), a person's ``note`` in their own words,
and what the system says about a change (a settlement's figures, a merge, an
escalation) as ``system_note``: ``[code, params]``, worded here through the message
catalogue (``callcenter.core.messages``) in the reader's language, as the import keeps
its errors. Ids, in values and in a note's parameters, are named through the one
resolver of history ids (``callcenter.customers.history.names_of``: one query per kind
of record; a customer outside the reader's scope by its number); amounts as the pages
show money (``#,##0.00``).

Rows written before system notes were codes hold the text the code wrote then
(``payable_by_customer 0.00; bill_to 4; payer 4``); migration 0015 turned them into codes,
and ``legacy_note`` reads any that a process still running the old code wrote since.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from callcenter.core.lists import join_list
from callcenter.core.messages import render
from callcenter.customers.history import HistoryNames, names_of
from callcenter.customers.history_words import ref_words
from callcenter.users.models import User
from tickets.history import (
    CUSTOMERS_MERGED,
    ESCALATION,
    RAISED_FROM_TICKET,
    SETTLEMENT_FROZEN,
    WARRANTY_RULE,
)

#: The product's money display (as the repair order's settlement card shows amounts).
MONEY_FORMAT = "#,##0.00"
#: What a system note's parameters are, by name: ids of a kind the resolver names, an
#: amount of money, an SLA target. Any other parameter is shown as it is.
NOTE_PARAMS: dict[str, str] = {"bill_to_id": "customer", "payer_id": "customer",
                               "payable_by_customer": "money", "target": "sla_target"}
Kept = tuple[str, dict[str, Any]]


class HistoryRow(Protocol):
    """What a ticket's and a repair order's history rows have in common."""

    id: int
    user_id: int | None
    field: str
    old_value: str | None
    new_value: str | None
    note: str
    system_note: Any


def kept_note(value: Any) -> Kept | None:
    """A stored ``system_note`` as ``(code, params)``; None when there is none."""
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], str) \
            and isinstance(value[1], dict):
        return value[0], value[1]
    return None


_SETTLEMENT_TEXT = re.compile(r"payable_by_customer (\S+); bill_to (\d+); payer (\d+)")
_ESCALATION_TEXT = re.compile(r"escalation: (warn|lead|up) at (\d+)% of the "
                              r"(first_response|resolution) target")
_TICKET_TEXT = re.compile(r"ticket (\d+)")
_OUTCOMES = ("covered", "expired", "no_warranty", "no_end_date")


def legacy_note(field: str, old_value: str | None, note: str | None) -> Kept | None:
    """The system note an older version wrote as text in ``note``, as a code; None for a
    person's note (the same rules as migration 0015)."""
    text = (note or "").strip()
    if text == "customers merged":
        return CUSTOMERS_MERGED, {}
    if found := _SETTLEMENT_TEXT.fullmatch(text):
        return SETTLEMENT_FROZEN, {"payable_by_customer": found[1],
                                   "bill_to_id": int(found[2]), "payer_id": int(found[3])}
    if found := _ESCALATION_TEXT.fullmatch(text):
        return ESCALATION.format(action=found[1]), {"p": int(found[2]), "target": found[3]}
    if field == "created" and (found := _TICKET_TEXT.fullmatch(text)):
        return RAISED_FROM_TICKET, {"ticket_id": int(found[1])}
    if field == "in_warranty" and old_value is None and text in _OUTCOMES:
        return WARRANTY_RULE.format(outcome=text), {}
    return None


def row_note(row: HistoryRow) -> Kept | None:
    return kept_note(row.system_note) or legacy_note(row.field, row.old_value, row.note)


def stored_ids(value: str | None) -> list[int] | None:
    """The ids a stored value holds (``"9"``, ``"3,9"``; ``""``: none); None when it is
    no list of ids."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")] if value.strip() else []
    if all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        return [int(p) for p in parts]
    return None


def money_words(value: Any) -> str:
    """An amount as the pages show money; text that is no amount as it is."""
    try:
        return format_decimal(Decimal(str(value)), format=MONEY_FORMAT)
    except (InvalidOperation, ValueError):
        return str(value)


class HistoryWords:
    """The names a history's rows need, fetched at once (one query per kind of record),
    and the words of their ids and notes. ``id_fields``: which fields hold ids of what
    kind (user, department, customer, contact, product)."""

    def __init__(self, session: Session, reader: User, rows: Iterable[HistoryRow],
                 id_fields: Mapping[str, str]) -> None:
        self.id_fields = id_fields
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in rows:
            if row.user_id is not None:
                wanted["user"].add(row.user_id)
            kind = id_fields.get(row.field)
            if kind is not None:
                for value in (row.old_value, row.new_value):
                    wanted[kind].update(stored_ids(value) or ())
            kept = row_note(row)
            for key, value in (kept[1].items() if kept else ()):
                kind = NOTE_PARAMS.get(key)
                if kind not in (None, "money", "sla_target") and type(value) is int:
                    wanted[kind].add(value)
        self.names: HistoryNames = names_of(session, reader, wanted)

    def who(self, row: HistoryRow) -> str:
        """Who made the change: a person's name, or "system"."""
        if row.user_id is None:
            return _("system")
        return ref_words(self.names.ref("user", row.user_id))

    def ids(self, field: str, value: str | None) -> str | None:
        """A value of an id field in words (names joined as the language writes lists;
        None for none, and for a field that holds no ids: the caller words those)."""
        kind = self.id_fields.get(field)
        ids = stored_ids(value) if kind is not None else None
        if not ids:
            return None
        return join_list(ref_words(ref) for ref in self.names.refs(kind, ids))

    def note(self, row: HistoryRow) -> str | None:
        """The person's own note (None: none; an older version's system text is none)."""
        if kept_note(row.system_note) is None and row_note(row) is not None:
            return None
        return row.note or None

    def system_note(self, row: HistoryRow) -> str | None:
        """What the system noted, in the reader's language (None: nothing)."""
        kept = row_note(row)
        if kept is None:
            return None
        code, params = kept
        return render(code, {key: self._param(key, value) for key, value in params.items()})

    def _param(self, key: str, value: Any) -> Any:
        kind = NOTE_PARAMS.get(key)
        if kind == "money":
            return money_words(value)
        if kind == "sla_target":
            return (_("the first response target") if value == "first_response"
                    else _("the resolution target"))
        if kind is not None and type(value) is int:
            return ref_words(self.names.ref(kind, value))
        return value
