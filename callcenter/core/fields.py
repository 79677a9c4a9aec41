"""Checks of one untrusted value (JSON body, form, CSV cell, query parameter).

Each ``clean_*`` helper reads one field from a dict and either returns the cleaned
value or records a ``Problem`` under the field's name in ``errors``, so that a caller
reports every bad field at once. ``clean_printable`` is the other kind: it never
rejects, it makes whatever a machine reported (PBX caller ids, queue names) safe text.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from callcenter.core.errors import Problem

#: Largest id a row can have (32-bit integer primary keys); a bigger one cannot exist.
MAX_ID = 2**31 - 1
#: Marks "field not given" (as opposed to given as None/blank).
MISSING: Any = object()
#: Unicode categories removed from machine-reported text: controls, format characters
#: (bidi overrides, zero-width joiners), lone surrogates, private use.
_STRIP_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}


def has_control_chars(value: str, *, allow_newlines: bool = False) -> bool:
    """Whether ``value`` holds C0 controls or DEL (newlines and tabs allowed on request)."""
    allowed = "\n\r\t" if allow_newlines else ""
    return any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in value)


def text_problem(value: Any, limit: int, *, required: bool = False,
                 multiline: bool = False) -> tuple[str | None, Problem | None]:
    """``value`` stripped, or the problem with it (not text, blank when required, too
    long, control characters). None stays None (a caller decides what absent means)."""
    if value is None:
        return None, Problem("required") if required else None
    if not isinstance(value, str):
        return None, Problem("not_text")
    value = value.strip()
    if required and not value:
        return None, Problem("required")
    if len(value) > limit:
        return None, Problem("too_long", {"max": limit})
    if has_control_chars(value, allow_newlines=multiline):
        return None, Problem("control_chars")
    return value, None


def clean_text(data: dict[str, Any], field: str, limit: int, errors: dict[str, Problem], *,
               required: bool = False, multiline: bool = False) -> Any:
    """Stripped text of at most ``limit`` characters; MISSING when absent and optional."""
    if (field not in data or data[field] is None) and not required:
        return MISSING
    value, problem = text_problem(data.get(field), limit, required=required,
                                  multiline=multiline)
    if problem is not None:
        errors[field] = problem
    return value


def clean_date(data: dict[str, Any], field: str, errors: dict[str, Problem]) -> Any:
    """A date from a date or an ISO ``YYYY-MM-DD`` string; None for blank; MISSING if absent."""
    if field not in data:
        return MISSING
    value = data[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        errors[field] = Problem("not_date_only")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) <= 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[field] = Problem("not_date")
    return None


def choice_problem(choices: type[enum.Enum] | tuple[str, ...] | list[str]) -> Problem:
    values = [str(m.value) for m in choices] if isinstance(choices, type) else list(choices)
    return Problem("choice", {"choices": ", ".join(values)})


def clean_choice(data: dict[str, Any], field: str, choices: type[enum.Enum],
                 errors: dict[str, Problem]) -> Any:
    """A member of the enum ``choices`` by value; MISSING when absent or None."""
    if data.get(field) is None:
        return MISSING
    try:
        return choices(data[field])
    except (ValueError, TypeError):
        errors[field] = choice_problem(choices)
        return None


def as_id(value: Any) -> int | None:
    """An integer id from an int or digit string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal() \
            and len(value.strip()) <= 10:
        number = int(value.strip())
        return number if 0 < number <= MAX_ID else None
    return None


def clean_printable(value: Any, limit: int) -> str:
    """Printable text of at most ``limit`` characters from anything a machine reports.

    Control and format characters go, runs of white space become one space; bytes are
    read as UTF-8 (bad bytes replaced). Never raises.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    out = []
    for ch in value[: limit * 4]:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _STRIP_CATEGORIES:
            out.append(ch)
    return " ".join("".join(out).split())[:limit]


#: A plain e-mail address: no spaces, quotes, brackets or control characters that could
#: smuggle a header or a second recipient into a mail (tickets.mail sends to these).
EMAIL_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL = 254


def is_email_address(value: str | None) -> bool:
    return bool(value) and len(value) <= MAX_EMAIL and EMAIL_ADDRESS.match(value) is not None
