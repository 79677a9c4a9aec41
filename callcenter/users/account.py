"""A user's own account: changing one's password.

No function commits; the caller's unit of work does.
"""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from callcenter.users.admin import FieldProblem, UserFieldError
from callcenter.users.models import User
from callcenter.users.passwords import password_problem
from callcenter.users.services import set_password, verify_password


def change_own_password(session: Session, user: User, current: str, new: str,
                        confirm: str) -> None:
    """Give ``user`` the password ``new`` if ``current`` is theirs, ``confirm`` repeats
    ``new`` and ``new`` keeps the password rule; every session of the user ends
    (``set_password``: the caller keeps its own with ``callcenter.auth.keep_session``).
    Raises UserFieldError naming every problem (fields ``current_password``,
    ``new_password``, ``confirm_password``); nothing is changed then."""
    problems: list[FieldProblem] = []
    try:
        verify_password(user, current)
    except (VerificationError, InvalidHashError):
        problems.append(FieldProblem("current_password", "password.wrong_current"))
    problem = password_problem(new, user.username)
    if problem is not None:
        problems.append(FieldProblem("new_password", problem.code, **problem.params))
    elif new == current:
        problems.append(FieldProblem("new_password", "password.unchanged"))
    if confirm != new:
        problems.append(FieldProblem("confirm_password", "password.mismatch"))
    if problems:
        raise UserFieldError(problems)
    set_password(session, user, new)
