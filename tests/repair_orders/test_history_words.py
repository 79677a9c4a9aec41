"""A repair order's and a ticket's history in words: what the system notes is kept as a
code with parameters (``system_note``) and worded for each reader, in Chinese or English,
with names instead of ids and amounts as the pages show money; the API gives the code,
its values as stored and the same words. Rows written as text before that (by an older
version) are converted by migration 0015, and its downgrade writes the text back. Both
databases."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from api_helpers import assert_schema, bearer
from orders_support import make_customer, make_product, make_ticket, put_in, raise_for
from sqlalchemy import text as sql
from sqlalchemy.orm import Session
from webtools import get_token, login, text

from callcenter.customers.merge import merge_customers
from callcenter.db import make_engine
from callcenter.migrate import alembic_config, upgrade
from callcenter.users.models import Role, Scope, User
from repairs.history import order_history
from repairs.models import RepairOrderHistory, RepairStatus
from repairs.orders import record_work
from repairs.transitions import move_order
from tickets.comments import add_comment
from tickets.history import ticket_history

S = RepairStatus
BILL_TO = "华通开票中心有限公司"


@pytest.fixture
def admin(make_user):
    user = make_user("admin", username="finance", scope="all", token=True)
    user.display_name = "刘会计"
    return user


@pytest.fixture
def rules(settings):
    return replace(settings, repair_labour_rate=Decimal("800.00"))


@pytest.fixture
def settled(session, admin, rules):
    """A paid order (warranty ended) settled at 2,000.00, billed to a partner."""
    customer = _named(session, admin, "华通汽车运输有限公司")
    customer.bill_to_id = _named(session, admin, BILL_TO).id
    order = raise_for(session, admin, rules, customer=customer,
                      warranty_end=date(2020, 1, 1))
    record_work(session, admin, order, version=order.version, labour_hours="2.5")
    put_in(session, order, S.INSPECTION)
    move_order(session, admin, order, to=S.SETTLEMENT, version=order.version, settings=rules)
    session.flush()
    return order


def _named(session, owner, name: str):
    customer = make_customer(session, owner)
    customer.name = name
    session.flush()
    return customer


def _in_chinese(client) -> None:
    client.post("/language", data={"locale": "zh_CN",
                                   "csrf_token": get_token(client, "/customers/")})


def _history_text(page: str) -> str:
    found = re.search(r'<section class="card" id="history".*?</section>', page, re.S)
    assert found, "no history on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_the_settlement_is_kept_as_a_code_and_shown_in_the_readers_words(
        client, session, admin, settled):
    row = [h for h in order_history(session, settled.id) if h.field == "settlement"][-1]
    customer_id = settled.customer_id
    assert row.note == ""
    assert row.system_note == ["repair.history.settlement", {
        "payable_by_customer": "2000.00", "bill_to_id": settled.bill_to_id,
        "payer_id": customer_id}]
    payer = "华通汽车运输有限公司"

    assert login(client, "finance", language="en").status_code == 302
    en = _history_text(text(client.get(f"/repairs/{settled.id}")))
    assert f"Payable by customer: 2,000.00; billed to: {BILL_TO}; payer: {payer}" in en
    assert "Settlement" in en and "2,000.00" in en
    assert "Raised from service request #" in en
    assert "The warranty had ended before the reference date" in en
    assert "刘会计" in en
    assert "payable_by_customer" not in en and "bill_to" not in en

    _in_chinese(client)
    zh = _history_text(text(client.get(f"/repairs/{settled.id}")))
    assert f"客户承担：2,000.00；开票给：{BILL_TO}；付款方：{payer}" in zh
    assert "由服务请求 #" in zh and "基准日前保修已到期" in zh
    assert "Payable" not in zh


def test_the_api_gives_the_code_the_values_and_the_words(client, session, admin, settled):
    url = f"/api/v1/repair-orders/{settled.id}/history"
    r = client.get(url, headers={**bearer(admin), "Accept-Language": "en"})
    assert r.status_code == 200, r.get_data(True)
    body = r.get_json()
    assert_schema(body, "RepairOrderHistory")
    item = [i for i in body["items"] if i["field"] == "settlement"][-1]
    assert item["note"] == "" and item["new_value"] == "2000.00"
    assert item["system_note"] == {"code": "repair.history.settlement", "params": {
        "payable_by_customer": "2000.00", "bill_to_id": settled.bill_to_id,
        "payer_id": settled.customer_id}}
    assert item["display"]["new"] == "2,000.00"
    assert item["display"]["who"] == "刘会计"
    assert item["display"]["system_note"].startswith(
        f"Payable by customer: 2,000.00; billed to: {BILL_TO}; payer: ")
    zh = client.get(url, headers={**bearer(admin), "Accept-Language": "zh-CN"}).get_json()
    item = [i for i in zh["items"] if i["field"] == "settlement"][-1]
    assert item["display"]["system_note"].startswith(f"客户承担：2,000.00；开票给：{BILL_TO}；")
    assert item["display"]["what"] == "维修结算"


def test_a_bill_to_outside_the_readers_scope_is_shown_by_its_number(
        client, session, make_user, rules):
    # The reader sees the order (theirs), not the partner billed for it.
    reader = make_user("technician", username="tech", scope="own", token=True)
    other = make_user("agent", username="other", scope="own")
    customer = make_customer(session, reader)
    partner = make_customer(session, other)
    customer.bill_to_id = partner.id
    admin = make_user("admin", scope="all")
    order = raise_for(session, admin, rules, customer=customer, warranty_end=date(2020, 1, 1))
    order.technician_id = reader.id     # the reader's own job: in their scope
    put_in(session, order, S.INSPECTION)
    move_order(session, admin, order, to=S.SETTLEMENT, version=order.version, settings=rules)
    session.flush()
    r = client.get(f"/api/v1/repair-orders/{order.id}/history",
                   headers={**bearer(reader), "Accept-Language": "en"})
    assert r.status_code == 200, r.get_data(True)
    item = [i for i in r.get_json()["items"] if i["field"] == "settlement"][-1]
    assert f"billed to: Customer no. {partner.id} (outside your access)" in \
        item["display"]["system_note"]
    assert partner.name not in str(r.get_json())


def test_a_merge_and_a_comment_on_a_ticket_are_in_words(client, session, admin, rules):
    survivor = _named(session, admin, "华通汽车")
    merged = _named(session, admin, "华通汽车（重复）")
    product = make_product(session, merged)
    ticket = make_ticket(session, merged, admin, product=product)
    order = raise_for(session, admin, rules, customer=merged, product=product, ticket=ticket)
    add_comment(session, admin, ticket, "请带密封圈", internal=True, settings=rules)
    merge_customers(session, admin, survivor, merged)
    session.flush()
    moved = [h for h in ticket_history(session, ticket.id) if h.field == "customer_id"][-1]
    assert (moved.note, moved.system_note) == ("", ["history.customers_merged", {}])

    assert login(client, "finance", language="zh_CN").status_code == 302
    page = text(client.get(f"/tickets/{ticket.id}"))
    history = page[page.index('id="history"'):]
    assert "客户已合并" in history and "华通汽车（重复）" in history
    assert "内部备注" in history and "internal" not in history
    assert "customers merged" not in history
    page = _history_text(text(client.get(f"/repairs/{order.id}")))
    assert "客户已合并" in page and "华通汽车（重复） → 华通汽车" in page

    r = client.get(f"/api/v1/tickets/{ticket.id}/history",
                   headers={**bearer(admin), "Accept-Language": "en"})
    body = r.get_json()
    assert_schema(body, "TicketHistory")
    item = [i for i in body["items"] if i["field"] == "customer_id"][-1]
    assert item["old_value"] == str(merged.id) and item["new_value"] == str(survivor.id)
    assert item["system_note"] == {"code": "history.customers_merged", "params": {}}
    assert item["display"] == {"who": "system", "what": "Customer",
                               "old": "华通汽车（重复）", "new": "华通汽车",
                               "system_note": "Customers merged"}


def test_a_row_an_older_version_wrote_as_text_still_reads_in_words(client, session, admin,
                                                                  settled):
    # A process still running the old code during the upgrade writes the old text.
    session.add(RepairOrderHistory(
        order_id=settled.id, user_id=None, field="settlement", new_value="12.00",
        note=f"payable_by_customer 12.00; bill_to {settled.bill_to_id}; payer "
             f"{settled.customer_id}"))
    session.flush()
    assert login(client, "finance", language="en").status_code == 302
    page = _history_text(text(client.get(f"/repairs/{settled.id}")))
    assert f"Payable by customer: 12.00; billed to: {BILL_TO}; payer: 华通汽车运输有限公司" \
        in page
    assert "payable_by_customer" not in page and "“" not in page


# --- rows written as text by an older version: migration 0015 -------------------------------

@pytest.fixture
def database(fresh_database, backend):
    return fresh_database.create(backend)


def test_the_migration_turns_old_texts_into_codes_and_back(database, rules):
    engine = make_engine(database)
    try:
        with Session(engine) as db:
            user = User(username="migrator", password_hash="-", role=Role.ADMIN,
                        scope=Scope.ALL)
            db.add(user)
            db.flush()
            customer = make_customer(db, user)
            order = raise_for(db, user, rules, customer=customer)
            put_in(db, order, S.INSPECTION)
            move_order(db, user, order, to=S.SETTLEMENT, version=order.version,
                       settings=rules)
            ids = {"order": order.id, "ticket": order.ticket_id, "customer": customer.id}
            db.commit()
        # Back to before codes: the texts the older version wrote.
        command.downgrade(alembic_config(database), "0014")
        with engine.begin() as db:
            notes = dict(db.execute(sql(
                "SELECT field, note FROM repair_order_history WHERE order_id = :o"),
                {"o": ids["order"]}).all())
            assert notes["settlement"] == (f"payable_by_customer 0.00; bill_to "
                                           f"{ids['customer']}; payer {ids['customer']}")
            assert notes["created"] == f"ticket {ids['ticket']}"
            assert notes["in_warranty"] == "covered"
            # What else an older version wrote, and a person's own note that stays.
            for field, note in (("escalation_level",
                                 "escalation: warn at 80% of the first_response target"),
                                ("customer_id", "customers merged"),
                                ("comment", "escalation: call me back")):
                db.execute(sql("INSERT INTO ticket_history (ticket_id, field, new_value, "
                               "note, changed_at) VALUES (:t, :f, '1', :n, "
                               "CURRENT_TIMESTAMP)"), {"t": ids["ticket"], "f": field,
                                                       "n": note})
        upgrade(database)
        with Session(engine) as db:
            repair = {h.field: (h.note, h.system_note)
                      for h in order_history(db, ids["order"])}
            ticket = {h.field: (h.note, h.system_note)
                      for h in ticket_history(db, ids["ticket"])}
    finally:
        engine.dispose()
    assert repair["settlement"] == ("", ["repair.history.settlement", {
        "payable_by_customer": "0.00", "bill_to_id": ids["customer"],
        "payer_id": ids["customer"]}])
    assert repair["created"] == ("", ["repair.history.from_ticket",
                                      {"ticket_id": ids["ticket"]}])
    assert repair["in_warranty"] == ("", ["repair.rule.covered", {}])
    assert ticket["escalation_level"] == ("", ["ticket.escalation.warn",
                                               {"p": 80, "target": "first_response"}])
    assert ticket["customer_id"] == ("", ["history.customers_merged", {}])
    assert ticket["comment"] == ("escalation: call me back", None)
