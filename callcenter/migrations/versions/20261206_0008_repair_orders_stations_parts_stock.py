"""repair orders, service stations, parts and stock

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parts')),
    sa.UniqueConstraint('sku', name=op.f('uq_parts_sku'))
    )
    op.create_table('part_fits',
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_part_fits_part_id_parts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('part_id', 'model', name=op.f('pk_part_fits'))
    )
    with op.batch_alter_table('part_fits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_fits_model'), ['model'], unique=False)

    op.create_table('stations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_stations_customer_id_customers')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_stations_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('name', name=op.f('uq_stations_name'))
    )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stations_department_id'), ['department_id'], unique=False)

    op.create_table('station_stock',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('low_threshold', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_station_stock_stock_not_negative')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_station_stock_part_id_parts')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_stock_station_id_stations')),
    sa.PrimaryKeyConstraint('station_id', 'part_id', name=op.f('pk_station_stock'))
    )
    with op.batch_alter_table('station_stock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_stock_part_id'), ['part_id'], unique=False)

    op.create_table('repair_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('diagnosis', 'dispatched', 'repairing', 'inspection', 'settlement', 'closed', 'cancelled', name='repair_status', native_enum=False, length=20), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reporter_contact_id', sa.Integer(), nullable=True),
    sa.Column('fault_description', sa.Text(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('defect_code', sa.String(length=40), nullable=True),
    sa.Column('diagnosis', sa.Text(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('inspection_result', sa.Enum('pass', 'fail', name='inspection_result', native_enum=False, length=20), nullable=True),
    sa.Column('inspection_note', sa.Text(), nullable=False),
    sa.Column('signature_path', sa.String(length=300), nullable=True),
    sa.Column('in_warranty', sa.Boolean(), nullable=False),
    sa.Column('warranty_basis', sa.JSON(), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=True),
    sa.Column('labour_hours', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('labour_rate', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('labour_flat_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('labour_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('parts_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('total_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('payable_by_customer', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('bill_to_id', sa.Integer(), nullable=True),
    sa.Column('payer_id', sa.Integer(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('repeat_of_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['bill_to_id'], ['customers.id'], name=op.f('fk_repair_orders_bill_to_id_customers')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_repair_orders_created_by_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_repair_orders_customer_id_customers')),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_repair_orders_inspector_id_users')),
    sa.ForeignKeyConstraint(['payer_id'], ['customers.id'], name=op.f('fk_repair_orders_payer_id_customers')),
    sa.ForeignKeyConstraint(['product_id'], ['installed_products.id'], name=op.f('fk_repair_orders_product_id_installed_products')),
    sa.ForeignKeyConstraint(['repeat_of_id'], ['repair_orders.id'], name=op.f('fk_repair_orders_repeat_of_id_repair_orders')),
    sa.ForeignKeyConstraint(['reporter_contact_id'], ['contacts.id'], name=op.f('fk_repair_orders_reporter_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_repair_orders_station_id_stations')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_repair_orders_technician_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_repair_orders_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_orders'))
    )
    with op.batch_alter_table('repair_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_orders_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_orders_station_id'), ['station_id'], unique=False)
        batch_op.create_index('ix_repair_orders_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_orders_technician_id'), ['technician_id'], unique=False)
        batch_op.create_index('ix_repair_orders_technician_scheduled', ['technician_id', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_orders_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('repair_order_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['repair_orders.id'], name=op.f('fk_repair_order_history_order_id_repair_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_repair_order_history_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_order_history'))
    )
    with op.batch_alter_table('repair_order_history', schema=None) as batch_op:
        batch_op.create_index('ix_repair_order_history_order', ['order_id', 'changed_at', 'id'], unique=False)

    op.create_table('repair_synced_changes',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['repair_orders.id'], name=op.f('fk_repair_synced_changes_order_id_repair_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_repair_synced_changes_user_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_repair_synced_changes'))
    )
    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('receipt', 'issue', 'return', 'transfer_out', 'transfer_in', 'adjustment', name='movement_kind', native_enum=False, length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('repair_order_id', sa.Integer(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('other_station_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_stock_movements_actor_id_users')),
    sa.ForeignKeyConstraint(['other_station_id'], ['stations.id'], name=op.f('fk_stock_movements_other_station_id_stations')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_movements_part_id_parts')),
    sa.ForeignKeyConstraint(['repair_order_id'], ['repair_orders.id'], name=op.f('fk_stock_movements_repair_order_id_repair_orders')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_stock_movements_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_stock_movements_idempotency_key'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_repair_order_id'), ['repair_order_id'], unique=False)
        batch_op.create_index('ix_stock_movements_station_part', ['station_id', 'part_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_station_part')
        batch_op.drop_index(batch_op.f('ix_stock_movements_repair_order_id'))

    op.drop_table('stock_movements')
    op.drop_table('repair_synced_changes')
    with op.batch_alter_table('repair_order_history', schema=None) as batch_op:
        batch_op.drop_index('ix_repair_order_history_order')

    op.drop_table('repair_order_history')
    with op.batch_alter_table('repair_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_orders_ticket_id'))
        batch_op.drop_index('ix_repair_orders_technician_scheduled')
        batch_op.drop_index(batch_op.f('ix_repair_orders_technician_id'))
        batch_op.drop_index('ix_repair_orders_status')
        batch_op.drop_index(batch_op.f('ix_repair_orders_station_id'))
        batch_op.drop_index(batch_op.f('ix_repair_orders_product_id'))
        batch_op.drop_index(batch_op.f('ix_repair_orders_customer_id'))

    op.drop_table('repair_orders')
    with op.batch_alter_table('station_stock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_stock_part_id'))

    op.drop_table('station_stock')
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stations_department_id'))
        batch_op.drop_index(batch_op.f('ix_stations_customer_id'))

    op.drop_table('stations')
    with op.batch_alter_table('part_fits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_fits_model'))

    op.drop_table('part_fits')
    op.drop_table('parts')
