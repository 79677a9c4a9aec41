"""The ``lookup`` and ``ticket_status`` FastAGI scripts against a real database and
real loopback sockets, with a client that behaves like Asterisk (agi_fake.py)."""

from __future__ import annotations

import gc
import os
import threading
from datetime import date, timedelta

import pytest
from agi_fake import FakeAsterisk, asterisk_env, run_in_threads
from sqlalchemy.orm import sessionmaker

from callcenter.bridge.agi_scripts import CallCenterScripts, create_fastagi_server
from callcenter.calls.signals import open_tickets_asked, ticket_status_asked
from callcenter.customers.services import create_customer
from callcenter.db import make_engine, make_sessionmaker, session_scope
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.services import create_user
from telephony.agi import FastAGIThread, dialplan_safe

TODAY = date(2026, 11, 20)
LOOKUP_VARS = ["CUSTOMER_ID", "CUSTOMER_NAME", "CUSTOMER_TIER", "QUEUE_PRIORITY",
               "OPEN_TICKET_ID", "WARRANTY_STATE"]
UNKNOWN = {"CUSTOMER_ID": "", "CUSTOMER_NAME": "", "CUSTOMER_TIER": "", "QUEUE_PRIORITY": "1",
           "OPEN_TICKET_ID": "", "WARRANTY_STATE": ""}


@pytest.fixture
def start_server(connection):
    """A FastAGI server whose DB sessions share the test's (rolled-back) transaction."""
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    threads: list[FastAGIThread] = []

    def start(**script_options):
        scripts = CallCenterScripts(today=lambda: TODAY, **script_options)
        # One DB worker: the test's single connection must not be used by two threads.
        server = create_fastagi_server(factory, port=0, scripts=scripts, db_workers=1,
                                       region="CN", timezone="Asia/Shanghai")
        threads.append(FastAGIThread(server).start())
        return server

    yield start
    for thread in threads:
        thread.stop()


@pytest.fixture
def owner(make_user):
    return make_user("admin")


def add_product(session, customer, serial: str, warranty_end: date | None,
                warranty_type: WarrantyType = WarrantyType.STANDARD) -> None:
    session.add(InstalledProduct(customer_id=customer.id, model="X-1", serial_number=serial,
                                 warranty_type=warranty_type, warranty_end=warranty_end))
    session.flush()


def call(server, **env) -> FakeAsterisk:
    return FakeAsterisk(server.port, env=asterisk_env(**env)).run()


def assert_only_lookup_commands(fake: FakeAsterisk) -> None:
    """Six SET VARIABLE with exactly one value each, then one VERBOSE: nothing injected."""
    assert [a[:3] for a in fake.set_commands()] == [["SET", "VARIABLE", v] for v in LOOKUP_VARS]
    assert all(len(a) == 4 for a in fake.set_commands())
    assert len(fake.argv) == 7 and fake.argv[6][0] == "VERBOSE" and len(fake.argv[6]) == 3
    assert all(c.count(b"\n") == 1 for c in fake.commands)


# --- lookup -------------------------------------------------------------------------

@pytest.mark.parametrize("callerid", ["13812345678", "+8613812345678", "01062345678"])
def test_lookup_known_customer(start_server, session, owner, make_customer, callerid):
    customer = make_customer(owner, name="北京燕山石化", phones=["138 1234 5678", "010-6234 5678"],
                             tier="vip")
    add_product(session, customer, "SN-OLD", TODAY - timedelta(days=400))
    add_product(session, customer, "SN-NEW", TODAY + timedelta(days=200))
    server = start_server()
    fake = call(server, callerid=callerid, calleridname="Zhang San")
    assert fake.variables == {"CUSTOMER_ID": str(customer.id), "CUSTOMER_NAME": "北京燕山石化",
                              "CUSTOMER_TIER": "vip", "QUEUE_PRIORITY": "10",
                              "OPEN_TICKET_ID": "", "WARRANTY_STATE": "in_warranty"}
    assert_only_lookup_commands(fake)
    assert fake.argv[6][1] == f"lookup {callerid} Zhang San -> customer {customer.id}"
    assert server.stats["completed"] == 1


@pytest.mark.parametrize(("tier", "priority"),
                         [("vip", "10"), ("major", "5"), ("ordinary", "1"), ("small", "0")])
def test_queue_priority_follows_the_tier(start_server, owner, make_customer, tier, priority):
    make_customer(owner, name=f"{tier} Ltd", phones=["13900001111"], tier=tier)
    fake = call(start_server(), callerid="13900001111")
    assert (fake.variables["CUSTOMER_TIER"], fake.variables["QUEUE_PRIORITY"]) == (tier, priority)
    assert fake.variables["WARRANTY_STATE"] == "none"  # no installed products


@pytest.mark.parametrize(("ends", "kind", "state"), [
    ([10], WarrantyType.STANDARD, "expiring"),
    ([-1, 5], WarrantyType.EXTENDED, "expiring"),
    ([-1], WarrantyType.CONTRACT, "expired"),
    ([100], WarrantyType.NONE, "none"),
])
def test_warranty_state_is_the_best_of_the_products(start_server, session, owner,
                                                     make_customer, ends, kind, state):
    customer = make_customer(owner, name="Warranty Co", phones=["13900002222"])
    for i, days in enumerate(ends):
        add_product(session, customer, f"SN-{i}", TODAY + timedelta(days=days), kind)
    assert call(start_server(), callerid="13900002222").variables["WARRANTY_STATE"] == state


@pytest.mark.parametrize(("callerid", "args"), [
    ("unknown", [""]),                          # no caller ID: Asterisk says "unknown"
    ("anonymous", None),
    ("+44207946095812345678901", None),         # the 23-digit number from the captures
    ("15500000000", None),                      # valid, but nobody's
])
def test_lookup_unknown_caller(start_server, owner, make_customer, callerid, args):
    make_customer(owner, name="Someone Else", phones=["13812345678"], tier="vip")
    fake = call(start_server(), callerid=callerid, calleridname="unknown", args=args)
    assert fake.variables == UNKNOWN
    assert_only_lookup_commands(fake)


def test_lookup_falls_back_to_the_dialplan_argument(start_server, owner, make_customer):
    customer = make_customer(owner, name="Arg Ltd", phones=["13812345678"])
    fake = call(start_server(), callerid="unknown", args=["13812345678"])
    assert fake.variables["CUSTOMER_ID"] == str(customer.id)


HOSTILE_NAMES = ['"; HANGUP', 'x"\rEXEC Dial PJSIP/evil', 'a\\" EXEC System "rm -rf /',
                 '\\', '"', "\x1b[2J\x07", "\\\"\\\r\r200 result=1"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_caller_id_never_adds_a_command(start_server, owner, make_customer, name):
    customer = make_customer(owner, name="Real Name", phones=["13812345678"])
    for callerid in ("13812345678", '13812345678" EXEC Dial x'):
        fake = call(start_server(), callerid=callerid, calleridname=name)
        assert_only_lookup_commands(fake)
        printable = "".join(ch for ch in name if ch >= " ")
        assert fake.argv[6][1].startswith(f"lookup {callerid} {printable} -> customer")
        expected = str(customer.id) if callerid == "13812345678" else ""
        assert fake.variables["CUSTOMER_ID"] == expected
        assert fake.variables["CUSTOMER_NAME"] == ("Real Name" if expected else "")


def test_customer_name_is_made_safe_for_the_dialplan(start_server, owner, make_customer):
    name = 'ACME "Evil" \\ Corp, (x) |;${EXEC(System(id))} 北京'
    make_customer(owner, name=name, phones=["13812345678"])
    fake = call(start_server())
    assert fake.variables["CUSTOMER_NAME"] == dialplan_safe(name) == \
        "ACME Evil Corp x EXEC System id 北京"
    assert_only_lookup_commands(fake)


def test_long_chinese_name_is_cut_on_a_character_boundary(start_server, owner, make_customer):
    name = "中国石油天然气股份有限公司" * 4
    make_customer(owner, name=name, phones=["13812345678"])
    got = call(start_server()).variables["CUSTOMER_NAME"]
    assert name.startswith(got) and len(got.encode()) <= 80 and len(got) == 26


def test_open_ticket_id_is_the_first_answer_to_open_tickets_asked(start_server, owner,
                                                                  make_customer):
    customer = make_customer(owner, name="Ticket Co", phones=["13812345678"])
    seen = []

    def open_tickets(customer_id, *, session, **_):
        seen.append(customer_id)
        return [{"id": 'T-7"; HANGUP', "title": "Broken"}, {"id": "T-3"}]

    server = start_server()
    assert call(server).variables["OPEN_TICKET_ID"] == ""  # nobody answers
    with open_tickets_asked.connected_to(open_tickets):
        fake = call(server)
    assert seen == [customer.id] and fake.variables["OPEN_TICKET_ID"] == "T-7 HANGUP"


def test_failing_lookup_still_queues_the_caller(start_server, owner, make_customer):
    make_customer(owner, name="Down Co", phones=["13812345678"], tier="vip")

    def broken(customer_id, **_):
        raise RuntimeError("database went away")

    server = start_server()
    with open_tickets_asked.connected_to(broken):
        assert call(server).variables == UNKNOWN
    assert server.stats["lookup_failed"] == 1 and server.stats["completed"] == 1


# --- ticket_status --------------------------------------------------------------------

def ticket_call(server, digits, **options) -> FakeAsterisk:
    env = asterisk_env(script="ticket_status", args=[])
    return FakeAsterisk(server.port, env=env, digits=digits, **options).run()


@pytest.mark.parametrize(("digits", "number", "status"), [
    (["", "1", "2", "3", "#"], "123", "unknown"),  # typed after the prompt, '#' ends
    (["4", "0", "#"], "40", "unknown"),            # typed over the prompt
    (["", "0", "7", ""], "07", "unknown"),         # digit timeout ends, leading 0 kept
    ([], "", "no_input"),                          # nothing typed
    (["", "#"], "", "no_input"),
    ([""] + ["9"] * 20, "9" * 12, "unknown"),      # max_digits
])
def test_ticket_status_collects_digits(start_server, digits, number, status):
    server = start_server()
    fake = ticket_call(server, list(digits))
    assert fake.variables == {"TICKET_NUMBER": number, "TICKET_STATUS": status}
    assert fake.argv[0] == ["ANSWER"]
    assert fake.argv[1] == ["STREAM", "FILE", "enter-ticket-number", "0123456789*#"]


def test_ticket_status_is_the_first_answer_to_ticket_status_asked(start_server):
    asked = []

    def status(number, *, session, **_):
        asked.append(number)
        return "In Progress" if number == "77" else None

    def later(number, **_):
        return "closed"

    with ticket_status_asked.connected_to(status), ticket_status_asked.connected_to(later):
        server = start_server()
        fake = ticket_call(server, ["7", "7", "#"])
        other = ticket_call(server, ["1", "#"])
    assert asked == ["77", "1"] and fake.variables["TICKET_STATUS"] == "in_progress"
    assert other.variables["TICKET_STATUS"] == "closed"  # the first to know it


def test_caller_hangs_up_while_keying_in(start_server):
    server = start_server()
    fake = ticket_call(server, ["", "1"], hangup_during="WAIT FOR DIGIT")
    assert fake.dead and fake.closed_by_server
    assert "TICKET_STATUS" not in fake.variables
    assert server.stats["hangup"] == 1 and server.active == 0


# --- 150 concurrent calls on a real connection pool ---------------------------------

def test_150_concurrent_sessions_without_leaks(backend, fresh_database):
    url = fresh_database.create(backend)
    seed = make_engine(url)
    known: dict[str, tuple[int, str]] = {}
    with session_scope(make_sessionmaker(seed)) as session:
        owner = create_user(session, username="seed", password="correct horse battery",
                            role="admin")
        for i in range(50):
            number, tier = f"1390000{i:04d}", ["vip", "major", "ordinary", "small"][i % 4]
            customer = create_customer(session, owner, {"name": f"客户{i}", "phones": [number],
                                                        "tier": tier}, region="CN")
            known[number] = (customer.id, tier)
    seed.dispose()

    # A leak is an fd opened here and still open; fds of earlier tests that the garbage
    # collector closes meanwhile are not (comparing counts failed on those).
    gc.collect()
    threads_before, fds_before = threading.active_count(), set(os.listdir("/proc/self/fd"))
    engine = make_engine(url)
    server = create_fastagi_server(make_sessionmaker(engine), port=0, db_workers=8,
                                   scripts=CallCenterScripts(today=lambda: TODAY),
                                   region="CN", timezone="Asia/Shanghai")
    thread = FastAGIThread(server).start()
    # Every call holds its session open until all 150 are in progress at once.
    barrier = threading.Barrier(150, timeout=60)
    numbers = [list(known)[i % 50] if i % 3 else f"1550000{i:04d}" for i in range(150)]
    fakes = [FakeAsterisk(server.port, env=asterisk_env(callerid=n, uniqueid=f"1.{i}"),
                          on_first_command=barrier.wait) for i, n in enumerate(numbers)]
    assert run_in_threads(fakes) == []
    db_threads = [t for t in threading.enumerate() if t.name.startswith("fastagi-db")]
    thread.stop()
    engine.dispose()

    assert server.peak_active == 150 and server.stats["completed"] == 150
    assert 1 <= len(db_threads) <= 8
    for number, fake in zip(numbers, fakes, strict=True):
        assert fake.closed_by_server
        customer_id, tier = known.get(number, ("", ""))
        assert (fake.variables["CUSTOMER_ID"], fake.variables["CUSTOMER_TIER"]) == \
            (str(customer_id), tier)
    assert threading.active_count() == threads_before
    gc.collect()
    assert set(os.listdir("/proc/self/fd")) - fds_before == set()
