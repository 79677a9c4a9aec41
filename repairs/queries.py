"""Reading repair orders: the scope in SQL.

Scopes (domain.md section 7, as repair orders read them): "own" = the technician the
order is dispatched to; "related" adds the orders the user raised or inspected and the
orders raised from a service request the user may see (``tickets.queries``);
"department" adds the orders of stations whose department is the user's or one below
it; "all" is everything. An order outside the scope is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound
from callcenter.core.fields import as_id
from callcenter.users.models import User
from callcenter.users.scopes import scope_clause
from repairs.models import RepairOrder, Station
from tickets.models import Ticket
from tickets.queries import visible_tickets


class RepairOrderNotFound(NotFound):
    """No such repair order, or outside the asking user's scope (the two look the same)."""

    entity = "repair_order"


def _station_department():
    return (select(Station.department_id).where(Station.id == RepairOrder.station_id)
            .scalar_subquery())


def visible_orders(user: User) -> ColumnElement[bool]:
    """SQL clause: the repair orders ``user`` may see."""

    def related_to(user_id: int) -> ColumnElement[bool]:
        return or_(RepairOrder.created_by_id == user_id,
                   RepairOrder.inspector_id == user_id,
                   exists().where(Ticket.id == RepairOrder.ticket_id, visible_tickets(user)))

    return scope_clause(user, responsible_col=RepairOrder.technician_id,
                        department_col=_station_department(), related_to=related_to)


def get_order(session: Session, user: User, order_id: Any, *,
              for_update: bool = False) -> RepairOrder:
    """The repair order, if it exists and ``user`` may see it; else RepairOrderNotFound.
    ``for_update``: locked until the transaction ends (a row lock on PostgreSQL)."""
    oid = as_id(order_id)
    if oid is None:
        raise RepairOrderNotFound(order_id)
    stmt = select(RepairOrder).where(RepairOrder.id == oid, visible_orders(user))
    if for_update:
        # Read the row as the lock found it (a loaded copy would keep stale values).
        stmt = stmt.with_for_update(of=RepairOrder).execution_options(populate_existing=True)
    order = session.scalar(stmt)
    if order is None:
        raise RepairOrderNotFound(order_id)
    return order
