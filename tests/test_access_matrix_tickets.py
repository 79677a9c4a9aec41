"""The access matrix of the ticket endpoints: every endpoint x every role x every scope.

As in tests/test_access_matrix.py, the expected answer is computed, not copied: the
role's permissions (``ROLE_PERMISSIONS``) and the ticket scopes (tickets.queries):
own = assigned to the caller; related adds tickets they are listed on (or created);
department adds tickets of their department's subtree; all. No permission -> 403;
ticket out of scope -> 404 (like a missing one); lists hold the target exactly when it
is in scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_helpers import bearer
from test_access_matrix import RELATIONS, ROLES, SCOPES, _user, in_scope

from callcenter.customers.models import Customer
from callcenter.users.models import Role, Scope
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from callcenter.users.services import ensure_department
from tickets.models import Ticket, TicketStatus


@dataclass
class World:
    caller: Any
    tickets: dict[str, Ticket] = field(default_factory=dict)


def build_world(session, role: Role, scope: Scope) -> World:
    home = ensure_department(session, "Matrix/Home")
    sub = ensure_department(session, "Matrix/Home/Sub")
    other = ensure_department(session, "Matrix/Other")
    caller = _user(session, "caller", role, scope, home)
    colleague = _user(session, "colleague", Role.AGENT, Scope.OWN, sub)
    stranger = _user(session, "stranger", Role.AGENT, Scope.OWN, other)
    customer = Customer(name="Ticket owner", name_key="ticketowner",
                        responsible_id=caller.id, department_id=home.id)
    session.add(customer)
    session.flush()
    world = World(caller)
    shapes = {"owned": (caller, stranger, other, []), "related": (stranger, stranger, other,
                                                                  [caller]),
              "department": (colleague, colleague, sub, []),
              "elsewhere": (stranger, stranger, other, [])}
    for relation, (assignee, creator, dept, related) in shapes.items():
        ticket = Ticket(type_code="inquiry", subject=f"T {relation}", customer_id=customer.id,
                        assignee_id=assignee.id, creator_id=creator.id,
                        department_id=dept.id, status=TicketStatus.ASSIGNED,
                        related_users=related)
        session.add(ticket)
        world.tickets[relation] = ticket
    session.flush()
    return world


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    permission: Permission
    url: Callable[[World, str], str]
    body: Callable[[World, str], dict] | None = None
    ok: int = 200
    target: str = "path"


def tid(w, r):
    return w.tickets[r].id


READ, WRITE = Permission.TICKET_READ, Permission.TICKET_WRITE
CASES = [
    Case("list", "GET", READ, lambda w, r: "/api/v1/tickets", target="list"),
    Case("read", "GET", READ, lambda w, r: f"/api/v1/tickets/{tid(w, r)}"),
    Case("history", "GET", READ, lambda w, r: f"/api/v1/tickets/{tid(w, r)}/history"),
    Case("comments", "GET", READ, lambda w, r: f"/api/v1/tickets/{tid(w, r)}/comments"),
    Case("links", "GET", READ, lambda w, r: f"/api/v1/tickets/{tid(w, r)}/links"),
    Case("attachments", "GET", READ,
         lambda w, r: f"/api/v1/tickets/{tid(w, r)}/attachments"),
    Case("patch", "PATCH", WRITE, lambda w, r: f"/api/v1/tickets/{tid(w, r)}",
         lambda w, r: {"version": 1, "subject": "Changed"}),
    Case("transition", "POST", WRITE,
         lambda w, r: f"/api/v1/tickets/{tid(w, r)}/transitions",
         lambda w, r: {"to": "in_progress", "version": 1}),
    Case("comment", "POST", WRITE, lambda w, r: f"/api/v1/tickets/{tid(w, r)}/comments",
         lambda w, r: {"body": "note"}, ok=201),
]


def expected(case: Case, role: Role, scope: Scope, relation: str) -> int:
    if case.permission not in ROLE_PERMISSIONS[role]:
        return 403
    if case.target == "list" or in_scope(scope, relation):
        return case.ok
    return 404


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_ticket_matrix(role: Role, session, connection, client):
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
                                        f"{r.status_code}, expected {want}")
                    elif case.target == "list" and r.status_code == 200:
                        ids = {t["id"] for t in r.get_json()["items"]}
                        if (tid(world, relation) in ids) != in_scope(scope, relation):
                            failures.append(f"list {role}/{scope}/{relation}: wrong")
                finally:
                    savepoint.rollback()
    assert not failures, "\n".join(failures)


def test_unauthenticated_callers_get_401(client, session):
    world = build_world(session, Role.ADMIN, Scope.ALL)
    for case in CASES:
        r = client.open(case.url(world, "owned"), method=case.method,
                        json=case.body(world, "owned") if case.body else None)
        assert r.status_code == 401, case.name
