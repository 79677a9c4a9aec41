"""call log and pbx queues

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('pbx_queues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('service_level_s', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_pbx_queues_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pbx_queues')),
    sa.UniqueConstraint('name', name=op.f('uq_pbx_queues_name'))
    )
    with op.batch_alter_table('pbx_queues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pbx_queues_department_id'), ['department_id'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('queue_uniqueid', sa.String(length=64), nullable=True),
    sa.Column('caller_number', sa.String(length=80), nullable=False),
    sa.Column('caller_name', sa.String(length=120), nullable=False),
    sa.Column('caller_e164', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('queue', sa.String(length=80), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent_interface', sa.String(length=120), nullable=True),
    sa.Column('agents', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.Enum('in_progress', 'answered', 'abandoned', 'transferred', 'unanswered', name='call_outcome', native_enum=False, length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wait_s', sa.Float(), nullable=True),
    sa.Column('talk_s', sa.Float(), nullable=True),
    sa.Column('disposition', sa.String(length=40), nullable=True),
    sa.Column('wrapup_notes', sa.Text(), nullable=False),
    sa.Column('wrapup_by_id', sa.Integer(), nullable=True),
    sa.Column('wrapup_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_calls_agent_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_calls_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['wrapup_by_id'], ['users.id'], name=op.f('fk_calls_wrapup_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('call_id', name=op.f('uq_calls_call_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_caller_e164'), ['caller_e164'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_outcome'), ['outcome'], unique=False)
        batch_op.create_index('ix_calls_queue_started', ['queue', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_queue_uniqueid'), ['queue_uniqueid'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_calls_queue_uniqueid'))
        batch_op.drop_index('ix_calls_queue_started')
        batch_op.drop_index(batch_op.f('ix_calls_outcome'))
        batch_op.drop_index(batch_op.f('ix_calls_customer_id'))
        batch_op.drop_index(batch_op.f('ix_calls_caller_e164'))
        batch_op.drop_index(batch_op.f('ix_calls_agent_id'))

    op.drop_table('calls')
    with op.batch_alter_table('pbx_queues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pbx_queues_department_id'))

    op.drop_table('pbx_queues')

