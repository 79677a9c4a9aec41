"""Every customer web route × every role × every scope × every relation to the record.

Expectations are computed, not copied: the role's permission comes from
ROLE_PERMISSIONS, visibility from the scope order (own ⊂ related ⊂ department ⊂ all).
Denied: 403 without the permission, else 404 outside the scope (as if the record did
not exist). Allowed: 200 for pages, 302 for writes. Every write is also checked in the
database: it happened exactly when it was allowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from webtools import get_token, login

from callcenter.customers.models import Address, Contact, Customer
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Role, Scope
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission

#: How the acting user relates to a customer, and the narrowest scope that sees it.
RELATIONS = {"own": Scope.OWN, "related": Scope.RELATED, "department": Scope.DEPARTMENT,
             "other": Scope.ALL}
SCOPE_ORDER = [Scope.OWN, Scope.RELATED, Scope.DEPARTMENT, Scope.ALL]


def visible(scope: Scope, relation: str) -> bool:
    return SCOPE_ORDER.index(scope) >= SCOPE_ORDER.index(RELATIONS[relation])


@dataclass
class Ctx:
    """What a case needs: the db session, the acting user, and a customer factory."""

    session: object
    user: object
    new_customer: Callable[[str], Customer]
    serials: itertools.count


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    permission: Permission
    scoped: bool
    #: (ctx, relation) -> (url, form data, check() -> did the write happen?)
    prepare: Callable


def _page(path: str):
    def prepare(ctx: Ctx, relation: str | None):
        customer = ctx.new_customer(relation) if relation else None
        return path.format(c=customer.id if customer else 0), None, None
    return prepare


def _create(ctx, _relation):
    name = f"Matrix new {next(ctx.serials)}"
    count = lambda: ctx.session.scalar(  # noqa: E731
        select(func.count()).select_from(Customer).where(Customer.name == name))
    return "/customers/new", {"name": name, "lifecycle": "current", "tier": "small"}, \
        lambda: count() == 1


def _edit(ctx, relation):
    c = ctx.new_customer(relation)
    name = f"Renamed {next(ctx.serials)}"
    data = {"name": name, "lifecycle": "current", "tier": "major",
            "responsible_id": str(c.responsible_id or ""),
            "department_id": str(c.department_id or "")}
    return f"/customers/{c.id}/edit", data, \
        lambda: ctx.session.get(Customer, c.id).name == name


def _contact(ctx, relation):
    c = ctx.new_customer(relation)
    name = f"Contact {next(ctx.serials)}"
    return f"/customers/{c.id}/contacts/new", {"name": name, "phones": "13812345678"}, \
        lambda: ctx.session.scalar(select(Contact.id).where(Contact.name == name)) is not None


def _address(ctx, relation):
    c = ctx.new_customer(relation)
    line = f"Road {next(ctx.serials)}"
    return f"/customers/{c.id}/addresses/new", \
        {"purpose": "main", "line": line, "country": "CN"}, \
        lambda: ctx.session.scalar(select(Address.id).where(Address.line == line)) is not None


def _product(ctx, relation):
    c = ctx.new_customer(relation)
    serial = f"MX-{next(ctx.serials)}"
    return f"/customers/{c.id}/products/new", \
        {"model": "M1", "serial_number": serial, "warranty_type": "standard"}, \
        lambda: ctx.session.scalar(select(InstalledProduct.id)
                                   .where(InstalledProduct.serial_number == serial)) is not None


def _with_product(ctx, relation):
    c = ctx.new_customer(relation)
    product = InstalledProduct(model="M2", serial_number=f"MP-{next(ctx.serials)}",
                               customer_id=c.id)
    ctx.session.add(product)
    ctx.session.flush()
    return c, product


def _assign_form(ctx, relation):
    c, product = _with_product(ctx, relation)
    return f"/customers/{c.id}/products/{product.id}/assign", None, None


def _assign(ctx, relation):
    c, product = _with_product(ctx, relation)
    target = ctx.new_customer("own")  # always within the actor's scope
    return f"/customers/{c.id}/products/{product.id}/assign", \
        {"new_customer_id": str(target.id)}, \
        lambda: ctx.session.get(InstalledProduct, product.id).customer_id == target.id


def _merge_form(ctx, relation):
    a, b = ctx.new_customer(relation), ctx.new_customer(relation)
    return f"/customers/merge?survivor_id={a.id}&merged_id={b.id}", None, None


def _merge(ctx, relation):
    a, b = ctx.new_customer(relation), ctx.new_customer(relation)
    return "/customers/merge", {"survivor_id": str(a.id), "merged_id": str(b.id)}, \
        lambda: ctx.session.get(Customer, b.id).merged_into_id == a.id


P = Permission
ROUTES = [
    Route("search", "GET", P.CUSTOMER_READ, False, _page("/customers/?q=Matrix")),
    Route("detail", "GET", P.CUSTOMER_READ, True, _page("/customers/{c}")),
    Route("history", "GET", P.CUSTOMER_READ, True, _page("/customers/{c}/history")),
    Route("create form", "GET", P.CUSTOMER_CREATE, False, _page("/customers/new")),
    Route("create", "POST", P.CUSTOMER_CREATE, False, _create),
    Route("edit form", "GET", P.CUSTOMER_UPDATE, True, _page("/customers/{c}/edit")),
    Route("edit", "POST", P.CUSTOMER_UPDATE, True, _edit),
    Route("contact form", "GET", P.CUSTOMER_UPDATE, True, _page("/customers/{c}/contacts/new")),
    Route("add contact", "POST", P.CUSTOMER_UPDATE, True, _contact),
    Route("address form", "GET", P.CUSTOMER_UPDATE, True,
          _page("/customers/{c}/addresses/new")),
    Route("add address", "POST", P.CUSTOMER_UPDATE, True, _address),
    Route("product form", "GET", P.PRODUCT_WRITE, True, _page("/customers/{c}/products/new")),
    Route("register product", "POST", P.PRODUCT_WRITE, True, _product),
    Route("assign form", "GET", P.PRODUCT_WRITE, True, _assign_form),
    Route("assign product", "POST", P.PRODUCT_WRITE, True, _assign),
    Route("duplicates", "GET", P.CUSTOMER_MERGE, False, _page("/customers/duplicates")),
    Route("merge form", "GET", P.CUSTOMER_MERGE, True, _merge_form),
    Route("merge", "POST", P.CUSTOMER_MERGE, True, _merge),
]


def expected_status(role: Role, scope: Scope, route: Route, relation: str | None) -> int:
    if route.permission not in ROLE_PERMISSIONS[role]:
        return 403
    if route.scoped and not visible(scope, relation):
        return 404
    return 302 if route.method == "POST" else 200


@pytest.fixture
def world(session, make_user):
    """Customers related to an actor in each way, made on demand."""
    creator = make_user("admin", username="matrix-admin")
    colleague = make_user("agent", username="matrix-colleague", department="Matrix/Team/Sub")
    stranger = make_user("agent", username="matrix-stranger", department="Elsewhere")
    from callcenter.customers.services import create_customer

    def factory(user):
        counter = itertools.count()

        def new_customer(relation: str) -> Customer:
            c = create_customer(session, creator, {"name": f"Matrix {relation} "
                                                           f"{next(counter)}"}, region="CN")
            c.responsible_id, c.department_id = stranger.id, stranger.department_id
            if relation == "own":
                c.responsible_id = user.id
            elif relation == "related":
                c.related_users = [user]
            elif relation == "department":
                c.responsible_id, c.department_id = colleague.id, colleague.department_id
            session.flush()
            return c
        return new_customer

    return factory


@pytest.mark.parametrize("role,scope", list(itertools.product(Role, Scope)),
                         ids=lambda v: v.value)
def test_access_matrix(client, session, make_user, world, role, scope):
    user = make_user(role.value, username="actor", scope=scope.value,
                     department="Matrix/Team")
    assert login(client, "actor").status_code == 302
    token = get_token(client, "/customers/")
    ctx = Ctx(session, user, world(user), itertools.count())
    failures = []
    for route in ROUTES:
        for relation in (RELATIONS if route.scoped else [None]):
            url, data, check = route.prepare(ctx, relation)
            if route.method == "POST":
                response = client.post(url, data={"csrf_token": token, **data})
            else:
                response = client.get(url)
            want = expected_status(role, scope, route, relation)
            if response.status_code != want:
                failures.append(f"{route.name} [{relation}]: {response.status_code} != {want}")
            if check is not None:
                session.expire_all()
                if check() != (want == 302):
                    failures.append(f"{route.name} [{relation}]: write effect wrong")
    assert not failures, "\n".join(failures)


def test_anonymous_is_sent_to_login_everywhere(client, session, make_user, world):
    token = get_token(client, "/login")
    ctx = Ctx(session, None, world(make_user("agent", username="someone")), itertools.count())
    for route in ROUTES:
        url, data, check = route.prepare(ctx, "own" if route.scoped else None)
        if route.method == "POST":
            response = client.post(url, data={"csrf_token": token, **data})
        else:
            response = client.get(url)
        assert response.status_code == 302, route.name
        assert response.headers["Location"].startswith("/login"), route.name
        if check is not None:
            session.expire_all()
            assert not check(), route.name


def test_writes_without_csrf_token_are_refused(client, session, make_user, world):
    user = make_user("admin", username="actor")
    login(client, "actor")
    ctx = Ctx(session, user, world(user), itertools.count())
    for route in ROUTES:
        if route.method != "POST":
            continue
        url, data, check = route.prepare(ctx, "own" if route.scoped else None)
        assert client.post(url, data=data).status_code == 400, route.name
        session.expire_all()
        assert not check(), route.name
