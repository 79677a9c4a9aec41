"""The access matrix: every customer/contact/product endpoint x every role x every scope.

Nothing here is a hand-copied table of outcomes. For each case the expected answer is
computed from two facts:
- what the role may do: ``ROLE_PERMISSIONS`` (callcenter.users.permissions) and the
  permission each endpoint needs by its meaning (``CASES`` below: reading needs
  customer.read, merging customer.merge, ...);
- which records the scope shows (domain.md section 7): own ⊂ related ⊂ department ⊂ all.
  The world holds one target customer (with a contact, an address and a product) in
  each relation to the caller: owned by them, them a related employee, owned in a
  sub-department of theirs, owned elsewhere.

Then: no permission -> 403 (whatever the record); record out of scope -> 404 when it is
in the URL (exactly like a missing one), 422 naming the field when it is in the body;
otherwise the endpoint's success status. Lists must contain the target exactly when it
is in scope. Denied writes must leave no trace in the change history.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from callcenter.customers.models import Address, ChangeRecord, Contact, Customer
from callcenter.customers.models import Phone as PhoneRow
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Role, Scope, User
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from callcenter.users.services import ensure_department, token_digest

#: Narrowest first; each scope sees everything the previous one sees (domain.md §7).
SCOPES = [Scope.OWN, Scope.RELATED, Scope.DEPARTMENT, Scope.ALL]
#: A target customer in each relation to the caller, and the narrowest scope that sees it.
RELATIONS = {"owned": Scope.OWN, "related": Scope.RELATED,
             "department": Scope.DEPARTMENT, "elsewhere": Scope.ALL}
ROLES = list(Role)


def in_scope(scope: Scope, relation: str) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(RELATIONS[relation])


# --- the world: one caller and one target per relation ----------------------------------

@dataclass
class World:
    caller: Any
    customers: dict[str, Customer] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    addresses: dict[str, Address] = field(default_factory=dict)
    products: dict[str, InstalledProduct] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    spare: Customer | None = None            # owned by the caller: visible to every scope
    spare_product: InstalledProduct | None = None


def _user(session, username: str, role: Role, scope: Scope, department) -> User:
    # Built directly (no argon2 hashing): the matrix needs hundreds of users quickly.
    token = secrets.token_urlsafe(16)
    user = User(username=username, password_hash="!", role=role, scope=scope,
                department_id=department.id, api_token_hash=token_digest(token))
    session.add(user)
    session.flush()
    user.plain_token = token
    return user


def build_world(session, role: Role, scope: Scope) -> World:
    home = ensure_department(session, "Matrix/Home")
    sub = ensure_department(session, "Matrix/Home/Sub")
    other = ensure_department(session, "Matrix/Other")
    caller = _user(session, "caller", role, scope, home)
    colleague = _user(session, "colleague", Role.AGENT, Scope.OWN, sub)
    stranger = _user(session, "stranger", Role.AGENT, Scope.OWN, other)
    world = World(caller=caller)
    owners = {"owned": (caller, other), "related": (stranger, other),
              "department": (colleague, sub), "elsewhere": (stranger, other)}
    for n, (relation, (owner, dept)) in enumerate(owners.items()):
        customer = Customer(name=f"Target {relation}", name_key=f"target{relation}",
                            responsible_id=owner.id, department_id=dept.id)
        if relation == "related":
            customer.related_users = [caller]
        session.add(customer)
        session.flush()
        world.phones[relation] = f"+86138000000{n:02d}"
        session.add(PhoneRow(customer_id=customer.id, raw=world.phones[relation],
                             e164=world.phones[relation]))
        world.customers[relation] = customer
        world.contacts[relation] = Contact(customer_id=customer.id, name=f"Contact {n}")
        world.addresses[relation] = Address(customer_id=customer.id, line=f"{n} Road")
        world.products[relation] = InstalledProduct(customer_id=customer.id, model="K9",
                                                    serial_number=f"SN-{relation}")
        session.add_all([world.contacts[relation], world.addresses[relation],
                         world.products[relation]])
    world.spare = Customer(name="Spare", name_key="spare", responsible_id=caller.id,
                           department_id=other.id)
    session.add(world.spare)
    session.flush()
    world.spare_product = InstalledProduct(customer_id=world.spare.id, model="K7",
                                           serial_number="SN-spare")
    session.add(world.spare_product)
    session.flush()
    return world


# --- the endpoints ------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    method: str
    rule: str                        # the url_map rule it exercises
    permission: Permission | None    # what the role needs, by the endpoint's meaning
    url: Callable[[World, str], str]
    body: Callable[[World, str], dict] | None = None
    ok: int = 200
    #: "path": the target is in the URL; "body": in the JSON body; "list": must be listed;
    #: "none": no target record (runs once, not per relation).
    target: str = "path"
    public: bool = False


C = "/api/v1/customers/<id:customer_id>"
READ, UPDATE = Permission.CUSTOMER_READ, Permission.CUSTOMER_UPDATE
PRODUCT, MERGE = Permission.PRODUCT_WRITE, Permission.CUSTOMER_MERGE


def cid(w, r):
    return w.customers[r].id


CASES = [
    Case("list customers by phone", "GET", "/api/v1/customers", READ,
         lambda w, r: f"/api/v1/customers?phone={w.phones[r][3:]}", target="list"),
    Case("list customers by serial", "GET", "/api/v1/customers", READ,
         lambda w, r: f"/api/v1/customers?serial=SN-{r}", target="list"),
    Case("create customer", "POST", "/api/v1/customers", Permission.CUSTOMER_CREATE,
         lambda w, r: "/api/v1/customers", lambda w, r: {"name": "New", "phones": []},
         ok=201, target="none"),
    Case("read customer", "GET", C, READ, lambda w, r: f"/api/v1/customers/{cid(w, r)}"),
    Case("update customer", "PATCH", C, UPDATE,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}", lambda w, r: {"name": "Renamed"}),
    Case("history", "GET", C + "/history", READ,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/history"),
    Case("list contacts", "GET", C + "/contacts", READ,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/contacts"),
    Case("add contact", "POST", C + "/contacts", UPDATE,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/contacts",
         lambda w, r: {"name": "Caller", "phones": ["13912345678"]}, ok=201),
    Case("update contact", "PATCH", "/api/v1/contacts/<id:contact_id>", UPDATE,
         lambda w, r: f"/api/v1/contacts/{w.contacts[r].id}",
         lambda w, r: {"position": "boss"}),
    Case("list addresses", "GET", C + "/addresses", READ,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/addresses"),
    Case("add address", "POST", C + "/addresses", UPDATE,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/addresses",
         lambda w, r: {"line": "2 Road"}, ok=201),
    Case("update address", "PATCH", "/api/v1/addresses/<id:address_id>", UPDATE,
         lambda w, r: f"/api/v1/addresses/{w.addresses[r].id}", lambda w, r: {"city": "X"}),
    Case("remove address", "DELETE", "/api/v1/addresses/<id:address_id>", UPDATE,
         lambda w, r: f"/api/v1/addresses/{w.addresses[r].id}", ok=204),
    Case("list products", "GET", "/api/v1/products", READ,
         lambda w, r: f"/api/v1/products?serial=SN-{r}", target="list"),
    Case("register product", "POST", "/api/v1/products", PRODUCT,
         lambda w, r: "/api/v1/products",
         lambda w, r: {"customer_id": cid(w, r), "model": "K9", "serial_number": "SN-new"},
         ok=201, target="body"),
    Case("read product", "GET", "/api/v1/products/<id:product_id>", READ,
         lambda w, r: f"/api/v1/products/{w.products[r].id}"),
    Case("update product", "PATCH", "/api/v1/products/<id:product_id>", PRODUCT,
         lambda w, r: f"/api/v1/products/{w.products[r].id}", lambda w, r: {"model": "K10"}),
    Case("assign target's product away", "POST", "/api/v1/products/<id:product_id>/assign",
         PRODUCT, lambda w, r: f"/api/v1/products/{w.products[r].id}/assign",
         lambda w, r: {"customer_id": w.spare.id}),
    Case("assign a product to target", "POST", "/api/v1/products/<id:product_id>/assign",
         PRODUCT, lambda w, r: f"/api/v1/products/{w.spare_product.id}/assign",
         lambda w, r: {"customer_id": cid(w, r)}, target="body"),
    Case("duplicates", "GET", C + "/duplicates", READ,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/duplicates"),
    Case("merge into target", "POST", C + "/merge", MERGE,
         lambda w, r: f"/api/v1/customers/{cid(w, r)}/merge",
         lambda w, r: {"merged_id": w.spare.id}),
    Case("merge target away", "POST", C + "/merge", MERGE,
         lambda w, r: f"/api/v1/customers/{w.spare.id}/merge",
         lambda w, r: {"merged_id": cid(w, r)}, target="body"),
    Case("who am I", "GET", "/api/v1/me", None, lambda w, r: "/api/v1/me", target="none"),
    Case("OpenAPI document", "GET", "/api/v1/openapi.json", None,
         lambda w, r: "/api/v1/openapi.json", target="none", public=True),
]


def expected(case: Case, role: Role, scope: Scope, relation: str | None) -> int:
    if case.permission is not None and case.permission not in ROLE_PERMISSIONS[role]:
        return 403
    if case.target in ("none", "list") or in_scope(scope, relation):
        return case.ok
    return 404 if case.target == "path" else 422


def _changes(session) -> int:
    return session.scalar(select(func.count()).select_from(ChangeRecord))


def check(case: Case, role: Role, scope: Scope, relation: str | None, world: World,
          session, client) -> str | None:
    """Run one cell of the matrix; a description of what went wrong, or None."""
    want = expected(case, role, scope, relation)
    before = _changes(session)
    r = client.open(case.url(world, relation), method=case.method,
                    json=case.body(world, relation) if case.body else None,
                    headers=bearer(world.caller))
    if r.status_code != want:
        return f"status {r.status_code}, expected {want}: {r.get_data(True)[:160]}"
    if r.status_code >= 400:
        error = r.get_json()["error"]
        if want == 422 and not any(k in error.get("fields", {})
                                   for k in ("customer_id", "merged_id")):
            return f"422 does not name the field: {error}"
        if case.method != "GET" and _changes(session) != before:
            return "a refused write left a change record"
    elif case.target == "list":
        ids = {item["id"] for item in r.get_json()["items"]}
        target = (world.customers[relation].id if "customers" in case.rule
                  else world.products[relation].id)
        if (target in ids) != in_scope(scope, relation):
            return f"listed={target in ids}, in scope={in_scope(scope, relation)}"
    return None


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_matrix(role: Role, session, connection, client):
    """One endpoint and role, for every scope and every target relation."""
    world = build_world(session, role, Scope.OWN)
    failures = []
    for case in CASES:   # one world per role: its build is most of the time
        for scope in SCOPES:
            world.caller.scope = scope  # same world, wider eyes
            session.flush()
            for relation in [None] if case.target == "none" else list(RELATIONS):
                savepoint = connection.begin_nested()  # each request sees the same world
                try:
                    problem = check(case, role, scope, relation, world, session, client)
                finally:
                    savepoint.rollback()
                if problem:
                    failures.append(f"{case.method} {case.name} as {role}/{scope} on "
                                    f"{relation}: {problem}")
    assert not failures, "\n".join(failures)


def test_unauthenticated_callers_get_401_everywhere_but_the_document(client, session):
    world = build_world(session, Role.ADMIN, Scope.ALL)
    for case in CASES:
        r = client.open(case.url(world, "owned"), method=case.method,
                        json=case.body(world, "owned") if case.body else None)
        assert r.status_code == (200 if case.public else 401), case.name


#: Endpoints whose access rules have matrices of their own: the call log
#: (tests/test_api_calls.py), the wallboard (tests/test_api_wallboard.py), SLA policies
#: and calendar days (tests/test_api_sla_policies.py: no records in scope, roles only) and
#: tickets (tests/test_access_matrix_tickets.py: the same method, the ticket scopes;
#: ticket types: tests/test_api_ticket_types.py, roles only; a user's own notices:
#: tests/test_escalation_notices.py); repair orders
#: (tests/repair_orders/test_access_matrix_repairs.py); stations, parts and stock
#: (tests/repair_orders/test_access_matrix_stock.py); the technician's phone
#: (tests/repair_orders/test_tech_sync.py: roles x the order's technician); the knowledge
#: base (tests/knowledge/test_access_matrix_kb.py: roles, drafts).
OTHER_MATRICES = ("/api/v1/kb/", "/api/v1/calls", "/api/v1/wallboard", "/api/v1/sla-policies",
                  "/api/v1/repair-orders", "/api/v1/tech/",
                  "/api/v1/calendar-days", "/api/v1/tickets", "/api/v1/ticket-types",
                  "/api/v1/notices",
                  "/api/v1/parts", "/api/v1/stations", "/api/v1/stock-movements")


def test_matrix_covers_every_customer_contact_product_rule(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/")
              and not rule.rule.startswith(OTHER_MATRICES)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(case.method, case.rule) for case in CASES}
    assert served - covered == set(), "endpoints missing from the matrix"
    assert covered - served == set(), "matrix cases for endpoints that do not exist"


def test_scope_table_matches_the_sql_scopes(session):
    """The matrix's notion of scope agrees with the query-level mechanism itself."""
    from callcenter.customers.services import customers_query
    for role in (Role.AGENT,):
        for scope in SCOPES:
            world = build_world(session, role, scope)
            seen = set(session.scalars(customers_query(world.caller).with_only_columns(
                Customer.id)))
            for relation, customer in world.customers.items():
                assert (customer.id in seen) == in_scope(scope, relation), (scope, relation)
            session.rollback()
