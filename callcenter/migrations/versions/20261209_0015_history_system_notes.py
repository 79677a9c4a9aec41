"""what the system says about a change to a ticket or a repair order is a code with
parameters (``system_note``: ``[code, params]``), worded in the reader's language where it
is shown, no longer English text in ``note`` ("payable_by_customer 0.00; bill_to 4;
payer 4"); the rows written as text are converted, ``note`` keeps a person's words only

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ('ticket_history', 'repair_order_history')
# What the code wrote as text until now (tickets.history_words.legacy_note reads the same).
_SETTLEMENT = re.compile(r"payable_by_customer (\S+); bill_to (\d+); payer (\d+)")
_ESCALATION = re.compile(r"escalation: (warn|lead|up) at (\d+)% of the "
                         r"(first_response|resolution) target")
_TICKET = re.compile(r"ticket (\d+)")
_OUTCOMES = ('covered', 'expired', 'no_warranty', 'no_end_date')


def _coded(field, old_value, note):
    text = (note or '').strip()
    if text == 'customers merged':
        return ['history.customers_merged', {}]
    found = _SETTLEMENT.fullmatch(text)
    if found:
        return ['repair.history.settlement', {'payable_by_customer': found[1],
                                              'bill_to_id': int(found[2]),
                                              'payer_id': int(found[3])}]
    found = _ESCALATION.fullmatch(text)
    if found:
        return [f'ticket.escalation.{found[1]}', {'p': int(found[2]), 'target': found[3]}]
    found = _TICKET.fullmatch(text)
    if field == 'created' and found:
        return ['repair.history.from_ticket', {'ticket_id': int(found[1])}]
    if field == 'in_warranty' and old_value is None and text in _OUTCOMES:
        return [f'repair.rule.{text}', {}]
    return None


def _text(system_note):
    """The text the old code wrote for a code (for the downgrade)."""
    code, params = system_note
    if code == 'history.customers_merged':
        return 'customers merged'
    if code == 'repair.history.settlement':
        return (f"payable_by_customer {params['payable_by_customer']}; bill_to "
                f"{params['bill_to_id']}; payer {params['payer_id']}")
    if code.startswith('ticket.escalation.'):
        action = code.rsplit('.', 1)[1]
        return f"escalation: {action} at {params['p']}% of the {params['target']} target"
    if code == 'repair.history.from_ticket':
        return f"ticket {params['ticket_id']}"
    if code.startswith('repair.rule.'):
        return code.rsplit('.', 1)[1]
    return ''


def _table(name):
    return sa.table(name, sa.column('id', sa.Integer), sa.column('field', sa.String),
                    sa.column('old_value', sa.Text), sa.column('note', sa.Text),
                    sa.column('system_note', sa.JSON))


def _candidates(table):
    """The rows that may hold such a text (``_coded`` decides)."""
    note = table.c.note
    return sa.or_(note == 'customers merged',
                  note.startswith('payable_by_customer ', autoescape=True),
                  note.startswith('escalation: ', autoescape=True),
                  sa.and_(table.c.field == 'created', note.startswith('ticket ')),
                  sa.and_(table.c.field == 'in_warranty', table.c.old_value.is_(None),
                          note.in_(_OUTCOMES)))


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column('system_note', sa.JSON(), nullable=True))
        table = _table(name)
        rows = bind.execute(sa.select(table.c.id, table.c.field, table.c.old_value,
                                      table.c.note).where(_candidates(table))).all()
        for row_id, field, old_value, note in rows:
            coded = _coded(field, old_value, note)
            if coded is not None:
                bind.execute(sa.update(table).where(table.c.id == row_id)
                             .values(note='', system_note=coded))


def downgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        table = _table(name)
        rows = bind.execute(sa.select(table.c.id, table.c.note, table.c.system_note)
                            .where(table.c.system_note.is_not(None))).all()
        for row_id, note, system_note in rows:
            if not note and isinstance(system_note, list):
                bind.execute(sa.update(table).where(table.c.id == row_id)
                             .values(note=_text(system_note)))
        with op.batch_alter_table(name) as batch:
            batch.drop_column('system_note')
