"""Access scopes as SQL: one mechanism that every listing and lookup goes through.

A user's scope becomes a WHERE clause, so rows outside it are never loaded.
Scopes widen cumulatively: own ⊂ related ⊂ department ⊂ all.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, false, or_, select, true

from callcenter.users.models import Department, Scope, User


def department_subtree_ids(department_id: int):
    """A subquery of the ids of a department and all its sub-departments."""
    path = select(Department.path).where(Department.id == department_id).scalar_subquery()
    return select(Department.id).where(Department.path.startswith(path, autoescape=False))


def scope_clause(
    user: User,
    *,
    responsible_col,
    department_col,
    related_to: Callable[[int], ColumnElement[bool]] | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows ``user`` may see.

    ``responsible_col`` / ``department_col`` are the owning columns of the scoped
    table; ``related_to(user_id)`` builds the "user is a related employee" test.
    """
    if not user.is_active:
        return false()
    scope = user.scope
    if scope == Scope.ALL:
        return true()
    clauses = [responsible_col == user.id]
    if scope in (Scope.RELATED, Scope.DEPARTMENT) and related_to is not None:
        clauses.append(related_to(user.id))
    if scope == Scope.DEPARTMENT and user.department_id is not None:
        clauses.append(department_col.in_(department_subtree_ids(user.department_id)))
    return or_(*clauses)
