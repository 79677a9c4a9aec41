"""The access matrix of the repair-order endpoints: every endpoint x every role x every
scope, computed as in tests/test_access_matrix.py: the role's permissions
(``ROLE_PERMISSIONS``) and the repair-order scopes (repairs.queries): own = dispatched
to the caller; related adds orders they raised; department adds orders of stations in
their department's subtree; all. No permission -> 403; order out of scope -> 404 (like a
missing one); lists hold the target exactly when it is in scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import bearer
from test_access_matrix import RELATIONS, ROLES, SCOPES, _user, in_scope

from callcenter.customers.models import Customer
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Role, Scope
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from callcenter.users.services import ensure_department
from repairs.models import Part, RepairOrder, Station, StationStock
from tickets.models import Ticket, TicketStatus


@dataclass
class World:
    caller: Any
    orders: dict[str, RepairOrder] = field(default_factory=dict)
    station: Station | None = None
    part: Part | None = None


def build_world(session, role: Role, scope: Scope) -> World:
    home = ensure_department(session, "Matrix/Home")
    sub = ensure_department(session, "Matrix/Home/Sub")
    other = ensure_department(session, "Matrix/Other")
    caller = _user(session, "caller", role, scope, home)
    colleague = _user(session, "colleague", Role.TECHNICIAN, Scope.OWN, sub)
    stranger = _user(session, "stranger", Role.TECHNICIAN, Scope.OWN, other)
    customer = Customer(name="Repair owner", name_key="repairowner",
                        responsible_id=stranger.id, department_id=other.id)
    session.add(customer)
    session.flush()
    product = InstalledProduct(customer_id=customer.id, model="K9", serial_number="SN-M",
                               warranty_end=date(2020, 1, 1))
    ticket = Ticket(type_code="service_request", subject="Broken", customer_id=customer.id,
                    assignee_id=stranger.id, creator_id=stranger.id,
                    department_id=other.id, status=TicketStatus.ASSIGNED)
    sub_station = Station(name="Sub station", department_id=sub.id)
    other_station = Station(name="Other station", department_id=other.id)
    world = World(caller)
    world.part = Part(sku="M-1", name="Fuse", unit_price=Decimal("1.00"))
    session.add_all([product, ticket, sub_station, other_station, world.part])
    session.flush()
    world.station = other_station
    session.add(StationStock(station_id=other_station.id, part_id=world.part.id,
                             quantity=100))
    shapes = {"owned": (caller, stranger, other_station), "related": (stranger, caller,
                                                                    other_station),
              "department": (colleague, stranger, sub_station),
              "elsewhere": (stranger, stranger, other_station)}
    for relation, (technician, creator, station) in shapes.items():
        order = RepairOrder(ticket_id=ticket.id, product_id=product.id,
                            customer_id=customer.id, fault_description="x",
                            reported_on=date(2026, 12, 1), technician_id=technician.id,
                            created_by_id=creator.id, station_id=station.id,
                            warranty_basis={})
        session.add(order)
        world.orders[relation] = order
    session.flush()
    return world


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    rule: str
    permission: Permission
    url: Callable[[World, str], str]
    body: Callable[[World, str], dict] | None = None
    ok: int = 200
    target: str = "path"


def oid(w, r):
    return w.orders[r].id


ORDER = "/api/v1/repair-orders/<id:order_id>"
READ, WRITE = Permission.REPAIR_READ, Permission.REPAIR_WRITE
CASES = [
    Case("list", "GET", "/api/v1/repair-orders", READ, lambda w, r: "/api/v1/repair-orders",
         target="list"),
    Case("read", "GET", ORDER, READ, lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}"),
    Case("history", "GET", ORDER + "/history", READ,
         lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}/history"),
    Case("patch", "PATCH", ORDER, WRITE, lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}",
         lambda w, r: {"version": 1, "findings": "Loose wire"}),
    Case("transition", "POST", ORDER + "/transitions", WRITE,
         lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}/transitions",
         lambda w, r: {"to": "cancelled", "version": 1, "note": "duplicate"}),
    # Closing is finance's: repair.settle alone. The orders are in diagnosis, so where
    # the caller may close and see the order, the state machine refuses (422).
    Case("close", "POST", ORDER + "/transitions", Permission.REPAIR_SETTLE,
         lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}/transitions",
         lambda w, r: {"to": "closed", "version": 1}, ok=422),
    Case("parts", "POST", ORDER + "/parts", WRITE,
         lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}/parts",
         lambda w, r: {"part_id": w.part.id, "station_id": w.station.id, "quantity": 1},
         ok=201),
    Case("warranty", "POST", ORDER + "/warranty", Permission.WARRANTY_OVERRIDE,
         lambda w, r: f"/api/v1/repair-orders/{oid(w, r)}/warranty",
         lambda w, r: {"in_warranty": True, "reason": "goodwill", "version": 1}),
]


def expected(case: Case, role: Role, scope: Scope, relation: str) -> int:
    if case.permission not in ROLE_PERMISSIONS[role]:
        return 403
    if case.target == "list" or in_scope(scope, relation):
        return case.ok
    return 404


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_repair_order_matrix(role: Role, session, connection, client):
    world = build_world(session, role, Scope.OWN)
    failures = []
    for case in CASES:   # one world per role: its build is most of the time
        for scope in SCOPES:
            world.caller.scope = scope
            session.flush()
            for relation in RELATIONS:
                savepoint = connection.begin_nested()
                try:
                    want = expected(case, role, scope, relation)
                    r = client.open(case.url(world, relation), method=case.method,
                                    json=case.body(world, relation) if case.body else None,
                                    headers=bearer(world.caller))
                    if r.status_code != want:
                        failures.append(f"{case.name} {role}/{scope}/{relation}: "
                                        f"{r.status_code}, expected {want}: "
                                        f"{r.get_data(True)[:200]}")
                    elif case.target == "list" and r.status_code == 200:
                        ids = {o["id"] for o in r.get_json()["items"]}
                        if (oid(world, relation) in ids) != in_scope(scope, relation):
                            failures.append(f"list {role}/{scope}/{relation}: wrong")
                finally:
                    savepoint.rollback()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_raising_needs_repair_write_before_anything_is_read(role, session, client):
    world = build_world(session, role, Scope.ALL)
    r = client.post("/api/v1/repair-orders", json={"ticket_id": 999999, "product_id": 999999,
                                                   "fault_description": "x"},
                    headers=bearer(world.caller))
    assert r.status_code == (422 if WRITE in ROLE_PERMISSIONS[role] else 403)


def test_unauthenticated_callers_get_401(client, session):
    world = build_world(session, Role.ADMIN, Scope.ALL)
    for case in CASES:
        r = client.open(case.url(world, "owned"), method=case.method,
                        json=case.body(world, "owned") if case.body else None)
        assert r.status_code == 401, case.name


def test_the_matrix_covers_every_repair_order_rule(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/repair-orders")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(case.method, case.rule) for case in CASES} | {
        ("POST", "/api/v1/repair-orders")}
    assert served == covered
