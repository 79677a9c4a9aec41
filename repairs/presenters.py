"""How the repair pages show an order: labels, names, the history in words.
Presentation only: what may be done and what it does is the services' business."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.display import page_datetime
from callcenter.customers.models import Customer
from callcenter.products.models import InstalledProduct
from callcenter.users.models import User
from repairs.models import RepairOrder, RepairOrderHistory, RepairStatus, Station
from tickets.history_words import HistoryWords, money_words

STATUS_LABELS = {
    RepairStatus.DIAGNOSIS: _l("Diagnosis"), RepairStatus.DISPATCHED: _l("Dispatched"),
    RepairStatus.REPAIRING: _l("Repairing"), RepairStatus.INSPECTION: _l("Inspection"),
    RepairStatus.SETTLEMENT: _l("Settlement"), RepairStatus.CLOSED: _l("Closed"),
    RepairStatus.CANCELLED: _l("Cancelled"),
}
STATUS_BADGES = {
    RepairStatus.DIAGNOSIS: "info", RepairStatus.DISPATCHED: "info",
    RepairStatus.REPAIRING: "warn", RepairStatus.INSPECTION: "warn",
    RepairStatus.SETTLEMENT: "ok", RepairStatus.CLOSED: "muted",
    RepairStatus.CANCELLED: "muted",
}
#: The buttons of the moves an order may make (the target state's verb).
TRANSITION_LABELS = {
    RepairStatus.DISPATCHED: _l("Dispatch"), RepairStatus.REPAIRING: _l("Start repair"),
    RepairStatus.INSPECTION: _l("Send to inspection"),
    RepairStatus.SETTLEMENT: _l("Settle"), RepairStatus.CLOSED: _l("Close"),
    RepairStatus.CANCELLED: _l("Cancel"),
}
HISTORY_FIELDS = {
    "created": _l("Raised"), "status": _l("Status"), "technician_id": _l("Technician"),
    "station_id": _l("Station"), "scheduled_at": _l("Scheduled"),
    "diagnosis": _l("Diagnosis"), "defect_code": _l("Defect code"),
    "findings": _l("Findings"), "inspection_result": _l("Inspection"),
    "inspection_note": _l("Inspection note"), "part_issued": _l("Part issued"),
    "part_returned": _l("Part returned"), "warranty_override": _l("Warranty override"),
    "in_warranty": _l("In warranty"), "settlement": _l("Settlement"),
    "cancel_reason": _l("Cancelled"), "signature": _l("Signature"),
    "repeat_of_id": _l("Repeat repair"), "inspector_id": _l("Inspector"),
    "labour_hours": _l("Labour hours"), "service_type": _l("Service type"),
    "closed_at": _l("Closed"), "customer_id": _l("Customer"), "bill_to_id": _l("Bill-to"),
    "payer_id": _l("Payer"), "photo": _l("Photo"),
}
#: The warranty decision's outcome (``repairs.warranty.decide``: basis["outcome"]).
RULE_LABELS = {
    "covered": _l("The warranty had not ended on the reference date"),
    "expired": _l("The warranty had ended before the reference date"),
    "no_warranty": _l("The product has no warranty"),
    "no_end_date": _l("The warranty has no end date"),
}
WARRANTY_LABELS = {"none": _l("No warranty"), "standard": _l("Standard warranty"),
                   "extended": _l("Extended warranty"), "contract": _l("Service contract")}
HISTORY_TEXT = 160
#: History fields whose values are times (kept as ISO text): shown in local time.
TIME_FIELDS = frozenset({"scheduled_at", "closed_at"})


def status_label(status: RepairStatus | str) -> str:
    try:
        return str(STATUS_LABELS[RepairStatus(status)])
    except ValueError:
        return str(status)


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name or u.username
            for u in session.scalars(select(User).where(User.id.in_(ids)))}


def customer_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name)
                                .where(Customer.id.in_(ids))).all())


def products(session: Session, ids: set[int | None]) -> dict[int, InstalledProduct]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(
        select(InstalledProduct).where(InstalledProduct.id.in_(ids)))}


def station_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Station.id, Station.name)).all())


#: Repair order history fields whose values are ids, and of what (named by HistoryWords).
ID_FIELDS = {"technician_id": "user", "inspector_id": "user", "customer_id": "customer",
             "bill_to_id": "customer", "payer_id": "customer"}
#: History fields whose values are amounts of money.
MONEY_FIELDS = frozenset({"settlement"})


def history(session: Session, order: RepairOrder, reader: User) -> list[dict[str, Any]]:
    """The order's history, newest first, in words."""
    rows = session.scalars(select(RepairOrderHistory)
                           .where(RepairOrderHistory.order_id == order.id)
                           .order_by(RepairOrderHistory.changed_at.desc(),
                                     RepairOrderHistory.id.desc())).all()
    return history_in_words(session, reader, rows)


def history_in_words(session: Session, reader: User,
                     rows: Sequence[RepairOrderHistory]) -> list[dict[str, Any]]:
    """History rows in words, in their order: who, what, the old and new value, the note
    (the order's page and its API's ``display``). Names come from one query per kind."""
    words = HistoryWords(session, reader, rows, ID_FIELDS)
    stations = station_names(session) if any(r.field == "station_id" for r in rows) else {}

    def word(field: str, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if field in ID_FIELDS:
            return words.ids(field, value) or value
        if field in ("status", "created"):
            return status_label(value)
        if field == "in_warranty":
            return str(_l("In warranty") if value in ("True", "true", "1") else _l("Paid repair"))
        if field == "inspection_result":
            return str(_l("Passed") if value == "pass" else _l("Failed"))
        if field == "station_id" and value.isdigit():
            return stations.get(int(value), value)
        if field == "repeat_of_id" and value.isdigit():
            return f"RO-{int(value):06d}"
        if field in MONEY_FIELDS:
            return money_words(value)
        if field in TIME_FIELDS:
            try:
                return page_datetime(datetime.fromisoformat(value))
            except ValueError:
                return value
        return value if len(value) <= HISTORY_TEXT else value[:HISTORY_TEXT] + "…"

    return [{"id": r.id, "when": r.changed_at, "who": words.who(r),
             "what": str(HISTORY_FIELDS.get(r.field, r.field)),
             "old": word(r.field, r.old_value), "new": word(r.field, r.new_value),
             "note": words.note(r), "system_note": words.system_note(r)} for r in rows]
