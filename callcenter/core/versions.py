"""Optimistic locking: a ``version`` column on records that people edit, and the
compare-and-swap every write to such a record goes through.

A client reads a record with its ``version`` and sends that version back with its
change. ``claim`` bumps the version in one conditional UPDATE (``... WHERE id = :id
AND version = :v``): on PostgreSQL a second writer waits for the first's row lock and
then finds the version changed; on SQLite writers are serialised and the second finds it
changed. Either way exactly one of two writers holding the same version wins and the
other gets ``StaleVersion`` (409), never a lost update. Tickets (``tickets.services``)
were first; customers, contacts and installed products follow the same rule.

Writes that no client version guards (a PATCH without ``version``, a merge, the CSV
import) still bump the version, so a form opened before them is stale afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from callcenter.core.errors import StaleVersion


def check_version(record: Any, version: int | None, code: str) -> None:
    """StaleVersion(code) at once when the client's ``version`` is not the one loaded
    (None: the client sent none, nothing to check)."""
    if version is not None and version != record.version:
        raise StaleVersion(code, current_version=record.version)


def claim(session: Session, record: Any, version: int | None, code: str) -> int:
    """Bump ``record``'s version from ``version`` (the one the client read), or raise
    StaleVersion(code) carrying the current one. ``version`` None: bump whatever it is
    (last writer wins, for a client that sent no version). Returns the new version."""
    model = type(record)
    if version is None:
        session.execute(update(model).where(model.id == record.id)
                        .values(version=model.version + 1)
                        .execution_options(synchronize_session=False))
        new = session.scalar(select(model.version).where(model.id == record.id))
    else:
        result = session.execute(
            update(model).where(model.id == record.id, model.version == version)
            .values(version=version + 1).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            current = session.scalar(select(model.version).where(model.id == record.id))
            raise StaleVersion(code, current_version=current if current is not None
                               else record.version)
        new = version + 1
    set_committed_value(record, "version", new)
    if "updated_at" in model.__table__.c:
        session.expire(record, ["updated_at"])  # the UPDATE's onupdate set it
    return new


def bumped(model: Any) -> dict[str, Any]:
    """``.values(**bumped(Model))`` for a bulk UPDATE that changes rows of ``model``."""
    return {"version": model.version + 1}
