"""REST routes for repair orders (/api/v1/repair-orders): raise, list, read, record the
work, move along the states, issue parts, override the warranty, history. Thin: the
rules are in ``repairs.orders``, ``repairs.transitions``, ``repairs.warranty``,
``repairs.settlement`` and ``repairs.stock``.

An order outside the caller's scope is a 404, exactly like a missing one. A stale
``version`` is a 409 carrying ``current_version``; a move the state machine refuses is a
422 with the code ``repair.transition_refused``; too few parts at the station a 409
(``stock.insufficient``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, url_for
from sqlalchemy import select

from callcenter.api import PAGE_PARAMS, api_route, arg, created, int_arg, paginate
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import choice_problem
from callcenter.customers.services import require
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from repairs import stock
from repairs.history import order_history
from repairs.models import RepairOrder, RepairStatus
from repairs.orders import raise_repair_order, record_work
from repairs.queries import get_order, visible_orders
from repairs.schemas import (
    PartIssue,
    PartIssued,
    RepairOrderCreate,
    RepairOrderPatch,
    RepairTransition,
    WarrantyOverride,
)
from repairs.schemas import RepairOrder as RepairOrderOut
from repairs.serializers import movement_to_dict, order_to_dict
from repairs.transitions import move_order, move_permission
from repairs.warranty import override_warranty
from tickets.serializers import history_to_dicts

ORDER_ID = "/repair-orders/<id:order_id>"
#: Parts are drawn while the repair is under way; from inspection on the order's parts
#: are what the inspector checks and settlement charges.
PARTS_STATES = frozenset({RepairStatus.DIAGNOSIS, RepairStatus.DISPATCHED,
                          RepairStatus.REPAIRING})


def settings():
    return current_app.config["SETTINGS"]


def as_json(order: RepairOrder) -> dict[str, Any]:
    return order_to_dict(db_session(), order, settings(),
                         history_url=url_for("api.repair_order_history", order_id=order.id))


def _statuses(raw: str | None) -> list[RepairStatus] | None:
    if raw is None:
        return None
    out = []
    for part in raw.split(","):
        try:
            out.append(RepairStatus(part.strip()))
        except ValueError:
            raise ValidationError({"status": choice_problem(RepairStatus)}) from None
    return out


@api_route("GET", "/repair-orders", summary="List repair orders", tag="repairs",
           permission=Permission.REPAIR_READ, response="RepairOrderPage",
           query=(Param("status", {"type": "string"}, "One status or several, "
                        "comma-separated: " + ", ".join(s.value for s in RepairStatus)),
                  Param("technician_id", {"type": "integer", "minimum": 1}, "The technician."),
                  Param("product_id", {"type": "integer", "minimum": 1},
                        "The installed product."),
                  Param("repeat", {"enum": ["true", "false"]}, "Only repeat repairs, or "
                        "only first repairs.")) + PAGE_PARAMS,
           description="Only orders in the caller's scope, newest first.")
def repair_orders_list():
    stmt = select(RepairOrder).where(visible_orders(api_user()))
    statuses = _statuses(arg("status"))
    if statuses:
        stmt = stmt.where(RepairOrder.status.in_(statuses))
    for name, column in (("technician_id", RepairOrder.technician_id),
                         ("product_id", RepairOrder.product_id)):
        value = int_arg(name)
        if value is not None:
            stmt = stmt.where(column == value)
    repeat = arg("repeat")
    if repeat not in (None, "true", "false"):
        raise ValidationError({"repeat": Problem("choice", {"choices": "true, false"})})
    if repeat is not None:
        stmt = stmt.where(RepairOrder.repeat_of_id.is_not(None) if repeat == "true"
                          else RepairOrder.repeat_of_id.is_(None))
    stmt = stmt.order_by(RepairOrder.created_at.desc(), RepairOrder.id.desc())
    return jsonify(paginate(stmt, as_json))


@api_route("POST", "/repair-orders", summary="Raise a repair order", tag="repairs",
           permission=Permission.REPAIR_WRITE, body=RepairOrderCreate,
           response=RepairOrderOut, status=201,
           description="From a service request (`ticket_id`) for an installed product "
                       "(`product_id`): both in the caller's scope, and the product the "
                       "ticket's customer's or the ticket's product. Starts in "
                       "`diagnosis`; the warranty is decided at once, with the day the "
                       "request was opened as the reference date.")
def repair_orders_create(body: dict[str, Any]):
    order = raise_repair_order(db_session(), api_user(), ticket_id=body["ticket_id"],
                               product_id=body["product_id"],
                               fault_description=body["fault_description"],
                               reporter_contact_id=body.get("reporter_contact_id"),
                               settings=settings())
    response = created(as_json(order))
    response.headers["Location"] = url_for("api.repair_order_get", order_id=order.id)
    return response


@api_route("GET", ORDER_ID, summary="A repair order", tag="repairs",
           permission=Permission.REPAIR_READ, response=RepairOrderOut,
           description="With `settlement` (amounts as decimal strings: computed live "
                       "before settlement, frozen from then on), the parts used, the "
                       "warranty basis and the repeat-repair flag.")
def repair_order_get(order_id: int):
    return jsonify(as_json(get_order(db_session(), api_user(), order_id)))


@api_route("PATCH", ORDER_ID, summary="Record a repair order's work", tag="repairs",
           permission=Permission.REPAIR_WRITE, body=RepairOrderPatch,
           response=RepairOrderOut, errors=(409,),
           description="Diagnosis, defect code, findings, service type, labour hours "
                       "(text, \"1.5\"), until settlement. Send the `version` you read: a "
                       "stale one is a 409 carrying `current_version`.")
def repair_order_patch(order_id: int, body: dict[str, Any]):
    order = get_order(db_session(), api_user(), order_id, for_update=True)
    record_work(db_session(), api_user(), order, version=body["version"],
                **{k: v for k, v in body.items() if k != "version"})
    return jsonify(as_json(order))


@api_route("POST", ORDER_ID + "/transitions", summary="Move a repair order",
           tag="repairs", permission=Permission.REPAIR_READ, body=RepairTransition,
           response=RepairOrderOut, errors=(409,),
           description="diagnosis → dispatched (repair.dispatch; `technician_id` "
                       "required) → repairing → inspection → settlement (passed; "
                       "repair.inspect) → closed (repair.settle alone); inspection → "
                       "repairing (failed; repair.inspect; a `note` required); dispatched "
                       "or repairing → dispatched (re-dispatch; repair.dispatch); → "
                       "cancelled from any state before settlement (the reason in `note`). "
                       "Every move but closing needs repair.write. A refused move is a 422 "
                       "`repair.transition_refused`, a stale `version` a 409.")
def repair_order_transition(order_id: int, body: dict[str, Any]):
    require(api_user(), move_permission(body["to"]))
    order = get_order(db_session(), api_user(), order_id, for_update=True)
    move_order(db_session(), api_user(), order, to=body["to"], version=body["version"],
               technician_id=body.get("technician_id"), station_id=body.get("station_id"),
               scheduled_at=body.get("scheduled_at"), note=body.get("note", ""),
               settings=settings())
    return jsonify(as_json(order))


@api_route("POST", ORDER_ID + "/parts", summary="Issue parts to a repair order",
           tag="repairs", permission=Permission.REPAIR_WRITE, body=PartIssue,
           response=PartIssued, status=201, errors=(409,),
           description="From a station's stock, while the order is in diagnosis, "
                       "dispatched or repairing. Too few at the station: 409 "
                       "`stock.insufficient`, nothing issued. An `idempotency_key` sent "
                       "again issues nothing twice.")
def repair_order_parts(order_id: int, body: dict[str, Any]):
    order = get_order(db_session(), api_user(), order_id)
    if order.status not in PARTS_STATES:
        raise ValidationError({"status": Problem("repair.parts_closed",
                                                 {"status": order.status.value})})
    movement = stock.issue_to_order(db_session(), api_user(), order,
                                    station_id=body["station_id"], part_id=body["part_id"],
                                    quantity=body["quantity"],
                                    idempotency_key=body.get("idempotency_key"),
                                    settings=settings())
    return created(movement_to_dict(movement))


@api_route("POST", ORDER_ID + "/warranty", summary="Override the warranty decision",
           tag="repairs", permission=Permission.WARRANTY_OVERRIDE, body=WarrantyOverride,
           response=RepairOrderOut, errors=(409,),
           description="In or out of warranty by hand, with a reason, before settlement; "
                       "the basis keeps what it replaced.")
def repair_order_warranty(order_id: int, body: dict[str, Any]):
    order = get_order(db_session(), api_user(), order_id, for_update=True)
    override_warranty(db_session(), api_user(), order, in_warranty=body["in_warranty"],
                      reason=body["reason"], version=body["version"])
    return jsonify(as_json(order))


@api_route("GET", ORDER_ID + "/history", summary="A repair order's history",
           tag="repairs", permission=Permission.REPAIR_READ, response="RepairOrderHistory",
           description="Every change, oldest first: `field`, `old_value`, `new_value` (as "
                       "stored), `changed_at`, `user`, `note` (a person's words), "
                       "`system_note` (the system's, as a code: a settlement's figures, a "
                       "merge, the warranty rule), and `display`: the item in words, in the "
                       "reader's language.")
def repair_order_history(order_id: int):
    from repairs.presenters import history_in_words

    user = api_user()
    order = get_order(db_session(), user, order_id)
    rows = order_history(db_session(), order.id)
    display = {row["id"]: row for row in history_in_words(db_session(), user, rows)}
    return jsonify({"items": history_to_dicts(db_session(), rows, settings().locality.zone,
                                              display)})
