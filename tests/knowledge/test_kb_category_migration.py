"""Migration 0012 on a database that parallel adds left with a category twice: the
copies are merged into the oldest (entries and subcategories move, paths rebuilt) before
the level's names become unique. Both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from callcenter.db import make_engine
from callcenter.migrate import alembic_config, upgrade


@pytest.fixture
def database(fresh_database, backend):
    return fresh_database.create(backend)


def test_repeated_categories_are_merged_and_nothing_is_lost(database):
    # The fresh database is at head: back to before the unique index.
    command.downgrade(alembic_config(database), "0011")
    engine = make_engine(database)
    try:
        with engine.begin() as db:
            # Two roots "服务" (what two parallel adds made), each with "空调" below it,
            # one of which has a child of its own; entries filed in the copies.
            for row in ((1, None, "/1/", "服务"), (2, None, "/2/", "服务"),
                        (3, 1, "/1/3/", "空调"), (4, 2, "/2/4/", "空调"),
                        (5, 4, "/2/4/5/", "压缩机"), (6, None, "/6/", "销售")):
                db.execute(text("INSERT INTO kb_categories (id, parent_id, path, name, "
                                "name_en) VALUES (:i, :p, :path, :n, '')"),
                           dict(zip(("i", "p", "path", "n"), row, strict=True)))
            for item_id, category in ((1, 2), (2, 4), (3, 5), (4, 3)):
                db.execute(text(
                    "INSERT INTO kb_items (id, kind, lang, title, body, symptom, cause, "
                    "solution, status, version, category_id, views, helpful, not_helpful, "
                    "created_at, updated_at) "
                    "VALUES (:i, 'article', 'zh', :t, '', '', '', '', 'draft', 1, :c, 0, 0, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"i": item_id, "t": f"条目 {item_id}", "c": category})
        upgrade(database)
        with engine.connect() as db:
            categories = {r.id: (r.parent_id, r.path, r.name) for r in db.execute(
                text("SELECT id, parent_id, path, name FROM kb_categories"))}
            filed = dict(db.execute(text("SELECT id, category_id FROM kb_items")).all())
    finally:
        engine.dispose()
    assert categories == {1: (None, "/1/", "服务"), 3: (1, "/1/3/", "空调"),
                          5: (3, "/1/3/5/", "压缩机"), 6: (None, "/6/", "销售")}
    assert filed == {1: 1, 2: 3, 3: 5, 4: 3}
