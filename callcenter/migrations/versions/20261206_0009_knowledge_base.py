"""knowledge base and defect library, with each database's own full-text index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

STATUS = sa.Enum('draft', 'published', 'archived', name='kb_item_status', native_enum=False,
                 length=20)


def upgrade() -> None:
    op.create_table('kb_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['kb_categories.id'], name=op.f('fk_kb_categories_parent_id_kb_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_categories')),
    sa.UniqueConstraint('parent_id', 'name', name=op.f('uq_kb_categories_parent_id'))
    )
    op.create_index(op.f('ix_kb_categories_path'), 'kb_categories', ['path'], unique=False)
    op.create_table('kb_defect_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('defect_class', sa.Enum('service', 'product', name='defect_class', native_enum=False, length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_defect_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_kb_defect_codes_code'))
    )
    op.create_table('kb_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.String(length=500), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_synonyms'))
    )
    op.create_table('kb_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.Enum('article', 'defect', name='kb_item_kind', native_enum=False, length=20), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', STATUS, nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('defect_code_id', sa.Integer(), nullable=True),
    sa.Column('symptom', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('solution', sa.Text(), nullable=False),
    sa.Column('views', sa.Integer(), server_default='0', nullable=False),
    sa.Column('helpful', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_helpful', sa.Integer(), server_default='0', nullable=False),
    sa.Column('source_ticket_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['kb_categories.id'], name=op.f('fk_kb_items_category_id_kb_categories')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_kb_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['defect_code_id'], ['kb_defect_codes.id'], name=op.f('fk_kb_items_defect_code_id_kb_defect_codes')),
    sa.ForeignKeyConstraint(['source_ticket_id'], ['tickets.id'], name=op.f('fk_kb_items_source_ticket_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_kb_items_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_items')),
    sa.UniqueConstraint('external_id', name=op.f('uq_kb_items_external_id'))
    )
    op.create_index(op.f('ix_kb_items_category_id'), 'kb_items', ['category_id'], unique=False)
    op.create_index(op.f('ix_kb_items_defect_code_id'), 'kb_items', ['defect_code_id'], unique=False)
    op.create_index(op.f('ix_kb_items_kind'), 'kb_items', ['kind'], unique=False)
    op.create_index(op.f('ix_kb_items_status'), 'kb_items', ['status'], unique=False)
    op.create_index('ix_kb_items_status_kind', 'kb_items', ['status', 'kind'], unique=False)
    op.create_table('kb_item_models',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['kb_items.id'], name=op.f('fk_kb_item_models_item_id_kb_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'model', name=op.f('pk_kb_item_models'))
    )
    op.create_index(op.f('ix_kb_item_models_model'), 'kb_item_models', ['model'], unique=False)
    op.create_table('kb_item_tags',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['kb_items.id'], name=op.f('fk_kb_item_tags_item_id_kb_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'tag', name=op.f('pk_kb_item_tags'))
    )
    op.create_index(op.f('ix_kb_item_tags_tag'), 'kb_item_tags', ['tag'], unique=False)
    op.create_table('kb_item_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('symptom', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('solution', sa.Text(), nullable=False),
    sa.Column('status', STATUS, nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_kb_item_versions_changed_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['kb_items.id'], name=op.f('fk_kb_item_versions_item_id_kb_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_item_versions')),
    sa.UniqueConstraint('item_id', 'version', name=op.f('uq_kb_item_versions_item_id'))
    )
    op.create_index('ix_kb_item_versions_item', 'kb_item_versions', ['item_id', 'version'], unique=False)
    op.create_table('kb_feedback',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['kb_items.id'], name=op.f('fk_kb_feedback_item_id_kb_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_feedback_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'user_id', name=op.f('pk_kb_feedback'))
    )
    op.create_table('kb_search',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('title_words', sa.Text(), nullable=False),
    sa.Column('body_words', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['kb_items.id'], name=op.f('fk_kb_search_item_id_kb_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_kb_search'))
    )
    # The full-text index over kb_search, each database its own (kb.search reads it).
    if op.get_bind().dialect.name == 'postgresql':
        # Words are cut and stemmed before they are stored: 'simple' only splits on the
        # spaces. Title words weigh more (A) than body words (B).
        op.execute("ALTER TABLE kb_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
                   "setweight(to_tsvector('simple', title_words), 'A') || "
                   "setweight(to_tsvector('simple', body_words), 'B')) STORED")
        op.execute("CREATE INDEX ix_kb_search_tsv ON kb_search USING gin (tsv)")
    else:
        # SQLite: an FTS5 index whose content is kb_search itself, kept in step by
        # triggers (the documented "external content" pattern).
        op.execute("CREATE VIRTUAL TABLE kb_fts USING fts5(title_words, body_words, "
                   "content='kb_search', content_rowid='item_id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        op.execute("CREATE TRIGGER kb_search_ai AFTER INSERT ON kb_search BEGIN "
                   "INSERT INTO kb_fts(rowid, title_words, body_words) "
                   "VALUES (new.item_id, new.title_words, new.body_words); END")
        op.execute("CREATE TRIGGER kb_search_ad AFTER DELETE ON kb_search BEGIN "
                   "INSERT INTO kb_fts(kb_fts, rowid, title_words, body_words) "
                   "VALUES ('delete', old.item_id, old.title_words, old.body_words); END")
        op.execute("CREATE TRIGGER kb_search_au AFTER UPDATE ON kb_search BEGIN "
                   "INSERT INTO kb_fts(kb_fts, rowid, title_words, body_words) "
                   "VALUES ('delete', old.item_id, old.title_words, old.body_words); "
                   "INSERT INTO kb_fts(rowid, title_words, body_words) "
                   "VALUES (new.item_id, new.title_words, new.body_words); END")
    op.create_table('kb_terms',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('documents', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_kb_terms'))
    )


def downgrade() -> None:
    op.drop_table('kb_terms')
    if op.get_bind().dialect.name != 'postgresql':
        for trigger in ('kb_search_ai', 'kb_search_ad', 'kb_search_au'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_table('kb_search')
    op.drop_table('kb_feedback')
    op.drop_index('ix_kb_item_versions_item', table_name='kb_item_versions')
    op.drop_table('kb_item_versions')
    op.drop_index(op.f('ix_kb_item_tags_tag'), table_name='kb_item_tags')
    op.drop_table('kb_item_tags')
    op.drop_index(op.f('ix_kb_item_models_model'), table_name='kb_item_models')
    op.drop_table('kb_item_models')
    op.drop_table('kb_items')
    op.drop_table('kb_synonyms')
    op.drop_table('kb_defect_codes')
    op.drop_index(op.f('ix_kb_categories_path'), table_name='kb_categories')
    op.drop_table('kb_categories')
