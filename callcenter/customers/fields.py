"""Field-level input checks shared by the product and address rules.

Each helper reads one field from an untrusted dict (JSON body, form, CSV row), and
either returns the cleaned value or adds a message to ``errors`` under the field's
name, so a caller can report every bad field at once.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

#: Largest id a row can have (32-bit integer primary keys).
MAX_ID = 2**31 - 1
#: Marks "field not given" (as opposed to given as None/blank).
MISSING: Any = object()


def clean_text(data: dict[str, Any], field: str, limit: int, errors: dict[str, str], *,
               required: bool = False) -> Any:
    """Stripped text of at most ``limit`` characters; MISSING when absent and optional."""
    if field not in data or data[field] is None:
        if required:
            errors[field] = "required"
        return MISSING if not required else None
    value = data[field]
    if not isinstance(value, str):
        errors[field] = "must be text"
        return None
    value = value.strip()
    if required and not value:
        errors[field] = "required"
    elif len(value) > limit:
        errors[field] = f"at most {limit} characters"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        errors[field] = "contains control characters"
    else:
        return value
    return None


def clean_date(data: dict[str, Any], field: str, errors: dict[str, str]) -> Any:
    """A date from a date or an ISO ``YYYY-MM-DD`` string; None for blank; MISSING if absent."""
    if field not in data:
        return MISSING
    value = data[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        errors[field] = "must be a date (YYYY-MM-DD), not a date and time"
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) <= 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[field] = "must be a date (YYYY-MM-DD)"
    return None


def clean_choice(data: dict[str, Any], field: str, choices: type[enum.Enum],
                 errors: dict[str, str]) -> Any:
    """A member of the enum ``choices`` by value; MISSING when absent or None."""
    if data.get(field) is None:
        return MISSING
    try:
        return choices(data[field])
    except (ValueError, TypeError):
        errors[field] = "must be one of " + ", ".join(str(m.value) for m in choices)
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
