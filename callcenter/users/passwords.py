"""The password rule, one for every place a password is chosen: the admin pages (new
user, new password), ``callcenter users create``, the user's own password page and the
demo data.

A password has at least MIN_PASSWORD_LENGTH characters (at most PASSWORD_MAX_LENGTH),
is not one of the common passwords shipped in ``common_passwords.txt`` (compared
ignoring case; ``scripts/make_common_passwords.py`` says where the list comes from), and
is not the username nor contains it (ignoring case; for usernames of three characters
or more, so that user "li" may still use a password with "li" in it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from callcenter.core.errors import Problem

MIN_PASSWORD_LENGTH = 10
PASSWORD_MAX_LENGTH = 200
#: Usernames at least this long may not appear anywhere in the password.
_CONTAINED_NAME_MIN = 3
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (read once)."""
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str | None = None) -> Problem | None:
    """What is wrong with ``password`` for the user ``username`` (a catalogue code and
    its values), or None when it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return Problem("password.too_short", {"n": MIN_PASSWORD_LENGTH})
    if len(password) > PASSWORD_MAX_LENGTH:
        return Problem("too_long", {"max": PASSWORD_MAX_LENGTH})
    folded = password.casefold()
    name = (username or "").strip().casefold()
    if name and (folded == name or (len(name) >= _CONTAINED_NAME_MIN and name in folded)):
        return Problem("password.contains_username", {})
    if folded.lower() in common_passwords() or folded.strip() in common_passwords():
        return Problem("password.common", {})
    return None
