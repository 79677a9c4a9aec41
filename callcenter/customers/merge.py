"""Merging a duplicate customer into the one that survives, without losing anything.

Everything linked to the merged record moves to the survivor: contacts, phones,
addresses, installed products, related employees, and other customers' partner
functions that pointed at it. Other domains (tickets, calls, ...) move their own rows
as receivers of ``customers.signals.customers_merged``, connected in their ``init_app``.

The merged record itself is kept (hidden from lists: ``merged_into_id`` is set) with
its change history. Decision: history rows stay on the merged id, so each row still
says which record it was about; ``customer_history`` of the survivor includes the
history of every record merged into it. Chains are flattened: when B (into which A was
merged) is merged into C, A then points at C too, so one hop always reaches the
survivor.

A merge is all or nothing: checks run before any write, and the writes run inside a
savepoint, so a failing receiver leaves every record as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from callcenter.core.versions import bumped, claim
from callcenter.customers.history import _as_text, record_changes
from callcenter.customers.models import (
    Address,
    Contact,
    Customer,
    CustomerMerge,
    Phone,
    customer_related_users,
)
from callcenter.customers.services import STALE_CUSTOMER, CustomerNotFound, require, visible_to
from callcenter.customers.signals import customers_merged
from callcenter.products.models import InstalledProduct
from callcenter.users.models import User
from callcenter.users.permissions import Permission

#: Survivor fields that are filled from the merged record when blank on the survivor.
FILLABLE_FIELDS = ("region", "industry", "tax_id", "email", "notes", "external_id",
                   "responsible_id", "department_id")
#: The merged record's values kept in the audit trail.
SNAPSHOT_FIELDS = ("name", "external_id", "region", "industry", "lifecycle", "tier", "tax_id",
                   "email", "notes", "is_placeholder", "responsible_id", "department_id",
                   "ship_to_id", "bill_to_id", "payer_id", "created_at")


def merge_customers(session: Session, actor: User, survivor: Customer,
                    merged: Customer) -> CustomerMerge:
    """Fold ``merged`` into ``survivor``; returns the audit row. Raises PermissionDenied,
    CustomerNotFound (either record outside the actor's scope) or ValidationError."""
    require(actor, Permission.CUSTOMER_MERGE)
    if survivor.id == merged.id:
        raise ValidationError({"merged_id": Problem("merge.into_itself")})
    session.flush()
    ids = [survivor.id, merged.id]
    # Lock both rows (PostgreSQL) and read their state fresh: a concurrent merge of the
    # same pair must find the other's result, not overwrite it.
    state = dict(session.execute(select(Customer.id, Customer.merged_into_id)
                                 .where(Customer.id.in_(ids)).with_for_update()).all())
    visible = set(session.scalars(select(Customer.id).where(Customer.id.in_(ids),
                                                            visible_to(actor))))
    for customer in (survivor, merged):
        if customer.id not in state or customer.id not in visible:
            raise CustomerNotFound(customer.id)
    errors = {}
    for field, cid in (("survivor_id", survivor.id), ("merged_id", merged.id)):
        if state[cid] is not None:
            errors[field] = Problem("customer.merged", {"id": cid, "into": state[cid]})
    if errors:
        raise ValidationError(errors)
    with session.begin_nested():
        merge = _merge(session, actor, survivor, merged)
    for customer in (survivor, merged):
        session.expire(customer, ["contacts", "phones", "addresses", "products",
                                  "related_users"])
    return merge


def _merge(session: Session, actor: User, survivor: Customer,
           merged: Customer) -> CustomerMerge:
    s, m = survivor.id, merged.id
    snapshot = {f: _as_text(getattr(merged, f)) for f in SNAPSHOT_FIELDS}
    moved: dict[str, Any] = {}
    for kind, model in (("contacts", Contact), ("phones", Phone), ("addresses", Address),
                        ("products", InstalledProduct)):
        row_ids = list(session.scalars(select(model.id).where(model.customer_id == m)
                                       .order_by(model.id)))
        if row_ids:
            session.execute(update(model).where(model.id.in_(row_ids)).values(
                customer_id=s, **(bumped(model) if hasattr(model, "version") else {})))
        moved[kind] = row_ids
    filled = _fill_blanks(session, survivor, merged)
    moved["related_users"] = _move_related_users(session, survivor, merged)
    moved["partner_refs"] = _repoint_partners(session, s, m)
    moved["merged_records"] = list(session.scalars(
        select(Customer.id).where(Customer.merged_into_id == m).order_by(Customer.id)))
    if moved["merged_records"]:
        session.execute(update(Customer).where(Customer.merged_into_id == m)
                        .values(merged_into_id=s, **bumped(Customer)))
    linked = _move_other_domains_rows(session, s, m)
    # Both records change: a form opened on either before the merge is stale now.
    claim(session, survivor, None, STALE_CUSTOMER)
    claim(session, merged, None, STALE_CUSTOMER)
    merged.merged_into_id = s
    details = {"moved": moved, "linked": linked, "filled": filled, "merged_record": snapshot}
    merge = CustomerMerge(survivor_id=s, merged_id=m, user_id=actor.id,
                          details=json.dumps(details, ensure_ascii=False, default=str))
    session.add(merge)
    session.flush()
    counts = {kind: len(v) if isinstance(v, list) else sum(len(x) for x in v.values())
              for kind, v in moved.items()}
    counts.update(linked)
    record_changes(session, s, actor, "customer", s,
                   {field: (None, value) for field, value in filled.items()})
    record_changes(session, s, actor, "merge", merge.id,
                   {"merged": (None, f"#{m} {merged.name}"),
                    "moved": (None, {k: v for k, v in counts.items() if v})})
    record_changes(session, m, actor, "merge", merge.id,
                   {"merged_into": (None, f"#{s} {survivor.name}")})
    session.flush()
    return merge


def _fill_blanks(session: Session, survivor: Customer, merged: Customer) -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for field in FILLABLE_FIELDS:
        value = getattr(merged, field)
        if getattr(survivor, field) in (None, "") and value not in (None, ""):
            filled[field] = value
    if "external_id" in filled:
        # Unique key: free it on the merged record first, so a re-import of that source
        # record updates the survivor from now on.
        merged.external_id = None
        session.flush()
    for field, value in filled.items():
        setattr(survivor, field, value)
    session.flush()
    return filled


def _move_related_users(session: Session, survivor: Customer, merged: Customer) -> list[int]:
    """Merged record's related employees (and its responsible one, so nobody loses sight
    of the customer) become related employees of the survivor."""
    link = customer_related_users.c
    have = set(session.scalars(select(link.user_id).where(link.customer_id == survivor.id)))
    wanted = set(session.scalars(select(link.user_id).where(link.customer_id == merged.id)))
    if merged.responsible_id:
        wanted.add(merged.responsible_id)
    wanted.discard(survivor.responsible_id)
    added = sorted(wanted - have)
    if added:
        session.execute(insert(customer_related_users),
                        [{"customer_id": survivor.id, "user_id": uid} for uid in added])
    session.execute(delete(customer_related_users).where(link.customer_id == merged.id))
    return added


def _repoint_partners(session: Session, s: int, m: int) -> dict[str, list[int]]:
    """ship-to / bill-to / payer pointing at the merged record now point at the survivor
    (and at nothing, meaning "itself", on the survivor). Payer moves with bill-to."""
    repointed: dict[str, list[int]] = {}
    for field, columns in (("ship_to", ("ship_to_id",)),
                           ("bill_to", ("bill_to_id", "payer_id"))):
        col = getattr(Customer, columns[0])
        row_ids = list(session.scalars(select(Customer.id).where(
            or_(*(getattr(Customer, c) == m for c in columns)), Customer.id != m)
            .order_by(Customer.id)))
        for target, where in ((None, Customer.id == s), (s, Customer.id != s)):
            session.execute(update(Customer)
                            .where(Customer.id.in_(row_ids), col == m, where)
                            .values({**{c: target for c in columns}, **bumped(Customer)}))
        repointed[field] = row_ids
    return repointed


def _move_other_domains_rows(session: Session, s: int, m: int) -> dict[str, int]:
    """Send ``customers_merged``; the receivers' counts of moved rows, summed per kind."""
    linked: dict[str, int] = {}
    for receiver, result in customers_merged.send(s, merged_id=m, session=session):
        if not isinstance(result, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                for k, v in result.items()):
            raise TypeError(f"customers_merged receiver {receiver!r} must return "
                            f"{{str: int}}, not {result!r}")
        for kind, count in result.items():
            linked[kind] = linked.get(kind, 0) + count
    return linked


def merge_history(session: Session, customer_id: int) -> list[CustomerMerge]:
    """Merges into ``customer_id`` (also into records later merged into it) and the merge
    that folded it away, if any; newest first. The caller checks scope."""
    folded = select(Customer.id).where(Customer.merged_into_id == customer_id)
    return list(session.scalars(
        select(CustomerMerge)
        .where(or_(CustomerMerge.survivor_id == customer_id,
                   CustomerMerge.merged_id == customer_id,
                   CustomerMerge.survivor_id.in_(folded)))
        .order_by(CustomerMerge.merged_at.desc(), CustomerMerge.id.desc())))


def merge_details(merge: CustomerMerge) -> dict[str, Any]:
    """The audit details of a merge as a dict."""
    return json.loads(merge.details or "{}")


def surviving_customer_id(session: Session, customer_id: int) -> int | None:
    """Where a (possibly merged) record lives on now: itself, or its survivor."""
    row = session.execute(select(Customer.id, Customer.merged_into_id)
                          .where(Customer.id == customer_id)).first()
    if row is None:
        return None
    return row.merged_into_id or row.id
