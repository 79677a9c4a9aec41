"""customers and contacts are found by any word, their pinyin or initials: the keys of
each name, searched by their start on an index; filled for the names already stored

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    key_type = sa.String(length=64).with_variant(sa.String(length=64, collation='C'),
                                                 'postgresql')
    keys = op.create_table('customer_name_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('key', key_type, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_name_keys_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_customer_name_keys_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_name_keys'))
    )
    op.create_index(op.f('ix_customer_name_keys_customer_id'), 'customer_name_keys', ['customer_id'], unique=False)
    op.create_index(op.f('ix_customer_name_keys_contact_id'), 'customer_name_keys', ['contact_id'], unique=False)
    op.create_index('ix_customer_name_keys_key', 'customer_name_keys', ['key', 'customer_id'], unique=False)
    # The names stored so far, in batches (the key function is the application's own:
    # the keys must be exactly those it writes from now on).
    from callcenter.customers.names import search_keys
    conn = op.get_bind()
    queries = (
        "SELECT id, id AS customer_id, NULL AS contact_id, name FROM customers "
        "WHERE id > :last ORDER BY id LIMIT 2000",
        "SELECT id, customer_id, id AS contact_id, name FROM contacts "
        "WHERE id > :last ORDER BY id LIMIT 2000")
    for query in queries:
        last = 0
        while True:
            batch = conn.execute(sa.text(query), {"last": last}).all()
            if not batch:
                break
            rows = [{"customer_id": customer_id, "contact_id": contact_id, "key": key}
                    for _id, customer_id, contact_id, name in batch
                    for key in sorted(search_keys(name or ""))]
            if rows:
                conn.execute(keys.insert(), rows)
            last = batch[-1][0]


def downgrade() -> None:
    op.drop_index('ix_customer_name_keys_key', table_name='customer_name_keys')
    op.drop_index(op.f('ix_customer_name_keys_contact_id'), table_name='customer_name_keys')
    op.drop_index(op.f('ix_customer_name_keys_customer_id'), table_name='customer_name_keys')
    op.drop_table('customer_name_keys')
