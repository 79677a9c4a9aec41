"""users get an e-mail address (ticket notices are mailed to it); notices remember
when they were mailed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('ticket_notices') as batch_op:
        batch_op.add_column(sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ticket_notices') as batch_op:
        batch_op.drop_column('mailed_at')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('email')
