"""JSON text from a client, parsed strictly: one parser for every API body.

``json.loads`` as it comes takes ``NaN`` and ``Infinity`` (no JSON), reads ``1e400`` as
infinity, and lets the last of two equal keys win, so that ``{"id": 1, "id": 2}`` is
checked as one value by us and read as another by a proxy or a log reader in front.
``parse_json`` refuses all three.
"""

from __future__ import annotations

import json
from typing import Any


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON but no usable number (it reads as infinity).
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is too large a number")
    return number


class DuplicateKey(ValueError):
    """A JSON object names the same key twice (which one wins differs between parsers)."""

    def __init__(self, key: str):
        super().__init__(f"duplicate key {key[:80]!r}")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing duplicate keys: ``{"a": 1, "a": 2}`` is an error,
    not ``{"a": 2}``, so the value checked is the one every other reader sees too."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


def parse_json(raw: bytes | str) -> Any:
    """JSON text as Python values: no NaN/Infinity, no number too large for a float, no
    duplicate keys (DuplicateKey). ValueError or RecursionError when unparsable."""
    return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float,
                      object_pairs_hook=unique_keys)
