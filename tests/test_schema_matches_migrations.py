"""The migrations build the schema the models declare, on both databases.

A column, index or constraint added to a model without its migration (or to a migration
without the model) fails here, not in production's ``callcenter db upgrade``. The test
databases are built by the migrations (tests/conftest.py: ``upgrade`` to head), and
Alembic's own comparison reads them back.
"""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callcenter.models import metadata

#: Built by migration 0009 by hand, outside the models, on purpose: the knowledge base's
#: full-text index (SQLite FTS5 tables; PostgreSQL's generated tsvector and its GIN
#: index), which kb/index.py and kb/search.py reach with SQL of their own.
FULL_TEXT = {"kb_fts", "kb_fts_data", "kb_fts_idx", "kb_fts_docsize", "kb_fts_config"}


def _by_hand(change) -> bool:
    kind = change[0]
    if kind == "remove_table":
        return change[1].name in FULL_TEXT
    if kind == "remove_column":
        return (change[2], change[3].name) == ("kb_search", "tsv")
    if kind == "remove_index":
        return change[1].name == "ix_kb_search_tsv"
    return False


def _differences(engine) -> list:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect an expression index (uq_kb_categories_level_name), and
        # Alembic says so; PostgreSQL compares it.
        warnings.simplefilter("ignore")
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_the_migrated_database_is_what_the_models_declare(engine):
    differences = [change for change in _differences(engine) if not _by_hand(change)]
    assert differences == []


def test_the_full_text_index_is_there_as_the_migration_built_it(engine):
    """The exceptions above are real tables and columns, not missing ones."""
    found = [change for change in _differences(engine) if _by_hand(change)]
    assert found, "the knowledge base's full-text index is missing"
