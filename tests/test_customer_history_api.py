"""The customer history API gives each change as stored (``old_value``, ``new_value``,
unchanged for the tools that read them) and in words (``display``): names instead of
ids, in the reader's language, through the same resolver as the history page, in a
number of queries that does not grow with the rows. Both databases."""

from __future__ import annotations

import pytest
from api_helpers import assert_schema, bearer
from sqlalchemy import event

from callcenter.customers.history import record_changes
from callcenter.customers.ownership import reassign_customers
from callcenter.customers.services import add_contact, update_customer
from callcenter.users.models import Role, Scope, User
from callcenter.users.services import ensure_department


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="alice", scope="department",
                     department="Service/Beijing", token=True)


@pytest.fixture
def customer(agent, make_customer):
    return make_customer(agent, "北京华通汽车运输有限公司", phones=["13812345678"], tier="vip")


def _history(client, agent, customer, language: str) -> list[dict]:
    r = client.get(f"/api/v1/customers/{customer.id}/history?per_page=100",
                   headers={**bearer(agent), "Accept-Language": language})
    assert r.status_code == 200, r.get_data(True)
    body = r.get_json()
    assert_schema(body, "ChangePage")
    return body["items"]


def _by_field(items: list[dict]) -> dict[str, dict]:
    return {(i["entity"], i["field"]): i for i in items}


def test_each_change_is_given_as_stored_and_in_words(client, session, agent, customer,
                                                     make_user, make_customer):
    colleague = make_user("agent", username="bob", department="Service/Beijing")
    colleague.display_name = "王芳"
    fleet = make_customer(agent, "华通车队管理有限公司")
    outsider = make_user("agent", username="sh", department="Service/Shanghai")
    hidden = make_customer(outsider, "上海某公司")
    shanghai = ensure_department(session, "Service/Shanghai")
    update_customer(session, agent, customer, {
        "related_user_ids": [colleague.id], "ship_to_id": fleet.id,
        "department_id": shanghai.id, "tier": "major"}, region="CN")
    contact = add_contact(session, agent, customer, {"name": "张伟"}, region="CN")
    record_changes(session, customer.id, agent, "customer", customer.id, {
        "bill_to_id": (None, hidden.id), "responsible_id": (agent.id, 987654)})
    record_changes(session, customer.id, agent, "contact", contact.id,
                   {"position": ("", "经理")})
    update_customer(session, agent, customer, {"phones": ["13812345678", "010-62345678"]},
                    region="CN")
    session.flush()

    en = _by_field(_history(client, agent, customer, "en"))
    related = en[("customer", "related_user_ids")]
    # As stored, for the tools that read it ...
    assert (related["old_value"], related["new_value"]) == ("[]", f"[{colleague.id}]")
    # ... and in words.
    assert related["display"] == {"what": "Customer · Related employees", "subject": None,
                                  "old": None, "new": "王芳"}
    ship_to = en[("customer", "ship_to_id")]
    assert ship_to["new_value"] == str(fleet.id)
    assert ship_to["display"]["new"] == "华通车队管理有限公司"
    department = en[("customer", "department_id")]["display"]
    assert "Beijing" in department["old"] and "Shanghai" in department["new"]
    assert en[("customer", "tier")]["display"]["old"] == "VIP"
    assert en[("customer", "tier")]["display"]["new"] == "Major"
    # A customer outside the reader's scope: its number only; an id that points nowhere.
    assert en[("customer", "bill_to_id")]["display"]["new"] == \
        f"Customer no. {hidden.id} (outside your access)"
    responsible = en[("customer", "responsible_id")]["display"]
    assert (responsible["old"], responsible["new"]) == ("alice", "#987654 (deleted)")
    # What a change is about; phones as the pages show them.
    assert en[("contact", "position")]["display"]["subject"] == "张伟"
    assert en[("customer", "phones")]["display"]["new"] == "138 1234 5678, 010 6234 5678"
    body = str(en)
    assert "上海某公司" not in body

    zh = _by_field(_history(client, agent, customer, "zh-CN"))
    assert zh[("customer", "related_user_ids")]["display"]["what"] == "客户 · 相关员工"
    assert zh[("customer", "bill_to_id")]["display"]["new"] == \
        f"客户编号 {hidden.id}（超出您的查看范围）"
    assert zh[("customer", "responsible_id")]["display"]["new"] == "#987654（已删除）"
    assert zh[("customer", "phones")]["display"]["new"] == "138 1234 5678、010 6234 5678"
    assert zh[("customer", "tier")]["display"]["new"] != "Major"


def test_a_leavers_customers_handed_on_show_both_names(client, session, agent, customer,
                                                       make_user):
    leaver = make_user("agent", username="leaver", department="Service/Beijing")
    leaver.display_name = "李雷"
    successor = make_user("agent", username="successor", department="Service/Beijing")
    successor.display_name = "韩梅梅"
    admin = make_user("admin", username="boss", scope="all")
    update_customer(session, agent, customer, {"responsible_id": leaver.id,
                                               "related_user_ids": [leaver.id]}, region="CN")
    reassign_customers(session, admin, leaver, successor)
    session.flush()
    items = _history(client, agent, customer, "en")
    handed = [i["display"] for i in items if i["field"] == "related_user"]
    assert handed == [{"what": "Customer · Related employees", "subject": None,
                       "old": "李雷", "new": "韩梅梅"}]


def test_the_names_take_the_same_queries_for_5_or_50_rows(client, engine, session, agent,
                                                          customer, make_customer):
    editors: list[User] = []

    def fill(count: int) -> None:
        for n in range(count):
            user = User(username=f"apieditor{len(editors)}", display_name=f"编辑 {n}",
                        password_hash="-", role=Role.AGENT, scope=Scope.OWN)
            editors.append(user)
            session.add(user)
            session.flush()
            partner = make_customer(agent, f"伙伴 {len(editors)}")
            record_changes(session, customer.id, user, "customer", customer.id, {
                "responsible_id": (agent.id, user.id), "ship_to_id": (None, partner.id),
                "related_user_ids": ([], [user.id, agent.id])})
        session.flush()

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])   # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            _history(client, agent, customer, "en")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    fill(5)
    few = statements()
    fill(45)
    many = statements()
    assert many == few, (few, many)
    newest = _history(client, agent, customer, "en")[0]["display"]
    assert newest["new"] is not None and "伙伴" in str(_history(client, agent, customer, "en"))
