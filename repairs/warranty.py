"""The warranty decision of a repair order, and its override.

**The rule.** The decision is made from the product (by its serial number) and its
warranty: type (standard, extended or a service contract: ``WarrantyType``) and
``warranty_end``, the last covered day. **The reference date is the day the fault was
reported** (``RepairOrder.reported_on``: the day the service request was opened, in the
call center's time zone), not the day of the repair or of settlement: a fault reported
inside the warranty stays a warranty repair however long the repair takes. So:

    in warranty  <=>  type is standard, extended or contract
                      and warranty_end is known
                      and reported_on <= warranty_end

The decision is taken once, when the order is raised, and stored with its basis
(``warranty_basis``: type, end, reference date, serial, the rule applied), so a later
change to the product's warranty does not rewrite an order's charges. A user with
``warranty.override`` may override it with a reason before the order reaches settlement;
the basis keeps the override (who, when, why, what it was) and the history a row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from repairs import history
from repairs.models import RepairOrder, RepairStatus

#: The rule written into every basis (what was compared).
RULE = "reported_on <= warranty_end"
#: Longest override reason.
MAX_REASON = 2000
#: States in which the decision may still be overridden (before settlement).
OVERRIDABLE = frozenset({RepairStatus.DIAGNOSIS, RepairStatus.DISPATCHED,
                         RepairStatus.REPAIRING, RepairStatus.INSPECTION})
STALE = "repair.stale_version"


def decide(product: InstalledProduct, reported_on: date) -> tuple[bool, dict[str, Any]]:
    """(in warranty?, the basis) for a fault on ``product`` reported on ``reported_on``."""
    wtype = WarrantyType(product.warranty_type or WarrantyType.NONE)
    end = product.warranty_end
    basis: dict[str, Any] = {
        "serial_number": product.serial_number,
        "warranty_type": wtype.value,
        "warranty_end": end.isoformat() if end else None,
        "reference_date": reported_on.isoformat(),
        "rule": RULE,
    }
    if wtype == WarrantyType.NONE:
        basis["outcome"] = "no_warranty"
        return False, basis
    if end is None:
        basis["outcome"] = "no_end_date"
        return False, basis
    covered = reported_on <= end
    basis["outcome"] = "covered" if covered else "expired"
    return covered, basis


def override_warranty(session: Session, actor: User, order: RepairOrder, *,
                      in_warranty: bool, reason: str, version: int,
                      now: datetime | None = None) -> RepairOrder:
    """Set the decision by hand, with a reason (``warranty.override``), before settlement.
    The basis keeps the decision it replaced; the history has a ``in_warranty`` row whose
    note is the reason."""
    require(actor, Permission.WARRANTY_OVERRIDE)
    now = now or utcnow()
    if not isinstance(in_warranty, bool):
        raise ValidationError({"in_warranty": Problem("not_boolean")})
    text, problem = text_problem(reason, MAX_REASON, required=True, multiline=True)
    if problem is not None:
        raise ValidationError({"reason": problem})
    check_version(order, version, STALE)
    if order.status not in OVERRIDABLE:
        raise ValidationError({"in_warranty": Problem("repair.warranty_settled",
                                                      {"status": order.status.value})})
    if in_warranty == order.in_warranty:
        raise ValidationError({"in_warranty": Problem("repair.warranty_unchanged")})
    claim(session, order, version, STALE)
    old = order.in_warranty
    basis = dict(order.warranty_basis or {})
    overrides = list(basis.get("overrides", []))
    overrides.append({"by": actor.id, "at": now.isoformat(), "reason": text,
                      "was": old, "now": in_warranty})
    basis.update(overridden=True, overridden_by=actor.id, reason=text, was=old,
                 overrides=overrides)
    order.in_warranty = in_warranty
    order.warranty_basis = basis
    order.updated_at = now
    history.record(session, order.id, actor, "in_warranty", old, in_warranty, note=text,
                   at=now)
    session.flush()
    return order
