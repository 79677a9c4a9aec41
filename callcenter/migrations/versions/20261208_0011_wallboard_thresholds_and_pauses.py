"""the wallboard: alert thresholds a supervisor sets per queue, and the agents' pauses
(each stretch an interface was paused or in after-call work)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wallboard_thresholds',
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.Column('service_level_percent', sa.Integer(), nullable=False),
        sa.Column('longest_wait_s', sa.Integer(), nullable=False),
        sa.Column('abandon_rate_percent', sa.Integer(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['queue_id'], ['pbx_queues.id'],
                                name=op.f('fk_wallboard_thresholds_queue_id_pbx_queues'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_wallboard_thresholds_updated_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('queue_id', name=op.f('pk_wallboard_thresholds')),
    )
    op.create_table(
        'agent_pauses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('interface', sa.String(length=120), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=80), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_agent_pauses_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_pauses')),
    )
    op.create_index(op.f('ix_agent_pauses_user_id'), 'agent_pauses', ['user_id'], unique=False)
    op.create_index('ix_agent_pauses_interface_ended', 'agent_pauses',
                    ['interface', 'ended_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_agent_pauses_interface_ended', table_name='agent_pauses')
    op.drop_index(op.f('ix_agent_pauses_user_id'), table_name='agent_pauses')
    op.drop_table('agent_pauses')
    op.drop_table('wallboard_thresholds')
