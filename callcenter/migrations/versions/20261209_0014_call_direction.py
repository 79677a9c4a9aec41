"""calls carry their direction: a click-to-dial is an outbound call (its outcome may be
"busy"), every existing row was a call that came in

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The outcome column is a plain VARCHAR(20) (native_enum=False, no CHECK): "busy"
    # needs no change to it.
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column(
            'direction', sa.Enum('inbound', 'outbound', name='call_direction',
                                 native_enum=False, length=20),
            nullable=False, server_default='inbound'))
        batch.create_index(batch.f('ix_calls_direction'), ['direction'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.drop_index(batch.f('ix_calls_direction'))
        batch.drop_column('direction')
