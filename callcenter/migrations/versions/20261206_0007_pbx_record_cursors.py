"""the bridge remembers how far it has read the PBX's queue_log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pbx_record_cursors',
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('inode', sa.BigInteger(), nullable=True),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', name=op.f('pk_pbx_record_cursors')),
    )


def downgrade() -> None:
    op.drop_table('pbx_record_cursors')
