"""User administration: /admin/users (list, new, edit, API token) and update_user.

Admins only (Permission.USER_MANAGE). CSRF stays enabled: every POST carries a token
fetched from a rendered page. Runs on SQLite and PostgreSQL like every database test.
"""

from __future__ import annotations

import html

import pytest
from markupsafe import escape
from sqlalchemy import func, select
from webtools import get_token, login, post, text

from callcenter.users.admin import UserFieldError, update_user
from callcenter.users.models import Department, Role, Scope, User
from callcenter.users.services import UserError, authenticate, user_for_token

HOSTILE = '<script>alert("x")</script>&<b>'


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root", department="IT")


@pytest.fixture
def as_admin(client, admin):
    assert login(client, "root").status_code == 302
    return client


def fresh(session, user: User) -> User:
    session.expire_all()
    return session.get(User, user.id)


def edit_data(user: User, **changes) -> dict:
    """The edit form as the page would post it for ``user``, with ``changes``."""
    data = {"display_name": user.display_name, "role": user.role.value,
            "scope": user.scope.value, "department": "", "interface": user.interface or "",
            "locale": user.locale}
    if user.active:
        data["active"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def field_error(page: str, field: str) -> str:
    """The text of the error shown next to ``field`` (empty if there is none)."""
    marker = f'id="{field}-error"'
    if marker not in page:
        return ""
    start = page.index(marker)
    return html.unescape(page[start:page.index("</p>", start)])


def edit(client, user: User, **changes):
    return post(client, f"/admin/users/{user.id}/edit", edit_data(user, **changes),
                token_from=f"/admin/users/{user.id}/edit")


# --- permission matrix ------------------------------------------------------------------

ACTORS = ["agent", "technician", "supervisor", "admin", "anonymous"]
ROUTES = ["list", "new form", "edit form", "create", "edit", "token"]


def _request(client, route: str, target: User, token: str, serial: int):
    """Send ``route``'s request; returns (response, check() -> did the write happen?)."""
    if route == "list":
        return client.get("/admin/users?q=matrix"), None
    if route == "new form":
        return client.get("/admin/users/new"), None
    if route == "edit form":
        return client.get(f"/admin/users/{target.id}/edit"), None
    if route == "create":
        name = f"matrix-new-{serial}"
        response = client.post("/admin/users/new", data={
            "csrf_token": token, "username": name, "password": "long enough pw",
            "role": "agent", "scope": "", "locale": "en", "active": "y"})
        return response, lambda s: s.scalar(select(func.count()).select_from(User)
                                            .where(User.username == name)) == 1
    if route == "edit":
        name = f"Renamed {serial}"
        response = client.post(f"/admin/users/{target.id}/edit", data={
            "csrf_token": token, **edit_data(target, display_name=name)})
        return response, lambda s: s.get(User, target.id).display_name == name
    if route == "token":
        before = target.api_token_hash
        response = client.post(f"/admin/users/{target.id}/token", data={"csrf_token": token})
        return response, lambda s: s.get(User, target.id).api_token_hash != before
    raise AssertionError(route)


def expected(actor: str, route: str) -> int:
    if actor == "anonymous":
        return 302  # to the login page
    if actor != "admin":
        return 403
    return 302 if route in ("create", "edit") else 200


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(client, session, make_user, actor):
    target = make_user("agent", username="matrix-target")
    if actor == "anonymous":
        token = get_token(client, "/login")
    else:
        make_user(actor, username="actor")
        assert login(client, "actor").status_code == 302
        token = get_token(client, "/customers/")
    failures = []
    for serial, route in enumerate(ROUTES):
        response, check = _request(client, route, target, token, serial)
        want = expected(actor, route)
        if response.status_code != want:
            failures.append(f"{route}: {response.status_code} != {want}")
        elif actor == "anonymous" and not response.headers["Location"].startswith("/login"):
            failures.append(f"{route}: not sent to the login page")
        if check is not None:
            session.expire_all()
            if check(session) != (actor == "admin"):
                failures.append(f"{route}: write effect wrong")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["agent", "technician", "supervisor", "admin"])
def test_nav_link_for_admins_only(client, make_user, role):
    make_user(role, username="viewer")
    login(client, "viewer")
    page = text(client.get("/customers/"))
    assert ('href="/admin/users"' in page) == (role == "admin")


def test_unknown_user_is_404(as_admin):
    assert as_admin.get("/admin/users/999999/edit").status_code == 404
    response = post(as_admin, "/admin/users/999999/token", token_from="/admin/users")
    assert response.status_code == 404


def test_writes_without_csrf_token_are_refused(as_admin, session, make_user):
    target = make_user("agent", username="nocsrf", interface="PJSIP/2001")
    before = target.api_token_hash
    response = as_admin.post(f"/admin/users/{target.id}/edit",
                             data=edit_data(target, display_name="Changed", interface=""))
    assert response.status_code == 400
    response = as_admin.post("/admin/users/new", data={
        "username": "nocsrf-new", "password": "long enough pw", "role": "agent"})
    assert response.status_code == 400
    assert as_admin.post(f"/admin/users/{target.id}/token").status_code == 400
    response = as_admin.post(f"/admin/users/{target.id}/token", data={"csrf_token": "forged"})
    assert response.status_code == 400
    user = fresh(session, target)
    assert user.display_name == "nocsrf" and user.interface == "PJSIP/2001"
    assert user.api_token_hash == before
    assert session.scalar(select(User.id).where(User.username == "nocsrf-new")) is None


# --- the list -------------------------------------------------------------------------------

def test_list_shows_every_column_and_searches(as_admin, make_user, session):
    wang = make_user("agent", username="wang.li", department="Service/Beijing",
                     interface="Local/agent1@agents/n")
    wang.display_name = "王丽 Wang"
    other = make_user("technician", username="zhao", scope="own")
    other.active = False
    session.flush()
    page = text(as_admin.get("/admin/users"))
    for needle in ("wang.li", "王丽 Wang", "Agent", "Service/Beijing",
                   "Local/agent1@agents/n", "zhao", "Technician", "Own customers",
                   "Deactivated", "root", "All customers"):
        assert needle in page, needle

    for q in ("WANG.L", "王丽", "wang"):
        page = text(as_admin.get("/admin/users", query_string={"q": q}))
        assert "wang.li" in page and "zhao" not in page, q
    page = text(as_admin.get("/admin/users", query_string={"q": "%"}))
    assert "No user matches" in page  # LIKE wildcards are matched literally


def test_list_in_chinese(as_admin):
    post(as_admin, "/language", {"locale": "zh_CN"})
    page = text(as_admin.get("/admin/users"))
    assert 'lang="zh-CN"' in page
    assert "用户" in page and "新建用户" in page and "PBX 接口" in page and "全部客户" in page


# --- editing the interface --------------------------------------------------------------

@pytest.mark.parametrize("typed,stored", [
    ("PJSIP/1001", "PJSIP/1001"),
    ("  PJSIP/1002\t ", "PJSIP/1002"),
    ("Local/agent1@agents/n", "Local/agent1@agents/n"),
    ("SIP/10.0.0.5:5060", "SIP/10.0.0.5:5060"),
    ("IAX2/trunk_1;x", "IAX2/trunk_1;x"),
    ("DAHDI/g1/+8613812345678#*", "DAHDI/g1/+8613812345678#*"),
])
def test_edit_interface_valid(as_admin, session, make_user, typed, stored):
    agent = make_user("agent", username="agent-if")
    response = edit(as_admin, agent, interface=typed)
    assert response.status_code == 302, field_error(text(response), "interface")
    assert fresh(session, agent).interface == stored
    assert stored in text(as_admin.get("/admin/users"))


@pytest.mark.parametrize("typed,message", [
    ("PJSIP/10 01", "Must not contain spaces"),
    ("PJSIP/10\u300001", "Must not contain spaces"),  # the ideographic space too
    ("PJSIP/1001\x07", "control characters"),
    ("PJSIP/1001,PJSIP/1002", "“,” cannot be part of a PBX interface"),
    ('PJSIP/"1001"', "“\"” cannot be part"),
    ("PJSIP/'1001'", "“'” cannot be part"),
    ("PJSIP/<1001>", "“<” cannot be part"),
    ("PJSIP/座席1", "“座” cannot be part"),
    ("1001", "TECHNOLOGY/resource"),
    ("PJSIP/", "TECHNOLOGY/resource"),
    ("/1001", "TECHNOLOGY/resource"),
    ("PJSIP/" + "1" * 115, "At most 120 characters"),
])
def test_edit_interface_invalid(as_admin, session, make_user, typed, message):
    agent = make_user("agent", username="agent-bad", interface="PJSIP/3001")
    response = edit(as_admin, agent, interface=typed, display_name="Not saved")
    assert response.status_code == 422
    page = text(response)
    assert message in field_error(page, "interface"), field_error(page, "interface")
    assert 'aria-invalid="true"' in page
    user = fresh(session, agent)
    assert user.interface == "PJSIP/3001" and user.display_name == "agent-bad"


def test_edit_interface_120_characters_is_fine(as_admin, session, make_user):
    agent = make_user("agent", username="agent-long")
    interface = "PJSIP/" + "1" * 114
    assert edit(as_admin, agent, interface=interface).status_code == 302
    assert fresh(session, agent).interface == interface


def test_edit_interface_duplicate_names_its_owner(as_admin, session, make_user):
    owner = make_user("agent", username="li.na", interface="PJSIP/1001")
    owner.display_name = "李娜"
    session.flush()
    agent = make_user("agent", username="agent-dup")
    response = edit(as_admin, agent, interface=" PJSIP/1001 ")
    assert response.status_code == 422
    assert field_error(text(response), "interface").strip().endswith(
        "PJSIP/1001 already belongs to 李娜 (li.na); an interface can belong to one "
        "user only.")
    assert fresh(session, agent).interface is None

    # The user keeping their own interface is no duplicate.
    assert edit(as_admin, owner, interface="PJSIP/1001", locale="en").status_code == 302
    assert fresh(session, owner).locale == "en"


def test_duplicate_message_in_chinese(as_admin, session, make_user):
    make_user("agent", username="li.na", interface="PJSIP/1001")
    agent = make_user("agent", username="agent-zh")
    post(as_admin, "/language", {"locale": "zh_CN"})
    response = edit(as_admin, agent, interface="PJSIP/1001")
    assert response.status_code == 422
    assert "PJSIP/1001 已属于 li.na" in field_error(text(response), "interface")


@pytest.mark.parametrize("typed", ["", "   "])
def test_edit_interface_clear(as_admin, session, make_user, typed):
    agent = make_user("agent", username="agent-clear", interface="PJSIP/4001")
    assert edit(as_admin, agent, interface=typed).status_code == 302
    assert fresh(session, agent).interface is None
    # Now free for someone else.
    other = make_user("agent", username="agent-next")
    assert edit(as_admin, other, interface="PJSIP/4001").status_code == 302


def test_edit_page_explains_the_bridge_delay(as_admin, make_user):
    agent = make_user("agent", username="agent-help", interface="PJSIP/5001")
    page = text(as_admin.get(f"/admin/users/{agent.id}/edit"))
    assert 'value="PJSIP/5001"' in page
    assert "re-reads interfaces every 30 seconds" in page


# --- editing the other fields ------------------------------------------------------------

def test_edit_role_scope_department_locale_active(as_admin, session, make_user):
    agent = make_user("agent", username="agent-all")
    response = edit(as_admin, agent, display_name="  New Name ", role="supervisor",
                    scope="all", department=" Service / Shanghai ", locale="en", active=None)
    assert response.status_code == 302
    user = fresh(session, agent)
    assert (user.display_name, user.role, user.scope, user.locale, user.active) == \
        ("New Name", Role.SUPERVISOR, Scope.ALL, "en", False)
    dept = session.get(Department, user.department_id)
    assert dept.name == "Shanghai" and session.get(Department, dept.parent_id).name == "Service"
    page = text(as_admin.get(f"/admin/users/{agent.id}/edit"))
    assert 'value="Service/Shanghai"' in page
    # A deactivated user cannot log in any more.
    assert authenticate(session, "agent-all", "correct horse battery") is None

    assert edit(as_admin, user, department="", active="y").status_code == 302
    user = fresh(session, agent)
    assert user.department_id is None and user.active


def test_edit_email_for_escalation_notices(as_admin, session, make_user):
    agent = make_user("agent", username="agent-mail")
    assert edit(as_admin, agent, email=" li.na@example.com ").status_code == 302
    assert fresh(session, agent).email == "li.na@example.com"
    assert 'value="li.na@example.com"' in text(as_admin.get(f"/admin/users/{agent.id}/edit"))
    # A header smuggled into the address is refused, the stored one kept.
    for bad in ("a@b.c\r\nBcc: x@evil.example", "not an address", "a b@example.com"):
        response = edit(as_admin, agent, email=bad)
        assert response.status_code == 422, bad
        assert "name@example.com" in text(response)
    assert fresh(session, agent).email == "li.na@example.com"
    assert edit(as_admin, agent, email="").status_code == 302
    assert fresh(session, agent).email is None


def test_admin_cannot_demote_or_deactivate_themselves(as_admin, session, admin):
    response = edit(as_admin, admin, role="supervisor")
    assert response.status_code == 422
    assert "cannot take the administrator role from yourself" in \
        field_error(text(response), "role")
    response = edit(as_admin, admin, active=None)
    assert response.status_code == 422
    assert "cannot deactivate your own account" in field_error(text(response), "active")
    user = fresh(session, admin)
    assert user.role == Role.ADMIN and user.active
    # Other changes to oneself are fine.
    assert edit(as_admin, admin, display_name="The Root", interface="PJSIP/9000") \
        .status_code == 302
    assert fresh(session, admin).display_name == "The Root"


def test_admin_can_demote_another_admin(as_admin, session, make_user):
    other = make_user("admin", username="root2")
    assert edit(as_admin, other, role="agent", scope="department").status_code == 302
    assert fresh(session, other).role == Role.AGENT


def test_bad_choices_are_refused(as_admin, session, make_user):
    agent = make_user("agent", username="agent-choice")
    assert edit(as_admin, agent, role="root").status_code == 422
    assert edit(as_admin, agent, scope="everything").status_code == 422
    assert edit(as_admin, agent, locale="fr").status_code == 422
    assert fresh(session, agent).role == Role.AGENT


# --- creating -------------------------------------------------------------------------------

def new_user(client, **fields):
    data = {"username": "new.agent", "password": "long enough pw", "role": "agent",
            "scope": "", "department": "", "interface": "", "display_name": "",
            "locale": "zh_CN", "active": "y", **fields}
    return post(client, "/admin/users/new", {k: v for k, v in data.items() if v is not None},
                token_from="/admin/users/new")


def test_create_user(as_admin, session):
    response = new_user(as_admin, username=" zhang.wei ", display_name="张伟", role="agent",
                        department="Service/Beijing", interface=" PJSIP/1101 ")
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.username == "zhang.wei"))
    assert response.headers["Location"] == f"/admin/users/{user.id}/edit"
    assert (user.display_name, user.role, user.scope, user.interface, user.active) == \
        ("张伟", Role.AGENT, Scope.DEPARTMENT, "PJSIP/1101", True)
    assert session.get(Department, user.department_id).name == "Beijing"
    assert authenticate(session, "zhang.wei", "long enough pw").id == user.id
    assert "User zhang.wei created." in text(as_admin.get(response.headers["Location"]))


def test_create_user_reports_every_problem(as_admin, session, make_user):
    make_user("agent", username="taken", interface="PJSIP/1201")
    response = new_user(as_admin, username="taken", password="short",
                        interface="PJSIP/1201")
    assert response.status_code == 422
    page = text(response)
    assert "taken already exists" in field_error(page, "username")
    assert "At least 10 characters" in field_error(page, "password")
    assert "already belongs to taken" in field_error(page, "interface")
    response = new_user(as_admin, username="bad name", interface="PJSIP/1 2")
    assert response.status_code == 422
    assert "spaces" in field_error(text(response), "username")
    assert "spaces" in field_error(text(response), "interface")
    assert session.scalar(select(func.count()).select_from(User)) == 2


def test_create_inactive_user_with_chosen_scope(as_admin, session):
    assert new_user(as_admin, username="quiet", role="technician", scope="all",
                    active=None).status_code == 302
    user = session.scalar(select(User).where(User.username == "quiet"))
    assert user.scope == Scope.ALL and not user.active


# --- API token --------------------------------------------------------------------------------

def test_issue_api_token_is_shown_once(as_admin, session, make_user):
    agent = make_user("agent", username="api-agent", token=True)
    old = agent.plain_token
    response = post(as_admin, f"/admin/users/{agent.id}/token",
                    token_from=f"/admin/users/{agent.id}/edit")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = text(response)
    start = page.index("data-api-token>") + len("data-api-token>")
    token = html.unescape(page[start:page.index("</code>", start)])
    assert len(token) >= 40
    session.expire_all()
    assert user_for_token(session, token).id == agent.id
    assert user_for_token(session, old) is None
    # The API takes it.
    api = as_admin.application.test_client()
    response = api.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    # Never shown again.
    assert token not in text(as_admin.get(f"/admin/users/{agent.id}/edit"))
    assert token not in text(as_admin.get("/admin/users"))


# --- escaping ---------------------------------------------------------------------------------

def test_hostile_names_are_escaped(as_admin, session, make_user):
    villain = make_user("agent", username=HOSTILE + "u", interface="PJSIP/6666")
    villain.display_name = HOSTILE
    session.flush()
    escaped = str(escape(HOSTILE))
    for url in ("/admin/users", f"/admin/users/{villain.id}/edit",
                "/admin/users?q=" + "script"):
        page = text(as_admin.get(url))
        assert "<script>alert" not in page, url
        assert "<b>" not in page, url
        assert escaped in page, url
    # In a message naming the owner of a taken interface.
    agent = make_user("agent", username="plain")
    response = edit(as_admin, agent, interface="PJSIP/6666")
    page = text(response)
    assert response.status_code == 422 and "<script>alert" not in page
    assert "already belongs to" in field_error(page, "interface")
    assert HOSTILE in field_error(page, "interface")  # there, once unescaped
    # On the token page.
    page = text(post(as_admin, f"/admin/users/{villain.id}/token", token_from="/admin/users"))
    assert "<script>alert" not in page and "<b>" not in page
    # And typed into the form.
    response = edit(as_admin, agent, display_name=HOSTILE, department=HOSTILE)
    assert response.status_code == 302
    page = text(as_admin.get("/admin/users"))
    assert "<script>alert" not in page and "<b>" not in page


# --- the business function itself ----------------------------------------------------------

def test_update_user_errors_name_the_field(session, make_user):
    root = make_user("admin", username="svc-root")
    agent = make_user("agent", username="svc-agent")
    with pytest.raises(UserFieldError) as info:
        update_user(session, root, agent, {"interface": "PJSIP/1 1", "locale": "xx"})
    assert isinstance(info.value, UserError)
    assert info.value.field == "interface" and "spaces" in info.value.message
    assert [p.field for p in info.value.problems] == ["interface", "locale"]
    with pytest.raises(UserFieldError) as info:
        update_user(session, root, agent, {"password_hash": "x"})
    assert info.value.field == "password_hash"
    with pytest.raises(PermissionError):
        update_user(session, agent, root, {"display_name": "hacked"})
    assert update_user(session, root, agent, {"interface": " SIP/7 ".replace(" ", "")}) \
        .interface == "SIP/7"
    # Only the keys given change; scope None is the (new) role's default.
    update_user(session, root, agent, {"role": "technician", "scope": None})
    assert (agent.role, agent.scope, agent.interface) == (Role.TECHNICIAN, Scope.RELATED,
                                                         "SIP/7")
