"""The caller card (the screen pop's payload): contents, limits, unknown and hostile callers,
the open-ticket hook, and how few queries it takes."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from test_calls import T0, finished, summary

from callcenter.calls.cards import caller_card
from callcenter.calls.recording import record_call
from callcenter.calls.services import save_wrapup
from callcenter.calls.signals import open_tickets_asked
from callcenter.customers.services import add_contact
from callcenter.products.models import InstalledProduct, WarrantyType

TODAY = date(2026, 12, 1)
AGENT_IF = "Local/agent1@agents/n"


@pytest.fixture
def agent(make_user):
    user = make_user("agent", username="agent1", interface=AGENT_IF)
    user.display_name = "王小明"
    return user


@pytest.fixture
def customer(session, agent, make_customer):
    c = make_customer(agent, "北京华通汽车有限公司", phones=["010-62345678"], tier="vip",
                      lifecycle="current")
    for n in range(7):
        add_contact(session, agent, c, {"name": f"联系人{n}", "position": f"P{n}",
                                        "phones": [f"1390000{n:04d}", f"1380000{n:04d}"]},
                    region="CN")
    add_contact(session, agent, c, {"name": "李伟", "position": "车队长",
                                    "phones": ["13812345678"]}, region="CN")
    ends = {"in_warranty": (WarrantyType.STANDARD, TODAY + timedelta(days=200)),
            "expiring": (WarrantyType.EXTENDED, TODAY + timedelta(days=10)),
            "expired": (WarrantyType.STANDARD, TODAY - timedelta(days=1)),
            "none": (WarrantyType.NONE, None),
            "contract": (WarrantyType.CONTRACT, TODAY),   # last covered day: expiring
            "no_end": (WarrantyType.STANDARD, None)}
    for key, (kind, end) in ends.items():
        session.add(InstalledProduct(customer_id=c.id, model=f"XC-{key}",
                                     serial_number=f"SN-{key}", warranty_type=kind,
                                     warranty_end=end))
    for n in range(6):
        session.add(InstalledProduct(customer_id=c.id, model="K9", serial_number=f"SN-k{n}"))
    session.flush()
    return c


def test_known_caller_by_customer_phone(session, customer, agent):
    card = caller_card(session, "(010) 6234-5678", "HUATONG", "CN", today=TODAY)
    assert card["caller"] == {"number": "(010) 6234-5678", "name": "HUATONG",
                              "e164": "+861062345678", "display": "010 6234 5678"}
    c = card["customer"]
    assert (c["id"], c["name"], c["tier"], c["lifecycle"], c["url"]) == \
        (customer.id, "北京华通汽车有限公司", "vip", "current", f"/customers/{customer.id}")
    assert c["is_placeholder"] is False
    assert len(c["contacts"]) == 5
    assert [x["name"] for x in c["contacts"]] == [f"联系人{n}" for n in range(5)]
    assert c["contacts"][0]["position"] == "P0"
    assert c["contacts"][0]["phones"] == [
        {"number": "+8613900000000", "display": "139 0000 0000"},
        {"number": "+8613800000000", "display": "138 0000 0000"}]
    assert not any(x["calling"] for x in c["contacts"])
    assert len(c["products"]) == 10
    states = {p["serial_number"]: (p["warranty_state"], p["warranty_end"])
              for p in c["products"]}
    assert states["SN-in_warranty"] == ("in_warranty", "2027-06-19")
    assert states["SN-expiring"] == ("expiring", "2026-12-11")
    assert states["SN-expired"] == ("expired", "2026-11-30")
    assert states["SN-none"] == ("none", None)
    assert states["SN-contract"] == ("expiring", "2026-12-01")
    assert states["SN-no_end"] == ("none", None)
    assert c["products"][0] == {"id": c["products"][0]["id"], "model": "XC-in_warranty",
                                "serial_number": "SN-in_warranty",
                                "warranty_state": "in_warranty", "warranty_end": "2027-06-19"}
    assert c["open_tickets"] == [] and c["last_calls"] == []
    json.dumps(card)  # the pop is sent as JSON as it is


def test_a_contacts_phone_finds_the_customer_and_puts_that_contact_first(session, customer):
    card = caller_card(session, "+86 138 1234 5678", "Li Wei", "CN", today=TODAY)
    contacts = card["customer"]["contacts"]
    assert card["customer"]["id"] == customer.id
    assert contacts[0]["name"] == "李伟" and contacts[0]["calling"] is True
    assert contacts[0]["phones"] == [{"number": "+8613812345678", "display": "138 1234 5678"}]
    assert len(contacts) == 5


def test_last_calls_newest_first_with_the_agents_name(session, customer, agent):
    for n in range(7):
        record_call(session, finished(f"c{n}", customer_id=customer.id,
                                      started_at=T0 + n * 100, ended_at=T0 + n * 100 + 50),
                    region="CN")
    record_call(session, summary("c-abandoned", customer_id=customer.id, outcome="abandoned",
                                 started_at=T0 + 1000, ended_at=T0 + 1010), region="CN")
    save_wrapup(session, agent, "c6", "resolved", "")
    card = caller_card(session, "010 6234 5678", "", "CN", today=TODAY)
    last = card["customer"]["last_calls"]
    assert [x["call_id"] for x in last] == ["c-abandoned", "c6", "c5", "c4", "c3"]
    assert last[0] == {"call_id": "c-abandoned", "started_at": last[0]["started_at"],
                       "outcome": "abandoned", "queue": "support", "agent": None,
                       "disposition": None}
    assert last[1]["agent"] == "王小明" and last[1]["outcome"] == "answered"
    assert last[1]["disposition"] == "resolved"
    assert last[1]["started_at"].startswith("2026-") and last[1]["started_at"].endswith("+00:00")
    # The call now ringing is not one of the "last" calls.
    card = caller_card(session, "010 6234 5678", "", "CN", today=TODAY,
                       exclude_call_id="c-abandoned")
    assert [x["call_id"] for x in card["customer"]["last_calls"]] == ["c6", "c5", "c4", "c3",
                                                                      "c2"]


@pytest.mark.parametrize("number,name,e164", [
    ("13700001111", "Nobody", "+8613700001111"),      # a real number, no customer
    ("anonymous", "anonymous", None),
    ("<unknown>", "<unknown>", None),
    ("", "", None),
    (None, None, None),
    ("1" * 23, "x" * 500, None),
    ("<script>alert(1)</script>", "<script>", None),
    ("010-62345678\x00\x1b", "张三\u202e\x07", "+861062345678"),
])
def test_unknown_and_hostile_callers(session, customer, number, name, e164):
    card = caller_card(session, number, name, "CN", today=TODAY)
    caller = card["caller"]
    assert caller["e164"] == e164
    assert len(caller["number"]) <= 80 and len(caller["name"]) <= 120
    assert all(ch.isprintable() for ch in caller["number"] + caller["name"])
    if e164 == "+861062345678":
        assert card["customer"]["id"] == customer.id and caller["name"] == "张三"
    else:
        assert card["customer"] is None


def test_merged_away_customers_are_not_popped(session, customer, agent, make_customer):
    dup = make_customer(agent, "Dup", phones=["15011112222"])
    dup.merged_into_id = customer.id
    session.flush()
    assert caller_card(session, "15011112222", "", "CN", today=TODAY)["customer"] is None


def test_a_customer_without_contacts_or_products(session, agent, make_customer):
    c = make_customer(agent, "Small shop", phones=["15011112222"])
    card = caller_card(session, "150 1111 2222", "", "CN", today=TODAY)
    assert card["customer"]["id"] == c.id
    assert card["customer"]["contacts"] == [] and card["customer"]["products"] == []
    assert card["customer"]["tier"] == "ordinary"


def test_open_tickets_are_the_answers_of_the_domains_that_keep_them(session, customer):
    seen = []

    def tickets(customer_id, *, session, **_):
        seen.append((customer_id, session))
        return [{"id": n, "title": f"T{n}"} for n in range(8)]

    def repairs(customer_id, **_):
        return [{"id": 99}] * 5

    def nothing_to_say(customer_id, **_):
        return None

    def shown():
        return caller_card(session, "010-62345678", "", "CN",
                           today=TODAY)["customer"]["open_tickets"]

    assert shown() == []  # nobody answers
    with open_tickets_asked.connected_to(tickets), \
            open_tickets_asked.connected_to(nothing_to_say), \
            open_tickets_asked.connected_to(repairs):
        card = caller_card(session, "010-62345678", "", "CN", today=TODAY)
    assert seen == [(customer.id, session)]
    # In the order they answered, cut at MAX_OPEN_TICKETS.
    assert [t["id"] for t in card["customer"]["open_tickets"]] == list(range(8)) + [99, 99]
    assert shown() == []  # disconnected after the block


def test_the_card_is_a_handful_of_queries(session, connection, customer, agent):
    for n in range(20):
        record_call(session, finished(f"q{n}", customer_id=customer.id,
                                      started_at=T0 + n, ended_at=T0 + n + 1), region="CN")
    session.flush()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", seen)
    try:
        card = caller_card(session, "13812345678", "Li", "CN", today=TODAY)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert card["customer"] is not None
    # Phone lookup, contacts, their phones, products, last calls, and the open tickets
    # (one indexed query by the tickets domain's answer to open_tickets_asked).
    assert len(statements) <= 6, statements
    statements.clear()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        assert caller_card(session, "anonymous", "", "CN", today=TODAY)["customer"] is None
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert statements == []  # not a number: no query at all
