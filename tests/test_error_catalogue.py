"""Every error code the services raise has its text in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import callcenter
from callcenter.core.errors import AppError, Problem, ValidationError
from callcenter.core.messages import MESSAGES, describe, error_message

PACKAGE = Path(callcenter.__file__).parent
PO = PACKAGE / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
#: Where a code is written in the source: Problem("code", ...), InvalidPhone("code"),
#: PermissionDenied.because("code") and Conflict("code").
_CODE_IN_SOURCE = re.compile(
    r"""(?:(?<!\w)Problem\(|InvalidPhone\(|\.because\(|Conflict\()\s*["']([a-z_.]+)["']""")
#: ... and FieldProblem(field, "code", ...), RowInvalid.of(column, "code", ...).
_FIELD_CODE_IN_SOURCE = re.compile(
    r"""(?:FieldProblem|RowInvalid\.of)\((?:[^,()]|\([^()]*\))*,\s*["']([a-z_.]+)["']""")
_PARAM = re.compile(r"%\((\w+)\)s")


def _catalogue():
    with PO.open("rb") as fh:
        return read_po(fh)


def test_every_code_has_english_and_chinese_text_with_the_same_placeholders():
    catalogue = _catalogue()
    missing = []
    for code, english in MESSAGES.items():
        assert english.strip(), code
        entry = catalogue.get(english)
        if entry is None or not entry.string or "fuzzy" in entry.flags:
            missing.append(code)
            continue
        assert set(_PARAM.findall(entry.string)) == set(_PARAM.findall(english)), code
        # Natural Chinese ends with Chinese punctuation, not an ASCII full stop.
        assert not entry.string.rstrip().endswith("."), (code, entry.string)
    assert missing == [], f"codes without a zh_CN text in {PO.name}: {missing}"


def test_every_code_raised_in_the_source_is_in_the_catalogue():
    used = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used.update(_CODE_IN_SOURCE.findall(text), _FIELD_CODE_IN_SOURCE.findall(text))
    assert len(used) > 20, f"the pattern found too few codes: {used}"
    assert {"interface.taken", "user.self_demotion", "import.formula"} <= used
    assert sorted(used - set(MESSAGES)) == []


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_class_has_its_code_in_the_catalogue(app):
    # The app imports every domain, so every error class is defined by now.
    codes = {cls.code for cls in _subclasses(AppError)}
    assert {"not_found", "permission_denied", "invalid", "conflict"} <= codes
    assert sorted(codes - set(MESSAGES)) == []


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "At most 200 characters."),
    ("zh_CN", "最多 200 个字符。"),
])
def test_a_problem_is_worded_in_the_request_language(app, locale, expected):
    headers = {"Accept-Language": "zh-CN,zh;q=0.9" if locale == "zh_CN" else "en"}
    with app.test_request_context("/", headers=headers):
        assert describe(Problem("too_long", {"max": 200})) == expected


def test_a_validation_error_names_its_fields(app):
    exc = ValidationError({"name": Problem("required"), "email": Problem("email")})
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert error_message(exc) == "Some fields are not valid: name, email"
