"""REST routes for stations' stock: movements (/api/v1/stock-movements), a station's
stock and its history. Thin: the rules are in ``repairs.stock``.

One route takes every kind of movement; what it needs depends on the kind:
``stock.move`` for receipts, adjustments and transfers, ``repair.write`` (and the repair
order in your scope) for issues to an order and returns from one. Too few in stock is a
409 with the code ``stock.insufficient`` and ``available`` / ``requested``. A repeated
``idempotency_key`` (or ``Idempotency-Key`` header) answers the movement already made.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from callcenter.api import PAGE_PARAMS, api_bp, api_route, arg, created, int_arg, paginate
from callcenter.auth import api_error, api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.messages import error_message
from callcenter.customers.services import require
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from repairs import schemas_stock as schemas
from repairs import stock
from repairs.models import MovementKind
from repairs.parts import get_part
from repairs.queries import RepairOrderNotFound, get_order
from repairs.serializers_stock import movement_to_dict, stock_line_to_dict
from repairs.stations import get_station
from repairs.stock import InsufficientStock
from repairs.stock_reads import movements_query, station_stock

STATION_ID = "/stations/<id:station_id>"


@api_bp.errorhandler(InsufficientStock)
def _insufficient(exc: InsufficientStock):
    """409 saying how many there are, for a client to offer that many instead."""
    return api_error(409, error_message(exc), code=exc.code, available=exc.available,
                     requested=exc.requested)


def _key(body: dict[str, Any]) -> str | None:
    header = request.headers.get("Idempotency-Key")
    given = body.get("idempotency_key")
    if header is not None and given is not None and header != given:
        raise ValidationError({"idempotency_key": Problem("stock.idempotency_key")})
    return given if given is not None else header


def _order(session, body: dict[str, Any]):
    """The repair order of an issue or return, in the caller's scope; else 422 naming
    the field (worded the same whether missing or hidden)."""
    order_id = body.get("repair_order_id")
    if order_id is None:
        raise ValidationError({"repair_order_id": Problem("stock.kind_order_only")})
    try:
        return get_order(session, api_user(), order_id)
    except RepairOrderNotFound:
        raise ValidationError({"repair_order_id": Problem("stock.order_unknown",
                                                          {"id": order_id})}) from None


def _only(body: dict[str, Any], field: str, code: str) -> None:
    if body.get(field) is not None:
        raise ValidationError({field: Problem(code)})


@api_route("POST", "/stock-movements", summary="Move stock", tag="stock",
           body=schemas.StockMovementCreate, response=schemas.StockMovement, status=201,
           errors=(403, 409),
           description="`kind`: `receipt` (goods in), `adjustment` (signed quantity, "
                       "`reason` required), `transfer` (to `to_station_id`; the answer is "
                       "the outgoing movement with `transfer_in_id`): these need "
                       "`stock.move`; `issue` / `return` to / from `repair_order_id` need "
                       "`repair.write`. Too few in stock: 409 `stock.insufficient` with "
                       "`available` and `requested`; nothing changes. The stock never goes "
                       "below zero, however many clients draw at once.")
def stock_movement_create(body: dict[str, Any]):
    session, actor, kind = db_session(), api_user(), body["kind"]
    settings = current_app.config["SETTINGS"]
    common = {"station_id": body["station_id"], "part_id": body["part_id"],
              "quantity": body["quantity"], "idempotency_key": _key(body)}
    if kind != "transfer":
        _only(body, "to_station_id", "stock.only_for_transfer")
    if kind not in ("issue", "return"):
        _only(body, "repair_order_id", "stock.only_for_order")
    transfer_in = None
    if kind == "receipt":
        movement = stock.receive(session, actor, reason=body.get("reason", ""), **common)
    elif kind == "adjustment":
        movement = stock.adjust(session, actor, reason=body.get("reason", ""),
                                settings=settings, **common)
    elif kind == "transfer":
        if body.get("to_station_id") is None:
            raise ValidationError({"to_station_id": Problem("required")})
        movement, transfer_in = stock.transfer(
            session, actor, from_station_id=common.pop("station_id"),
            to_station_id=body["to_station_id"], reason=body.get("reason", ""),
            settings=settings, **common)
    else:
        require(actor, Permission.REPAIR_WRITE)  # before the order is looked up
        order = _order(session, body)
        if kind == "issue":
            movement = stock.issue_to_order(session, actor, order, settings=settings,
                                            **common)
        else:
            movement = stock.return_from_order(session, actor, order, **common)
    return created(movement_to_dict(movement, transfer_in))


@api_route("GET", STATION_ID + "/stock", summary="A station's stock", tag="stock",
           permission=Permission.STOCK_READ, response="StockList",
           description="Every part the station holds or held, by SKU: `quantity`, "
                       "`low_threshold` and `low` (below the threshold).")
def station_stock_list(station_id: int):
    station = get_station(db_session(), station_id)
    return jsonify({"items": [stock_line_to_dict(line)
                              for line in station_stock(db_session(), station.id)]})


@api_route("PATCH", STATION_ID + "/stock/<id:part_id>", summary="Set a low-stock threshold",
           tag="stock", permission=Permission.STOCK_MOVE, body=schemas.StockThreshold,
           response=schemas.StockLine,
           description="When an issue (or a transfer out, or an adjustment) takes the "
                       "quantity below it, the station's department hears `stock.low`. "
                       "0: never.")
def station_stock_threshold(station_id: int, part_id: int, body: dict[str, Any]):
    station, part = get_station(db_session(), station_id), get_part(db_session(), part_id)
    stock.set_low_threshold(db_session(), api_user(), station_id=station.id,
                            part_id=part.id, low_threshold=body["low_threshold"])
    line = next(x for x in station_stock(db_session(), station.id) if x.part_id == part.id)
    return jsonify(stock_line_to_dict(line))


@api_route("GET", STATION_ID + "/movements", summary="A station's stock movements",
           tag="stock", permission=Permission.STOCK_READ, response="StockMovementPage",
           query=(Param("part_id", {"type": "integer", "minimum": 1}, "One part."),
                  Param("kind", {"enum": [k.value for k in MovementKind]}, "One kind."))
           + PAGE_PARAMS,
           description="Newest first: every change of the station's stock is one.")
def station_movements(station_id: int):
    station = get_station(db_session(), station_id)
    kind = arg("kind")
    if kind is not None and kind not in {k.value for k in MovementKind}:
        raise ValidationError({"kind": Problem(
            "choice", {"choices": ", ".join(k.value for k in MovementKind)})})
    stmt = movements_query(station.id, part_id=int_arg("part_id"),
                           kind=MovementKind(kind) if kind else None)
    return jsonify(paginate(stmt, movement_to_dict))

