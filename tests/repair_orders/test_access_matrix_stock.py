"""The access matrix of stations, parts and stock: every endpoint x every role x every
scope, the expected answer computed from ``ROLE_PERMISSIONS`` and the scopes (as in
tests/test_access_matrix.py).

Stations and parts are master data: no scope, only the role's permission. Ids in a body
are scoped: a station's dealer (``customer_id``) by the customer scopes, the repair
order of an issue or a return (``repair_order_id``) by the repair-order scopes
(``repairs.queries``): own = dispatched to the caller; related adds orders they raised;
department adds orders of stations in their department's subtree. Out of scope: 422
naming the field, like a missing record. No permission: 403, and nothing moved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_helpers import bearer
from sqlalchemy import func, select
from stock_support import make_order, make_part, make_station
from test_access_matrix import RELATIONS, ROLES, SCOPES, _user, build_world, in_scope

from callcenter.users.models import Role, Scope
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from callcenter.users.services import ensure_department
from repairs import stock
from repairs.models import StockMovement

READ, MOVE = Permission.STOCK_READ, Permission.STOCK_MOVE


@dataclass
class StockWorld:
    base: Any             # the customer matrix's world: caller, customers by relation
    station: Any
    other: Any
    part: Any
    orders: dict


def build(session, role: Role) -> StockWorld:
    base = build_world(session, role, Scope.OWN)
    admin = _user(session, "stock_admin", Role.ADMIN, Scope.ALL,
                  ensure_department(session, "Matrix/Admin"))
    sub = ensure_department(session, "Matrix/Home/Sub")
    other_dept = ensure_department(session, "Matrix/Other")
    stranger = _user(session, "order_stranger", Role.TECHNICIAN, Scope.OWN, other_dept)
    colleague = _user(session, "order_colleague", Role.TECHNICIAN, Scope.OWN, sub)
    station, other = make_station(session), make_station(session)
    sub_station = make_station(session, department_id=sub.id)
    far_station = make_station(session, department_id=other_dept.id)
    part = make_part(session)
    stock.receive(session, admin, station_id=station.id, part_id=part.id, quantity=100)
    caller = base.caller
    shapes = {"owned": (caller, stranger, far_station), "related": (stranger, caller,
                                                                   far_station),
              "department": (colleague, stranger, sub_station),
              "elsewhere": (stranger, stranger, far_station)}
    orders = {}
    for relation, (technician, creator, where) in shapes.items():
        order = make_order(session, stranger)
        order.technician_id, order.created_by_id, order.station_id = \
            technician.id, creator.id, where.id
        session.flush()
        stock.issue_to_order(session, admin, order, station_id=station.id, part_id=part.id,
                             quantity=1)
        orders[relation] = order
    return StockWorld(base, station, other, part, orders)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    rule: str
    permission: Permission | None
    url: Callable[[StockWorld], str]
    body: Callable[[StockWorld, str], dict] | None = None
    ok: int = 200
    target: str = "none"   # none | customer_id | repair_order_id (a scoped id in the body)


def movement(kind: str, **extra) -> Callable[[StockWorld, str], dict]:
    def body(w: StockWorld, r: str) -> dict:
        data = {"station_id": w.station.id, "part_id": w.part.id, "kind": kind,
                "quantity": 1, **extra}
        if kind in ("issue", "return"):
            data["repair_order_id"] = w.orders[r].id
        if kind == "transfer":
            data["to_station_id"] = w.other.id
        return data
    return body


S, P = "/api/v1/stations/<id:station_id>", "/api/v1/parts/<id:part_id>"
MOVES = "/api/v1/stock-movements"
CASES = [
    Case("list parts", "GET", "/api/v1/parts", READ, lambda w: "/api/v1/parts"),
    Case("add part", "POST", "/api/v1/parts", Permission.PART_MANAGE,
         lambda w: "/api/v1/parts", lambda w, r: {"sku": "NEW-1", "name": "New",
                                                  "unit_price": "1.00"}, ok=201),
    Case("read part", "GET", P, READ, lambda w: f"/api/v1/parts/{w.part.id}"),
    Case("change part", "PATCH", P, Permission.PART_MANAGE,
         lambda w: f"/api/v1/parts/{w.part.id}", lambda w, r: {"name": "Renamed"}),
    Case("list stations", "GET", "/api/v1/stations", READ, lambda w: "/api/v1/stations"),
    Case("add station", "POST", "/api/v1/stations", Permission.STATION_MANAGE,
         lambda w: "/api/v1/stations",
         lambda w, r: {"name": "New station", "customer_id": w.base.customers[r].id},
         ok=201, target="customer_id"),
    Case("read station", "GET", S, READ, lambda w: f"/api/v1/stations/{w.station.id}"),
    Case("change station", "PATCH", S, Permission.STATION_MANAGE,
         lambda w: f"/api/v1/stations/{w.station.id}",
         lambda w, r: {"customer_id": w.base.customers[r].id}, target="customer_id"),
    Case("stock", "GET", S + "/stock", READ, lambda w: f"/api/v1/stations/{w.station.id}/stock"),
    Case("threshold", "PATCH", S + "/stock/<id:part_id>", MOVE,
         lambda w: f"/api/v1/stations/{w.station.id}/stock/{w.part.id}",
         lambda w, r: {"low_threshold": 3}),
    Case("movements", "GET", S + "/movements", READ,
         lambda w: f"/api/v1/stations/{w.station.id}/movements"),
    Case("receipt", "POST", MOVES, MOVE, lambda w: MOVES, movement("receipt"), ok=201),
    Case("adjustment", "POST", MOVES, MOVE, lambda w: MOVES,
         movement("adjustment", reason="count", quantity=-1), ok=201),
    Case("transfer", "POST", MOVES, MOVE, lambda w: MOVES, movement("transfer"), ok=201),
    Case("issue", "POST", MOVES, Permission.REPAIR_WRITE, lambda w: MOVES,
         movement("issue"), ok=201, target="repair_order_id"),
    Case("return", "POST", MOVES, Permission.REPAIR_WRITE, lambda w: MOVES,
         movement("return"), ok=201, target="repair_order_id"),
]


def expected(case: Case, role: Role, scope: Scope, relation: str) -> int:
    if case.permission not in ROLE_PERMISSIONS[role]:
        return 403
    if case.target == "none" or in_scope(scope, relation):
        return case.ok
    return 422


def _moves(session) -> int:
    return session.scalar(select(func.count()).select_from(StockMovement))


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_stock_matrix(role: Role, session, connection, client):
    world = build(session, role)
    failures = []
    for case in CASES:   # one world per role: its build is most of the time
        for scope in SCOPES:
            world.base.caller.scope = scope
            session.flush()
            for relation in ["owned"] if case.target == "none" else list(RELATIONS):
                savepoint = connection.begin_nested()
                try:
                    want = expected(case, role, scope, relation)
                    before = _moves(session)
                    r = client.open(case.url(world), method=case.method,
                                    json=case.body(world, relation) if case.body else None,
                                    headers=bearer(world.base.caller))
                    if r.status_code != want:
                        failures.append(f"{case.name} {role}/{scope}/{relation}: "
                                        f"{r.status_code}, expected {want}: "
                                        f"{r.get_data(True)[:160]}")
                    elif want == 422 and case.target not in r.get_json()["error"]["fields"]:
                        failures.append(f"{case.name} {role}/{scope}/{relation}: 422 does not "
                                        f"name {case.target}")
                    elif want >= 400 and case.method == "POST" and _moves(session) != before:
                        failures.append(f"{case.name} {role}/{scope}/{relation}: moved stock")
                finally:
                    savepoint.rollback()
    assert not failures, "\n".join(failures)


def test_unauthenticated_callers_get_401(client, session):
    world = build(session, Role.ADMIN)
    for case in CASES:
        r = client.open(case.url(world), method=case.method,
                        json=case.body(world, "owned") if case.body else None)
        assert r.status_code == 401, case.name


def test_the_matrix_covers_every_stock_route(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(("/api/v1/parts", "/api/v1/stations", MOVES))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(c.method, c.rule) for c in CASES}
