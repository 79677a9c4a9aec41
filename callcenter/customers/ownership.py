"""When an employee leaves: their customers go to a successor (domain.md section 7).

Customer data belongs to the company, so nothing may stay attached to someone who is
gone. This runs as set-based SQL (one INSERT ... SELECT for the history, one UPDATE),
because a long-serving salesperson can own tens of thousands of customers.
"""

from __future__ import annotations

from sqlalchemy import String, cast, delete, exists, insert, literal, select, update
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from callcenter.customers.models import ChangeRecord, Customer, customer_related_users
from callcenter.customers.services import require, visible_to
from callcenter.db import UTCDateTime, utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission


def _history_rows(actor: User, customer_ids, field: str, old: int, new: int):
    """INSERT ... SELECT writing one ChangeRecord per customer in ``customer_ids``."""
    now = literal(utcnow(), UTCDateTime())
    rows = select(Customer.id, literal(actor.id), now, literal("customer"), Customer.id,
                  literal(field), cast(literal(str(old)), String),
                  cast(literal(str(new)), String)).where(Customer.id.in_(customer_ids))
    return insert(ChangeRecord).from_select(
        ["customer_id", "user_id", "changed_at", "entity", "entity_id", "field",
         "old_value", "new_value"], rows)


def reassign_customers(session: Session, actor: User, from_user: User, to_user: User) -> int:
    """Make ``to_user`` responsible for every customer of ``from_user`` that ``actor`` may
    see (merged-away records included, so none points at the leaver), and move
    ``from_user``'s related-employee links to ``to_user``. Every change is recorded.
    Returns how many customers changed. Departments stay: the owning department is the
    company's decision, not a side effect of who leaves."""
    require(actor, Permission.CUSTOMER_REASSIGN)
    errors = {}
    for field, user in (("from_user", from_user), ("to_user", to_user)):
        if not isinstance(user, User) or user.id is None or session.get(User, user.id) is None:
            errors[field] = Problem("user.unknown", {"id": getattr(user, "id", None)})
    if "to_user" not in errors and not to_user.active:
        errors["to_user"] = Problem("successor.inactive")
    if not errors and from_user.id == to_user.id:
        errors["to_user"] = Problem("successor.same")
    if errors:
        raise ValidationError(errors)
    session.flush()
    link = customer_related_users.c
    owned = select(Customer.id).where(Customer.responsible_id == from_user.id,
                                      visible_to(actor))
    linked = select(Customer.id).where(
        visible_to(actor),
        exists().where(link.customer_id == Customer.id, link.user_id == from_user.id))
    owned_ids = set(session.scalars(owned))
    linked_ids = set(session.scalars(linked))

    session.execute(_history_rows(actor, owned, "responsible_id", from_user.id, to_user.id))
    session.execute(_history_rows(actor, linked, "related_user", from_user.id, to_user.id))
    session.execute(
        update(Customer).where(Customer.id.in_(owned))
        .values(responsible_id=to_user.id, updated_at=utcnow()),
        execution_options={"synchronize_session": "fetch"})
    # The successor takes over the link unless they already have it.
    already = exists().where(link.customer_id == Customer.id, link.user_id == to_user.id)
    session.execute(insert(customer_related_users).from_select(
        ["customer_id", "user_id"],
        select(Customer.id, literal(to_user.id)).where(Customer.id.in_(linked), ~already)))
    session.execute(delete(customer_related_users).where(
        link.user_id == from_user.id,
        link.customer_id.in_(select(Customer.id).where(visible_to(actor)))))
    session.flush()
    # Loaded customers must not show the old links (the rows changed beneath the ORM).
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Customer) and obj.id in linked_ids:
            session.expire(obj, ["related_users"])
    return len(owned_ids | linked_ids)
