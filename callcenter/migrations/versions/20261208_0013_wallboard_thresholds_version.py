"""a queue's alert thresholds carry a version: a supervisor's save holding an old one is
refused (409) instead of silently overwriting what another supervisor saved meanwhile
(callcenter.wallboard.threshold_edits)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wallboard_thresholds') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                   server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('wallboard_thresholds') as batch:
        batch.drop_column('version')
