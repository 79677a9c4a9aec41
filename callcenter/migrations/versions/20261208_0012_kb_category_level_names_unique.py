"""a knowledge-base category's name is unique on its level, top level included (the
old constraint let NULL parents repeat a name); categories that parallel adds made twice
are merged first: their entries and subcategories move to the oldest, nothing is lost

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _merge_into(bind, keep: int, other: int) -> None:
    """Category ``other`` folded into ``keep``: its entries move, each subcategory moves
    or, when ``keep`` has one of that name, is folded into it the same way."""
    bind.execute(sa.text("UPDATE kb_items SET category_id = :keep WHERE category_id = :other"),
                 {"keep": keep, "other": other})
    children = bind.execute(sa.text("SELECT id, name FROM kb_categories "
                                    "WHERE parent_id = :other"), {"other": other}).all()
    for child, name in children:
        twin = bind.execute(sa.text("SELECT id FROM kb_categories WHERE parent_id = :keep "
                                    "AND name = :name"),
                            {"keep": keep, "name": name}).scalar()
        if twin is None:
            bind.execute(sa.text("UPDATE kb_categories SET parent_id = :keep WHERE id = :child"),
                         {"keep": keep, "child": child})
        else:
            _merge_into(bind, twin, child)
    bind.execute(sa.text("DELETE FROM kb_categories WHERE id = :other"), {"other": other})


def _merge_repeated_names(bind) -> None:
    """Each set of same-level, same-name categories merged into its oldest. Only the top
    level can hold such sets: below it (parent_id, name) was unique already."""
    rows = bind.execute(sa.text(
        "SELECT coalesce(parent_id, 0) AS level, name, min(id) AS keep "
        "FROM kb_categories GROUP BY coalesce(parent_id, 0), name "
        "HAVING count(*) > 1")).all()
    for level, name, keep in rows:
        others = [r[0] for r in bind.execute(sa.text(
            "SELECT id FROM kb_categories WHERE coalesce(parent_id, 0) = :level "
            "AND name = :name AND id <> :keep ORDER BY id"),
            {"level": level, "name": name, "keep": keep})]
        for other in others:
            _merge_into(bind, keep, other)


def _rebuild_paths(bind) -> None:
    """Every category's "/1/4/9/" path again from its parents (merges moved subtrees)."""
    rows = bind.execute(sa.text("SELECT id, parent_id FROM kb_categories")).all()
    parents = dict(rows)
    paths: dict[int, str] = {}

    def path(category_id: int) -> str:
        if category_id not in paths:
            parent = parents.get(category_id)
            paths[category_id] = (path(parent) if parent else "/") + f"{category_id}/"
        return paths[category_id]

    for category_id, _parent in rows:
        bind.execute(sa.text("UPDATE kb_categories SET path = :path WHERE id = :id"),
                     {"path": path(category_id), "id": category_id})


def upgrade() -> None:
    bind = op.get_bind()
    _merge_repeated_names(bind)
    _rebuild_paths(bind)
    op.create_index('uq_kb_categories_level_name', 'kb_categories',
                    [sa.text('coalesce(parent_id, 0)'), 'name'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_kb_categories_level_name', table_name='kb_categories')
