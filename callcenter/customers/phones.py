"""Phone numbers: everything typed or reported by the PBX becomes E.164 here.

``13812345678``, ``+86 138 1234 5678``, ``008613812345678``, ``013812345678`` all
become ``+8613812345678``; ``(010)62345678 ext. 12`` becomes ``+861062345678``
with extension ``12``. The parsing rules are libphonenumber's, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers

from callcenter.core.display import phone_text
from callcenter.core.errors import Problem

#: Longest input we even try to parse; anything longer is not a phone number.
MAX_PHONE_INPUT = 64


class InvalidPhone(ValueError):
    """Not a usable phone number; ``problem`` says why (a catalogue code and its values)."""

    def __init__(self, code: str, **params: Any):
        self.problem = Problem(code, params)
        super().__init__(str(self.problem))


@dataclass(frozen=True)
class NormalisedPhone:
    e164: str
    extension: str = ""


def normalise_phone(raw: str, region: str) -> NormalisedPhone:
    """Parse ``raw`` as dialled in ``region`` (the configured ``Locality.region``); raise
    InvalidPhone for anything unusable."""
    if raw is None:
        raise InvalidPhone("phone.missing")
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("phone.missing")
    if len(text) > MAX_PHONE_INPUT:
        raise InvalidPhone("phone.too_long", length=len(text))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("phone.invalid", value=text) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone.invalid", value=text)
    return NormalisedPhone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        extension=(number.extension or "")[:10],
    )


def try_normalise_phone(raw: str | None, region: str) -> NormalisedPhone | None:
    """Like normalise_phone, but None for anything unusable (caller IDs such as 'anonymous')."""
    try:
        return normalise_phone(raw, region)
    except InvalidPhone:
        return None


def display_phone(e164: str, region: str) -> str:
    """As shown to people (``callcenter.core.display``): national for numbers of
    ``region``'s country ('138 1234 5678'), international for others."""
    return phone_text(e164, region)
