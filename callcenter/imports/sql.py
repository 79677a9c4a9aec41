"""The few SQL shapes the importer needs, each in its fastest form per database.

The writers (write.py) are the same for SQLite and PostgreSQL; only these
primitives differ:

- SQLite: a multi-row INSERT through SQLAlchemy's executemany ("insertmanyvalues").
- PostgreSQL: ``INSERT ... SELECT ... FROM json_to_recordset(:rows)``: the whole
  batch is one JSON parameter (``json.dumps`` runs in C) instead of one parameter per
  cell. The statement text stays short and the same for every batch (parsed once,
  prepared by the server); adapting a value per cell was most of the Python time of
  an import before.
- Key look-ups: ``col IN (SELECT unnest(:array))`` on PostgreSQL (a short, reusable
  statement with a plan that stays good as the table grows), ``col IN (...)`` on SQLite.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from callcenter.db import UTCDateTime


def _pg_type(table_column):
    kind = table_column.type
    if isinstance(kind, UTCDateTime):
        return DateTime(timezone=True)
    if isinstance(kind, Boolean):
        return Boolean()
    if isinstance(kind, Integer):
        return Integer()
    if isinstance(kind, Date):
        return Date()
    if isinstance(kind, Text):
        return Text()
    return String()  # String, and Enum kept as varchar (native_enum=False)


def _json_value(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def key_in(dialect: str, column, values) -> ColumnElement[bool]:
    values = list(values)
    if dialect == "postgresql":
        # IN (SELECT unnest(:array)), not = ANY(:array): the planner then picks index
        # probes or a hash join, never a scan comparing each row with every key (which
        # is what = ANY over a parameter gets once statistics are stale).
        keys = bindparam(None, values, type_=postgresql.ARRAY(column.type))
        return column.in_(select(func.unnest(keys, type_=column.type)))
    return column.in_(values)


def bulk_insert(session, dialect: str, table, rows: list[dict], *,
                conflict_set: tuple[str, ...] | None = None) -> dict[str, int]:
    """Insert ``rows`` (all with the same keys) into ``table``.

    With ``conflict_set``: upsert on ``external_id`` (``ON CONFLICT (external_id) DO
    UPDATE SET`` those columns) and return {external_id: id} of every row written.
    """
    if not rows:
        return {}
    names = list(rows[0])
    if dialect == "postgresql":
        payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"),
                             default=_json_value)
        source = func.json_to_recordset(cast(bindparam("rows", payload, type_=Text), JSON)) \
            .table_valued(*(column(name, _pg_type(table.c[name])) for name in names)) \
            .render_derived(with_types=True)
        stmt = postgresql.insert(table).from_select(
            names, select(*(source.c[name] for name in names)))
        params = None
    else:
        stmt = sqlite.insert(table)
        params = rows
    if conflict_set is None:
        session.execute(stmt, params)
        return {}
    set_ = {name: stmt.excluded[name] for name in conflict_set}
    if "version" in table.c:
        # An update by import is a write like any other: forms opened before it are stale.
        set_["version"] = table.c.version + 1
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.external_id], set_=set_,
    ).returning(table.c.id, table.c.external_id)
    return {r.external_id: r.id for r in session.execute(stmt, params)}
